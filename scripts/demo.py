"""Helpers of scripts/develop (and of the demo tests): requirements, login, demo entries.

`requirements CONFIG_DIR`: installs what the components of the demo configuration need
(Home Assistant would otherwise install it at its first start).
`prepare CONFIG_DIR PORT`: adds the demo user, marks onboarding done and makes Home Assistant
listen on 127.0.0.1:PORT.
`entries URL SIM_URL`: adds one PBX Bridge entry per provider through Home Assistant's own
config flow (REST API), skipping providers that already have one; sets each entry's options
as a user would (the webhook registered at Telfa and Daktela), puts the webhook address where
an administrator would (the simulated Daktela dialplan hooks, Daktela v6's Events action),
and makes the call-centre dashboard the default one.
`dashboard URL`: (re)generates the call-centre dashboard for the PBX Bridge accounts of the
Home Assistant at URL (log in with a long-lived access token in `HA_TOKEN`).
Exits non-zero with a message saying what failed.
"""

from __future__ import annotations

import asyncio
from importlib import metadata
import json
import os
from pathlib import Path
import re
import subprocess
import sys
import time
from typing import Any

import aiohttp
import homeassistant
from homeassistant import bootstrap
from packaging.requirements import Requirement

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-pbx-bridge"  # noqa: S105 - local demo login, printed on the terminal
CLIENT_ID = "http://localhost:8123/"
DASHBOARD = "call-centre"  # url path of the dashboard in configuration.yaml
CONF_AUTO_REGISTER_WEBHOOK = "auto_register_webhook"
COMPONENTS = Path(homeassistant.__file__).parent / "components"
INTEGRATION_DEPENDENCIES = ("http", "webhook", "diagnostics", "device_automation", "notify")
STARTUP_TIMEOUT = 300.0  # seconds until Home Assistant reports RUNNING (first start: slow)
# Push an administrator sets up by hand at the provider (the simulator's control API stands
# in for its settings): Daktela's dialplan hooks, Daktela v6's Events HTTP-request action,
# the `api_link` of a Yemot API extension. Telfa's hooks and Daktela's SMS callback are
# registered through the API (the options).
ADMIN_HOOKS = frozenset({"daktela", "daktela_v6", "yemot"})
WEBHOOK_URL = re.compile(r"`(https?://[^`]+/api/webhook/[^`]+)`")


class DemoError(Exception):
    """A step of the demo set-up failed; the message says which and why."""


def _requirements(config_dir: Path) -> set[str]:
    """Requirements of every component the configuration loads, with their dependencies."""
    wanted = [
        line.split(":")[0].strip()
        for line in (config_dir / "configuration.yaml").read_text().splitlines()
        if line and not line.startswith((" ", "#")) and ":" in line
    ]
    # Home Assistant also sets up its default integrations and every entity platform.
    todo = [
        *wanted,
        *INTEGRATION_DEPENDENCIES,
        *bootstrap.DEFAULT_INTEGRATIONS,
        *bootstrap.FRONTEND_INTEGRATIONS,
        *bootstrap.LOGGING_AND_HTTP_DEPS_INTEGRATIONS,
    ]
    seen: set[str] = set()
    requirements: set[str] = set()
    while todo:
        name = todo.pop()
        manifest_path = COMPONENTS / name / "manifest.json"
        if name in seen or not manifest_path.exists():
            continue
        seen.add(name)
        manifest = json.loads(manifest_path.read_text())
        requirements.update(manifest.get("requirements", []))
        todo += manifest.get("dependencies", []) + manifest.get("after_dependencies", [])
    return requirements


def _missing(requirements: set[str]) -> list[str]:
    missing = []
    for line in sorted(requirements):
        requirement = Requirement(line)
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(line)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(line)
    return missing


def install_requirements(config_dir: Path) -> None:
    """Install what is missing, all at once; pip's own error tells what did not build."""
    missing = _missing(_requirements(config_dir))
    if not missing:
        return
    print(f"==> installing what Home Assistant's components need: {' '.join(missing)}")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *missing],
        check=False,
    )
    if done.returncode:
        raise DemoError(f"pip could not install {' '.join(missing)} (see its output above)")


