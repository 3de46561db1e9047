"""What scripts/develop sets up: one account per provider, each set up as a user would,
every account's Calls events arriving within a minute, the call-centre dashboard as the
default one."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import aiohttp

from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.api.models import Capability

from .conftest import REPO, DemoHomeAssistant, load_demo_script

demo = load_demo_script()
ALIVE_WITHIN = 60.0  # seconds


async def _watch(url: str, sim_url: str) -> tuple[dict[str, Any], list[dict[str, Any]], set[str]]:
    """The dashboard settings, the accounts, and the Calls entities without events yet
    after ALIVE_WITHIN seconds (empty when all had events)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim_url}/_sim/config") as response:
            providers = await response.json()
        token = await demo.access_token(session, url)
        async with session.ws_connect(f"{url}/api/websocket") as socket:
            ws = demo._Websocket(socket)
            await ws.login(token)
            entries = await ws.call("config_entries/get", domain="pbx_bridge")
            registry = await ws.call("config/entity_registry/list")
            calls = {
                e["entity_id"]
                for e in registry
                if e["platform"] == "pbx_bridge" and e.get("translation_key") == "calls"
            }
            deadline = time.monotonic() + ALIVE_WITHIN
            silent = set(calls)
            while silent and time.monotonic() < deadline:
                states = {s["entity_id"]: s["state"] for s in await ws.call("get_states")}
                silent = {e for e in silent if states.get(e) in (None, "unknown", "unavailable")}
                await asyncio.sleep(2)
            async with session.get(f"{sim_url}/_sim/webhooks") as response:
                deliveries = await response.json()
            core = (await ws.call("frontend/get_system_data", key="core"))["value"]
            dashboard = await ws.call("lovelace/config", url_path=demo.DASHBOARD)
            found = {
                "core": core,
                "dashboard": dashboard,
                "calls": calls,
                "providers": providers,
                "deliveries": deliveries,
            }
            return found, entries, silent


def test_every_account_is_alive(
    demo_home_assistant: DemoHomeAssistant, socket_enabled: None
) -> None:
    url, sim_url = demo_home_assistant.url, demo_home_assistant.sim_url
    subprocess.run(  # noqa: S603 - our own script, as scripts/develop runs it
        [sys.executable, str(REPO / "scripts" / "demo.py"), "entries", url, sim_url], check=True
    )
    found, entries, silent = asyncio.run(_watch(url, sim_url))
    assert len(entries) == len(found["providers"]), "one account per provider"
    assert all(entry["state"] == "loaded" for entry in entries)
    assert len(found["calls"]) == len(entries), "each account has its Calls entity"
    assert not silent, f"no call events within {ALIVE_WITHIN:.0f} s: {silent}"
    # Every provider that pushes calls reached our webhook, and none of its hooks was
    # refused (a delivery still under way has no status yet).
    pushed: dict[str, set[int | None]] = {}
    for delivery in found["deliveries"]:
        pushed.setdefault(delivery["provider"], set()).add(delivery["status"])
    for provider, client in PROVIDERS.items():
        if Capability.CALL_WEBHOOK in client.declaration.capabilities:
            statuses = pushed.get(provider, set())
            assert 200 in statuses, f"no {provider} hook reached the webhook: {statuses}"
            assert statuses <= {200, None}, f"{provider} hooks answered {statuses}"
    assert found["core"]["default_panel"] == demo.DASHBOARD
    assert len(found["dashboard"]["views"]) == len(entries), "one dashboard view per account"
    # The test-SMS button only where the provider sends SMS (Telfa does, Daktela v6 not).
    buttons = {
        view["title"]: {
            card.get("name")
            for section in view["sections"]
            for card in section["cards"]
            if card["type"] == "button"
        }
        for view in found["dashboard"]["views"]
    }
    telfa = next(title for title in buttons if title.startswith("Telfa"))
    daktela_v6 = next(title for title in buttons if title.startswith("Daktela v6"))
    assert buttons[telfa] == {"Dial", "Send a test SMS"}
    assert buttons[daktela_v6] == {"Dial"}
    # A second run (scripts/develop started again) finds the accounts and adds none.
    subprocess.run(  # noqa: S603
        [sys.executable, str(REPO / "scripts" / "demo.py"), "entries", url, sim_url], check=True
    )
    _, again, _ = asyncio.run(_watch(url, sim_url))
    assert {e["entry_id"] for e in again} == {e["entry_id"] for e in entries}
