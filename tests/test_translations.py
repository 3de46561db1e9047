"""Translations: every key the code uses exists in strings.json and in en, cs and he, and
every key there is used (what hassfest checks for core integrations, and a bit more)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

import homeassistant
from homeassistant.util.yaml import load_yaml_dict
import pytest

from custom_components.pbx_bridge import repairs, select
from custom_components.pbx_bridge.api import PROVIDERS, OptionField, OptionKind
from custom_components.pbx_bridge.api.models import ProblemKind
from custom_components.pbx_bridge.binary_sensor import REGISTERED
from custom_components.pbx_bridge.device_trigger import TRIGGER_TYPES
from custom_components.pbx_bridge.events import CALL_EVENT_TYPES, SMS_EVENT_TYPES
from custom_components.pbx_bridge.sensor import (
    ACCOUNT_SENSORS,
    AGENT_SENSORS,
    LINE_SENSORS,
    QUEUE_SENSORS,
)
from custom_components.pbx_bridge.services import ACTIONS
from custom_components.pbx_bridge.switch import AGENT_SWITCHES

PACKAGE = Path(__file__).parents[1] / "custom_components/pbx_bridge"
LANGUAGES = ("en", "cs", "he")
# Abort reasons Home Assistant's flow helpers raise by themselves.
FRAMEWORK_ABORTS = {
    "already_configured",
    "reauth_successful",
    "reconfigure_successful",
}
# What the integration raises with a translation key.
ERROR_FACTORIES = {
    "ConfigEntryAuthFailed",
    "ConfigEntryError",
    "ConfigEntryNotReady",
    "HomeAssistantError",
    "ServiceValidationError",
    "UpdateFailed",
    "error_class",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# Home Assistant's own strings, which `[%key:common::…%]` references in strings.json name.
HA_STRINGS = _json(Path(homeassistant.__file__).parent / "strings.json")
_REFERENCE = re.compile(r"\[%key:([a-z0-9_]+(?:::[a-z0-9_]+)+)%\]")


def resolve_references(tree: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """`tree` with every `[%key:…%]` replaced by the string it names, as Home Assistant's
    translation build does: `common::…` in Home Assistant's strings, `component::pbx_bridge::…`
    in ours. A custom integration's translations are read as they are, so en.json holds
    the result."""
    root = tree if root is None else root

    def lookup(match: re.Match[str]) -> str:
        first, *path = match.group(1).split("::")
        node: Any = HA_STRINGS["common"] if first == "common" else None
        if first == "component":
            assert path[0] == "pbx_bridge", match.group(0)
            node, path = root, path[1:]
        assert node is not None, match.group(0)
        for part in path:
            node = node[part]
        assert isinstance(node, str), match.group(0)
        return _REFERENCE.sub(lookup, node)

    if isinstance(tree, dict):
        return {key: resolve_references(value, root) for key, value in tree.items()}
    return _REFERENCE.sub(lookup, tree)


RAW_STRINGS = _json(PACKAGE / "strings.json")
STRINGS = resolve_references(RAW_STRINGS)
ICONS = _json(PACKAGE / "icons.json")


def _leaves(
    tree: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def _entity_keys_in_code() -> dict[str, set[str]]:
    """Translation keys of every entity the platforms can create, by platform."""
    sensors = (*ACCOUNT_SENSORS, *AGENT_SENSORS, *QUEUE_SENSORS, *LINE_SENSORS)
    return {
        "binary_sensor": {str(REGISTERED.translation_key)},
        "sensor": {str(d.translation_key) for d in sensors},
        "switch": {str(d.translation_key) for d in AGENT_SWITCHES},
        "select": {str(select.PAUSE_REASON.translation_key)},
        "event": _attr_translation_keys("event"),
        "notify": _attr_translation_keys("notify"),
    }


def _attr_translation_keys(module: str) -> set[str]:
    """The `_attr_translation_key = "…"` of the entity classes of `module`."""
    return {
        node.value.value
        for node in ast.walk(_module_tree(module))
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "_attr_translation_key"
        and isinstance(node.value, ast.Constant)
    }


def _module_tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))


def _exception_keys_in_code() -> set[str]:
    """Keys passed as `translation_key=`, to `_raise_validation`, or picked as `key`."""
    keys: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                # Exceptions, not entity descriptions or selector configs.
                if isinstance(func, ast.Name) and func.id in ERROR_FACTORIES:
                    keys.update(
                        keyword.value.value
                        for keyword in node.keywords
                        if keyword.arg == "translation_key"
                        and isinstance(keyword.value, ast.Constant)
                    )
                if (
                    isinstance(func, ast.Name)
                    and func.id == "_raise_validation"
                    and isinstance(node.args[0], ast.Constant)
                ):
                    keys.add(node.args[0].value)
            elif isinstance(node, ast.Assign) and path.name == "errors.py":
                # translate_action_error: `key = "…"` or `key, cls = "…", …`.
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == "key":
                        assert isinstance(node.value, ast.Constant)
                        keys.add(node.value.value)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        for name, value in zip(target.elts, node.value.elts, strict=True):
                            if isinstance(name, ast.Name) and name.id == "key":
                                assert isinstance(value, ast.Constant)
                                keys.add(value.value)
    return keys | _client_translation_keys()


def _client_translation_keys() -> set[str]:
    """Keys clients give their errors: `err.translation_key = "…"`, or the values of a
    module-level `…_ERROR_KEYS` table (provider error code -> key)."""
    keys: set[str] = set()
    for path in (PACKAGE / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "translation_key"
                    and isinstance(node.value, ast.Constant)
                ):
                    keys.add(node.value.value)
                elif isinstance(target, ast.Name) and target.id.endswith("_ERROR_KEYS"):
                    assert isinstance(node.value, ast.Dict), path
                    keys.update(v.value for v in node.value.values if isinstance(v, ast.Constant))
    return keys


def _option_check_errors() -> set[str]:
    """Error keys clients' `async_check_options` give options the account refuses."""
    keys: set[str] = set()
    for path in (PACKAGE / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.AsyncFunctionDef) and node.name == "async_check_options":
                keys.update(
                    value.value
                    for found in ast.walk(node)
                    if isinstance(found, ast.Dict)
                    for value in found.values
                    if isinstance(value, ast.Constant) and isinstance(value.value, str)
                )
    return keys