def prepare(config_dir: Path, port: int) -> None:
    """The demo login, onboarding marked done (no first-run wizard), the HTTP port."""
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    # Home Assistant keeps its HTTP settings in storage (YAML is imported once, then
    # ignored), so the port is set there at every start. Written in the store's first
    # version: Home Assistant's own migration validates it and fills in the defaults.
    (storage / "http").write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 1,
                "key": "http",
                "data": {"server_host": ["127.0.0.1"], "server_port": port},
            }
        )
    )
    if not (storage / "auth_provider.homeassistant").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "homeassistant",
                "--script",
                "auth",
                "--config",
                str(config_dir),
                "add",
                DEMO_USER,
                DEMO_PASSWORD,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["user", "core_config", "analytics", "integration"]},
                }
            )
        )


async def _json(response: aiohttp.ClientResponse, what: str) -> Any:
    if response.status >= 400:
        raise DemoError(f"{what}: HTTP {response.status} {(await response.text())[:200]}")
    return await response.json()


async def access_token(session: aiohttp.ClientSession, url: str) -> str:
    """Log in as the demo user through Home Assistant's login flow."""
    async with session.post(
        f"{url}/auth/login_flow",
        json={
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": CLIENT_ID,
        },
    ) as response:
        flow = await _json(response, "starting the login")
    async with session.post(
        f"{url}/auth/login_flow/{flow['flow_id']}",
        json={"client_id": CLIENT_ID, "username": DEMO_USER, "password": DEMO_PASSWORD},
    ) as response:
        result = await _json(response, "logging in")
    if "result" not in result:
        raise DemoError(f"logging in as {DEMO_USER} failed: {result.get('errors')}")
    async with session.post(
        f"{url}/auth/token",
        data={"grant_type": "authorization_code", "code": result["result"], "client_id": CLIENT_ID},
    ) as response:
        return str((await _json(response, "getting a token"))["access_token"])


