"""quality_scale.yaml: every rule of the current scale, each with a status that holds."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.util.yaml import load_yaml_dict

from custom_components.pbx_bridge import async_remove_config_entry_device
from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.device_trigger import TRIGGER_TYPES

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "custom_components/pbx_bridge"
SCALE = load_yaml_dict(str(PACKAGE / "quality_scale.yaml"))["rules"]
README = (ROOT / "README.md").read_text(encoding="utf-8")

# The rules of Home Assistant's integration quality scale, by tier, as hassfest lists them
# (script/hassfest/quality_scale.py, ALL_RULES). A rule added to the scale is added here, and
# then this test asks for it in quality_scale.yaml.
RULES = {
    "bronze": (
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ),
    "gold": (
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}


def status(rule: str) -> str:
    entry = SCALE[rule]
    return str(entry if isinstance(entry, str) else entry["status"])


def test_every_rule_and_only_those() -> None:
    every = [rule for rules in RULES.values() for rule in rules]
    assert len(every) == len(set(every)) == 54  # as many as hassfest lists
    assert set(SCALE) == set(every)


def test_statuses_are_known_and_explained() -> None:
    for rule, entry in SCALE.items():
        assert status(rule) in ("done", "todo", "exempt"), rule
        if status(rule) != "done":
            # A rule not done says why.
            assert isinstance(entry, dict), rule
            assert entry.get("comment", "").strip(), rule


def test_dependency_transparency_is_todo_while_the_library_ships_inside() -> None:
    assert (PACKAGE / "api" / "client.py").exists()
    assert json.loads((PACKAGE / "manifest.json").read_text())["requirements"] == []
    assert status("dependency-transparency") == "todo"


def test_appropriate_polling_holds() -> None:
    """No interval option; every provider declares its own interval."""
    assert status("appropriate-polling") == "done"
    strings = json.loads((PACKAGE / "strings.json").read_text())
    assert "scan_interval" not in strings["options"]["step"]["init"]["data"]
    for cls in PROVIDERS.values():
        assert 10 <= cls.declaration.poll_interval.total_seconds() <= 300, cls.provider
        assert "scan_interval" not in {option.key for option in cls.declaration.all_options}


def test_repairs_and_stale_devices_hold() -> None:
    assert status("repair-issues") == "done"
    assert (PACKAGE / "repairs.py").exists()
    assert status("stale-devices") == "done"
    assert callable(async_remove_config_entry_device)


def test_documentation_rules_hold() -> None:
    assert status("brands") == "done"
    assert (PACKAGE / "brand" / "icon.png").exists()
    # No conditions to document; each device trigger is.
    assert status("docs-conditions") == "exempt"
    assert not (PACKAGE / "device_condition.py").exists()
    assert status("docs-triggers") == "done"
    assert "### Device triggers" in README
    triggers = json.loads((PACKAGE / "strings.json").read_text())["device_automation"]
    for trigger in TRIGGER_TYPES:
        assert f"*{triggers['trigger_type'][trigger]}*" in README, trigger
    for heading in ("## Repairs", "### Polling", "## Removing the integration", "## Actions"):
        assert heading in README, heading


def test_iot_class_fits_and_is_explained() -> None:
    """Every account is polled, most providers are cloud services: cloud_polling, and the
    README says why one class stands for providers that differ."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert manifest["iot_class"] == "cloud_polling"
    on_premises = [cls.title for cls in PROVIDERS.values() if cls.declaration.on_premises]
    assert on_premises == ["VoIPSUN PBX"]
    assert len(on_premises) < len(PROVIDERS) / 2
    assert "**`cloud_polling`**" in README
    assert "`local_polling`" in README