def _flow_errors_in_code() -> set[str]:
    """Error keys the config and options flows put on a form."""
    errors: set[str] = set()
    for node in ast.walk(_module_tree("config_flow")):
        if isinstance(node, ast.Dict):
            errors.update(
                value.value
                for value in node.values
                if isinstance(value, ast.Constant) and isinstance(value.value, str)
            )
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.targets[0].value, ast.Name)
            and node.targets[0].value.id == "errors"
            and isinstance(node.value, ast.Constant)
        ):
            errors.add(node.value.value)
    return errors


def _abort_reasons_in_code() -> set[str]:
    reasons: set[str] = set()
    for node in ast.walk(_module_tree("config_flow")):
        if isinstance(node, ast.Call):
            reasons.update(
                keyword.value.value
                for keyword in node.keywords
                if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant)
            )
    return reasons


@pytest.mark.parametrize("language", LANGUAGES)
def test_translation_has_every_key_of_strings(language: str) -> None:
    translation = dict(_leaves(_json(PACKAGE / "translations" / f"{language}.json")))
    strings = dict(_leaves(STRINGS))
    assert set(translation) == set(strings)
    for path, text in strings.items():
        assert isinstance(translation[path], str), path
        assert translation[path].strip(), path
        # A placeholder missing (or added) breaks the message at runtime.
        assert set(_PLACEHOLDER.findall(translation[path])) == set(_PLACEHOLDER.findall(text)), (
            language,
            path,
        )
    if language == "en":
        # strings.json with its references resolved (`python -m tests.test_translations`).
        assert translation == strings


def test_strings_refer_to_common_strings_that_exist() -> None:
    """Every reference names a string (resolving fails otherwise), and they are used."""
    references = [text for _, text in _leaves(RAW_STRINGS) if _REFERENCE.search(text)]
    assert any("[%key:common::" in text for text in references)
    assert STRINGS


def _plain(text: str) -> str:
    return text.strip().rstrip(".").lower()