async def wait_until_running(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> None:
    """Wait until Home Assistant has set up everything it starts with."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        async with session.get(f"{url}/api/config", headers=headers) as response:
            if (await _json(response, "reading the configuration"))["state"] == "RUNNING":
                return
        if time.monotonic() > deadline:
            raise DemoError(f"Home Assistant did not finish starting in {STARTUP_TIMEOUT:.0f} s")
        await asyncio.sleep(1)


def _provider_of(title: str, providers: list[str]) -> str | None:
    """The provider an entry's title names ("Daktela v6 …" is daktela_v6, not daktela)."""
    name = title.lower().replace(" ", "_")
    named = [provider for provider in providers if name.startswith(provider)]
    return max(named, key=len, default=None)


class DemoSetup:
    """The REST and websocket calls a user's clicks would make."""

    def __init__(self, session: aiohttp.ClientSession, url: str, sim_url: str) -> None:
        self.session = session
        self.url = url
        self.sim_url = sim_url
        self.api = f"{url}/api/config/config_entries"
        self.headers: dict[str, str] = {}

    async def run(self) -> None:
        async with self.session.get(f"{self.sim_url}/_sim/config") as response:
            sim_config: dict[str, dict[str, str]] = await _json(response, "the simulator")
        async with self.session.get(f"{self.sim_url}/_sim/demo-options") as response:
            demo_options: dict[str, dict[str, Any]] = await _json(response, "the simulator")
        self.headers = {"Authorization": f"Bearer {await access_token(self.session, self.url)}"}
        added = False
        await wait_until_running(self.session, self.url, self.headers)
        async with self.session.get(
            f"{self.api}/entry", params={"domain": "pbx_bridge"}, headers=self.headers
        ) as response:
            existing = await _json(response, "listing the entries")
        by_provider = {
            _provider_of(entry["title"], list(sim_config)): entry["entry_id"] for entry in existing
        }
        for provider, values in sim_config.items():
            entry_id = by_provider.get(provider)
            if entry_id is None:
                entry_id = await self.add_entry(provider, values)
                await self.set_options(entry_id, demo_options.get(provider, {}))
                added = True
            if provider in ADMIN_HOOKS:
                await self.set_admin_hook(provider, entry_id)
        await self.install_dashboard(regenerate=added)

    async def _flow(self, path: str, payload: dict[str, Any], what: str) -> dict[str, Any]:
        async with self.session.post(
            f"{self.api}/{path}", headers=self.headers, json=payload
        ) as response:
            result: dict[str, Any] = await _json(response, what)
        return result

    async def add_entry(self, provider: str, values: dict[str, str]) -> str:
        flow = await self._flow("flow", {"handler": "pbx_bridge"}, "starting the config flow")
        form = await self._flow(
            f"flow/{flow['flow_id']}", {"next_step_id": provider}, f"choosing {provider}"
        )
        fields = {field["name"] for field in form.get("data_schema", [])}
        result = await self._flow(
            f"flow/{flow['flow_id']}",
            {key: value for key, value in values.items() if key in fields},
            f"adding {provider}",
        )
        if result.get("type") != "create_entry":
            raise DemoError(
                f"adding {provider}: {result.get('errors') or result.get('reason') or result}"
            )
        print(f"==> added {result['title']}")
        return str(result["result"]["entry_id"])

    async def set_options(self, entry_id: str, options: dict[str, Any]) -> None:
        """The options a user would set: the provider's extras, the webhook registered."""
        form = await self._flow("options/flow", {"handler": entry_id}, "opening the options")
        schema = form.get("data_schema", [])
        # What the form already shows stays, as when a user saves it unchanged.
        values = {
            field["name"]: shown
            for field in schema
            if (
                shown := (field.get("description") or {}).get(
                    "suggested_value", field.get("default")
                )
            )
            is not None
        }
        wanted = {**options, CONF_AUTO_REGISTER_WEBHOOK: True}
        values |= {
            field["name"]: wanted[field["name"]] for field in schema if field["name"] in wanted
        }
        result = await self._flow(f"options/flow/{form['flow_id']}", values, "saving the options")
        if result.get("type") != "create_entry":
            raise DemoError(f"saving the options: {result.get('errors') or result}")

    async def webhook_url(self, entry_id: str) -> str:
        """The internal webhook address the entry's options form shows."""
        form = await self._flow("options/flow", {"handler": entry_id}, "opening the options")
        async with self.session.delete(
            f"{self.api}/options/flow/{form['flow_id']}", headers=self.headers
        ):
            pass
        match = WEBHOOK_URL.search((form.get("description_placeholders") or {}).get("urls", ""))
        if match is None:
            raise DemoError("the entry's options show no webhook address")
        return match.group(1)

    async def set_admin_hook(self, provider: str, entry_id: str) -> None:
        """What the provider's administrator pastes into its settings, in the simulator."""
        url = await self.webhook_url(entry_id)
        async with self.session.post(
            f"{self.sim_url}/_sim/{provider}/admin-hook", json={"url": url}
        ) as response:
            await _json(response, f"setting the {provider} hook in the simulator")

    async def install_dashboard(self, regenerate: bool) -> None:
        """The call-centre dashboard for the accounts there are, made the default one."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as socket:
            ws = _Websocket(socket)
            await ws.login(self.headers["Authorization"].removeprefix("Bearer "))
            dashboards = await ws.call("lovelace/dashboards/list")
            if not any(d["url_path"] == DASHBOARD for d in dashboards):
                await ws.call(
                    "lovelace/dashboards/create",
                    url_path=DASHBOARD,
                    title="Call centre",
                    icon="mdi:phone-in-talk",
                    show_in_sidebar=True,
                    require_admin=False,
                    mode="storage",
                )
                regenerate = True
            if regenerate:
                entries = await self._loaded_entries(ws)
                config = dashboard_config(
                    await ws.call("config/entity_registry/list"),
                    await ws.call("config/device_registry/list"),
                    entries,
                    {
                        state["entity_id"]: state["attributes"].get("friendly_name", "")
                        for state in await ws.call("get_states")
                    },
                )
                await ws.call("lovelace/config/save", url_path=DASHBOARD, config=config)
            core = (await ws.call("frontend/get_system_data", key="core")).get("value") or {}
            if core.get("default_panel") in (None, "lovelace"):
                await ws.call(
                    "frontend/set_system_data",
                    key="core",
                    value={**core, "default_panel": DASHBOARD},
                )

    @staticmethod
    async def _loaded_entries(ws: _Websocket) -> list[dict[str, Any]]:
        """The accounts, once all have finished (re)loading after their options were set."""
        deadline = time.monotonic() + 60
        while True:
            entries: list[dict[str, Any]] = await ws.call("config_entries/get", domain="pbx_bridge")
            if all(e["state"] == "loaded" for e in entries):
                return entries
            if time.monotonic() > deadline:
                stuck = [e["title"] for e in entries if e["state"] != "loaded"]
                raise DemoError(f"these accounts did not load: {', '.join(stuck)}")
            await asyncio.sleep(1)


class _Websocket:
    """Home Assistant's websocket API, one command at a time."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.next_id = 1

    async def login(self, token: str) -> None:
        await self.socket.receive_json()
        await self.socket.send_json({"type": "auth", "access_token": token})
        if (await self.socket.receive_json())["type"] != "auth_ok":
            raise DemoError("the websocket API refused the demo login")

    async def call(self, command: str, **fields: Any) -> Any:
        self.next_id += 1
        await self.socket.send_json({"id": self.next_id, "type": command, **fields})
        while (answer := await self.socket.receive_json()).get("id") != self.next_id:
            pass
        if not answer.get("success"):
            raise DemoError(f"{command}: {answer.get('error')}")
        return answer.get("result")


# --- the call-centre dashboard ------------------------------------------------------

ACCOUNT_SENSORS = ("active_calls", "calls_waiting", "missed_calls", "last_caller", "balance")
QUEUE_SENSORS = ("waiting_calls", "longest_wait", "agents_ready")


def dashboard_config(
    entities: list[dict[str, Any]],
    devices: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    friendly_names: dict[str, str],
) -> dict[str, Any]:
    """One view per account: its figures, agents, queues, lines, recent calls and buttons.

    Built from the registries (core cards only), so it fits whatever accounts there are.
    """
    names = {d["id"]: d.get("name_by_user") or d.get("name") or "" for d in devices}

    def own_name(entity: dict[str, Any]) -> str:
        """The entity's name without its device's (the account's name is long)."""
        full = friendly_names.get(entity["entity_id"], "")
        return full.removeprefix(names.get(entity.get("device_id") or "", "")).strip() or full

    views = []
    for entry in sorted(entries, key=lambda e: str(e["title"])):
        mine = [
            e
            for e in entities
            if e.get("config_entry_id") == entry["entry_id"] and not e.get("disabled_by")
        ]

        def ids(key: str, entities: list[dict[str, Any]] = mine) -> list[dict[str, Any]]:
            found = [e for e in entities if e.get("translation_key") == key]
            return sorted(found, key=lambda e: names.get(e.get("device_id") or "", ""))

        account = {e["entity_id"]: own_name(e) for key in ACCOUNT_SENSORS for e in ids(key)}
        if not account:
            continue
        hub = next(
            (
                d
                for d in devices
                if entry["entry_id"] in d.get("config_entries", ())
                and d.get("model_id") == "account"
            ),
            {},
        )
        events = [e["entity_id"] for e in ids("calls") + ids("sms")]
        sections = [
            _account_section(account, events, sends_sms=hub.get("manufacturer") in _sms_senders())
        ]
        if agents := ids("agent_status"):
            sections.append(_tiles("Agents", agents, names))
        queue_devices = sorted(
            {e["device_id"] for key in QUEUE_SENSORS for e in ids(key)},
            key=lambda d: names.get(d, ""),
        )
        if queue_devices:
            sections.append(
                {
                    "type": "grid",
                    "cards": [
                        {"type": "heading", "heading": "Queues"},
                        *(
                            {
                                "type": "entities",
                                "title": names.get(device, ""),
                                "entities": [
                                    e["entity_id"]
                                    for key in QUEUE_SENSORS
                                    for e in ids(key)
                                    if e["device_id"] == device
                                ],
                            }
                            for device in queue_devices
                        ),
                    ],
                }
            )
        if lines := ids("registered"):
            sections.append(_tiles("SIP lines and trunks", lines, names))
        views.append(
            {
                "title": entry["title"],
                "path": re.sub(r"[^a-z0-9]+", "-", str(entry["title"]).lower()).strip("-"),
                "type": "sections",
                "max_columns": 4,
                "sections": sections,
            }
        )
    return {"title": "Call centre", "views": views}


def _sms_senders() -> frozenset[str]:
    """The providers whose accounts can send SMS, by their name (the hub's manufacturer)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from custom_components.pbx_bridge.api.models import Capability  # noqa: PLC0415
    from custom_components.pbx_bridge.api.registry import PROVIDERS  # noqa: PLC0415

    return frozenset(
        client.title for client in PROVIDERS.values() if Capability.SEND_SMS in client.capabilities
    )


def _account_section(
    account: dict[str, str], events: list[str], *, sends_sms: bool
) -> dict[str, Any]:
    """The account's figures, the dial button (and the test-SMS one where the provider
    sends SMS), and its recent calls and SMS."""

    def button(name: str, icon: str, script: str) -> dict[str, Any]:
        return {
            "type": "button",
            "name": name,
            "icon": icon,
            "grid_options": {"columns": 6, "rows": 2},
            "tap_action": {
                "action": "perform-action",
                "perform_action": f"script.{script}",
                "data": {"account_entity": next(iter(account))},
                "confirmation": {"text": f"{name} to the demo number?"},
            },
        }

    return {
        "type": "grid",
        "cards": [
            {"type": "heading", "heading": "Account"},
            *(
                {"type": "tile", "entity": entity_id, "name": name}
                for entity_id, name in account.items()
            ),
            {"type": "tile", "entity": "input_text.pbx_bridge_demo_number", "name": "Demo number"},
            button("Dial", "mdi:phone-outgoing", "pbx_bridge_demo_dial"),
            *(
                [button("Send a test SMS", "mdi:message-text", "pbx_bridge_demo_test_sms")]
                if sends_sms
                else []
            ),
            {
                "type": "logbook",
                "title": "Recent calls and SMS",
                "target": {"entity_id": events},
                "hours_to_show": 4,
            },
        ],
    }


def _tiles(heading: str, entities: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    """A tile per entity, named after its device (the agent, the line)."""
    return {
        "type": "grid",
        "cards": [
            {"type": "heading", "heading": heading},
            *(
                {
                    "type": "tile",
                    "entity": e["entity_id"],
                    "name": names.get(e.get("device_id") or "", ""),
                    "grid_options": {"columns": 6},
                }
                for e in entities
            ),
        ],
    }


async def add_entries(url: str, sim_url: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await DemoSetup(session, url, sim_url).run()


async def install_dashboard(url: str, token: str | None = None) -> None:
    """(Re)generate the call-centre dashboard for the PBX Bridge accounts at `url`.

    With a long-lived access token (`HA_TOKEN`) this works on any Home Assistant.
    """
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        setup = DemoSetup(session, url, "")
        setup.headers = {"Authorization": f"Bearer {token or await access_token(session, url)}"}
        await setup.install_dashboard(regenerate=True)


def main() -> None:
    try:
        match sys.argv[1:]:
            case ["requirements", config_dir]:
                install_requirements(Path(config_dir))
            case ["prepare", config_dir, port]:
                prepare(Path(config_dir), int(port))
            case ["entries", url, sim_url]:
                asyncio.run(add_entries(url, sim_url))
            case ["dashboard", url]:
                asyncio.run(install_dashboard(url, os.environ.get("HA_TOKEN")))
            case _:
                sys.exit(__doc__)
    except (DemoError, aiohttp.ClientError, TimeoutError) as err:
        sys.exit(f"scripts/demo.py: {err or type(err).__name__}")


if __name__ == "__main__":
    main()