def test_common_strings_are_referenced_not_copied() -> None:
    """A text Home Assistant has already, or one repeated under another key of the same
    kind, is a reference."""
    common = {_plain(text) for _, text in _leaves(HA_STRINGS["common"]["config_flow"])}
    texts = [(path, text) for path, text in _leaves(RAW_STRINGS) if not _REFERENCE.search(text)]
    copied = [path for path, text in texts if path[0] == "config" and _plain(text) in common]
    assert not copied, copied
    seen: dict[tuple[tuple[str, ...], str], tuple[str, ...]] = {}
    repeated = []
    for path, text in texts:
        if path[0] != "config" or path[-2] not in ("data", "data_description"):
            continue
        # The same field described alike in two steps: one of them refers to the other.
        if (where := (path[-2:], text)) in seen:
            repeated.append((seen[where], path))
        seen.setdefault(where, path)
    assert not repeated, repeated


if __name__ == "__main__":  # write translations/en.json from strings.json
    (PACKAGE / "translations" / "en.json").write_text(
        json.dumps(STRINGS, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def test_entity_keys_match_the_code() -> None:
    assert {
        platform: set(keys) for platform, keys in STRINGS["entity"].items()
    } == _entity_keys_in_code()


def test_icons_cover_exactly_the_entities_and_actions() -> None:
    assert {platform: set(keys) for platform, keys in ICONS["entity"].items()} == (
        _entity_keys_in_code()
    )
    assert set(ICONS["services"]) == {action.name for action in ACTIONS}
    for path, icon in _leaves(ICONS):
        assert isinstance(icon, str), path
        assert icon.startswith("mdi:"), path
    for platform, keys in ICONS["entity"].items():
        for key, icon in keys.items():
            for attribute, states in icon.get("state_attributes", {}).items():
                assert set(states["state"]) <= set(
                    STRINGS["entity"][platform][key]["state_attributes"][attribute]["state"]
                ), (platform, key)
            if platform == "sensor" and "state" in icon:
                assert set(icon["state"]) <= set(STRINGS["entity"]["sensor"][key]["state"]), key


def test_enum_sensor_states_are_the_options() -> None:
    for description in (*ACCOUNT_SENSORS, *AGENT_SENSORS, *QUEUE_SENSORS, *LINE_SENSORS):
        if description.options is None:
            continue
        states = STRINGS["entity"]["sensor"][description.translation_key]["state"]
        assert set(states) == set(description.options), description.key


def test_line_states_are_translated() -> None:
    """Every state a provider declares for its SIP line status has a translation."""
    states = {state for cls in PROVIDERS.values() for state in cls.declaration.line_states.values()}
    assert set(STRINGS["entity"]["sensor"]["line_status"]["state"]) == states
    # Home Assistant's own states are no options (they would read as "unavailable").
    assert not states & {"unavailable", "unknown"}


def test_event_types_are_translated() -> None:
    events = STRINGS["entity"]["event"]
    for key in ("calls", "agent_calls", "line_calls"):
        assert set(events[key]["state_attributes"]["event_type"]["state"]) == set(
            CALL_EVENT_TYPES
        ), key
    assert set(events["sms"]["state_attributes"]["event_type"]["state"]) == set(SMS_EVENT_TYPES)


def test_exception_keys_match_the_code() -> None:
    assert set(STRINGS["exceptions"]) == _exception_keys_in_code()


def _declared_keys() -> set[tuple[str, ...]]:
    """Every translation key a provider declaration makes the flows use."""
    keys: set[tuple[str, ...]] = set()
    for provider, cls in PROVIDERS.items():
        declaration = cls.declaration
        keys |= {
            ("config", "step", "user", "menu_options", provider),
            ("config", "step", "user", "menu_option_descriptions", provider),
            ("config", "step", provider, "title"),
            ("config", "step", provider, "description"),
        }
        for fld in declaration.connection_fields:
            for step in (provider, "reauth_confirm", "reconfigure"):
                keys |= {
                    ("config", "step", step, "data", fld.key),
                    ("config", "step", step, "data_description", fld.key),
                }
        for option in declaration.all_options:
            for step in ("init", "init_webhook"):
                keys |= {
                    ("options", "step", step, "data", option.key),
                    ("options", "step", step, "data_description", option.key),
                }
            keys |= {("selector", option.key, "options", choice) for choice in option.choices}
            keys |= {("options", "error", error) for error in _option_errors(option)}
    return keys


def _option_errors(option: OptionField) -> set[str]:
    """The errors the options form can show for `option`."""
    errors = set()
    if option.pattern or option.kind in (OptionKind.PHONE_NUMBERS, OptionKind.MAPPING):
        errors.add(f"invalid_{option.key}")
    if option.together_with:
        errors.add(f"incomplete_{option.key}")
    return errors


def _has(tree: dict[str, Any], path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return isinstance(tree, str) and bool(tree.strip())


@pytest.mark.parametrize("language", ["strings", *LANGUAGES])
def test_every_declared_key_is_translated(language: str) -> None:
    """strings.json and every translation have each key a provider declaration uses."""
    path = PACKAGE / ("strings.json" if language == "strings" else f"translations/{language}.json")
    strings = _json(path)
    missing = sorted(key for key in _declared_keys() if not _has(strings, key))
    assert not missing, missing


def test_config_flow_keys_match_the_code() -> None:
    """No translation is left that neither a declaration nor the flow's code uses."""
    declared = _declared_keys()
    config = STRINGS["config"]
    for step_id in (*PROVIDERS, "reauth_confirm", "reconfigure"):
        for part in ("data", "data_description"):
            step = config["step"][step_id][part]
            assert {("config", "step", step_id, part, key) for key in step} <= declared, step_id
    assert set(config["step"]) == {*PROVIDERS, "user", "reauth_confirm", "reconfigure"}
    assert set(config["error"]) == _flow_errors_in_code()
    assert {("options", "error", key) for key in STRINGS["options"]["error"]} == {
        key for key in declared if key[:2] == ("options", "error")
    } | {("options", "error", key) for key in _option_check_errors()}
    assert set(config["abort"]) == FRAMEWORK_ABORTS | _abort_reasons_in_code()


def test_options_keys_match_the_declarations() -> None:
    steps = STRINGS["options"]["step"]
    assert set(steps) == {"init", "init_webhook"}
    # Providers that push events get the same form under a description showing the webhook.
    assert steps["init_webhook"]["data"] == steps["init"]["data"]
    assert steps["init_webhook"]["data_description"] == steps["init"]["data_description"]
    assert set(_PLACEHOLDER.findall(steps["init_webhook"]["description"])) == {
        "provider",
        "urls",
        "setup",
    }
    step = steps["init"]
    offered = {option.key for cls in PROVIDERS.values() for option in cls.declaration.all_options}
    assert set(step["data"]) == set(step["data_description"]) == offered


def test_selectors_are_translated() -> None:
    choices = {
        option.key: set(option.choices)
        for cls in PROVIDERS.values()
        for option in cls.declaration.all_options
        if option.kind is OptionKind.CHOICE
    }
    used = dict(choices)
    descriptions = load_yaml_dict(str(PACKAGE / "services.yaml"))
    for name, description in descriptions.items():
        for field, spec in description["fields"].items():
            if (chooser := spec["selector"].get("select")) is None:
                continue
            key = chooser["translation_key"]
            used.setdefault(key, set()).update(chooser["options"])
            assert set(chooser["options"]) == set(STRINGS["selector"][key]["options"]), (
                name,
                field,
            )
    assert {key: set(value["options"]) for key, value in STRINGS["selector"].items()} == used


def test_device_triggers_are_translated() -> None:
    assert set(STRINGS["device_automation"]["trigger_type"]) == set(TRIGGER_TYPES)


def test_strings_have_only_known_sections() -> None:
    assert set(STRINGS) == {
        "config",
        "options",
        "selector",
        "entity",
        "exceptions",
        "services",
        "device_automation",
        "issues",
    }


def test_issues_match_the_code() -> None:
    """Every repair issue the integration raises is translated, with the fixable one a flow."""
    assert set(STRINGS["issues"]) == {
        repairs.ISSUE_NO_REACHABLE_URL,
        repairs.ISSUE_REGISTRATION_FAILED,
        repairs.ISSUE_MISSING_PERMISSION,
        *(kind.value for kind in ProblemKind),
    }
    fixable = STRINGS["issues"][repairs.ISSUE_REGISTRATION_FAILED]
    assert set(fixable) == {"title", "fix_flow"}
    assert set(fixable["fix_flow"]["step"]) == {"confirm"}
    for key, issue in STRINGS["issues"].items():
        if key != repairs.ISSUE_REGISTRATION_FAILED:
            assert set(issue) == {"title", "description"}, key
        assert "{account}" in json.dumps(issue), key
