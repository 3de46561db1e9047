"""The blueprints in blueprints/automation/pbx_bridge: Home Assistant's blueprint integration
loads each; an automation made from it fires on what the simulator does and carries out
the action it promises (against the simulator where the action reaches a provider)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any

from homeassistant.components import automation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.pbx_bridge.entity import hub_identifier
from custom_components.pbx_bridge.events import MISSED_GRACE_SECONDS
from pbx_simulator.state import AgentStatus
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider

BLUEPRINTS = Path(__file__).parents[1] / "blueprints" / "automation" / "pbx_bridge"
TELFA_HOOKS = (
    "incoming_hook",
    "ring_hook",
    "transfer_hook",
    "group_hook",
    "outgoing_hook",
    "hangup_hook",
    "sms_hook",
)


@pytest.fixture(autouse=True)
async def blueprints_in_config(hass: HomeAssistant, tmp_path: Path) -> None:
    """A configuration directory holding our blueprints, as after importing them."""
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints" / "automation" / "pbx_bridge")


async def add_automation(hass: HomeAssistant, blueprint: str, inputs: dict[str, Any]) -> None:
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "id": blueprint,
                "alias": blueprint.removesuffix(".yaml"),
                "use_blueprint": {"path": f"pbx_bridge/{blueprint}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{blueprint.removesuffix('.yaml')}")
    assert state is not None
    assert state.state == "on", f"{blueprint} did not set up"


def account_device(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    assert entry.unique_id is not None
    device = dr.async_get(hass).async_get_device_by_identifier(
        hub_identifier(entry.unique_id), entry.entry_id
    )
    assert device is not None
    return device.id


def entity_of(hass: HomeAssistant, entry: MockConfigEntry, translation_key: str) -> str:
    """The first entity of `entry` with this translation key (by device name)."""
    registry, devices = er.async_get(hass), dr.async_get(hass)
    found = sorted(
        (
            e
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            if e.translation_key == translation_key
        ),
        key=lambda e: str((devices.async_get(e.device_id or "") or e).name),
    )
    assert found, translation_key
    return found[0].entity_id


async def next_poll(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_every_blueprint_loads(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    # The automation integration registers its blueprint domain with the blueprint one.
    assert await async_setup_component(hass, automation.DOMAIN, {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "blueprint/list", "domain": "automation"})
    answer = await client.receive_json()
    assert answer["success"]
    ours = {
        path.removeprefix("pbx_bridge/"): blueprint
        for path, blueprint in answer["result"].items()
        if path.startswith("pbx_bridge/")
    }
    assert set(ours) == {path.name for path in BLUEPRINTS.glob("*.yaml")}
    for name, blueprint in ours.items():
        assert "error" not in blueprint, (name, blueprint)
        metadata = blueprint["metadata"]
        assert metadata["source_url"].endswith(f"/blueprints/automation/pbx_bridge/{name}")
        assert metadata["input"], name


@pytest.mark.parametrize(
    ("provider", "announced"), [("telfa", "Someone is at the door."), ("odorik", None)]
)
async def test_doorbell_announces_or_dials(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str, announced: str | None
) -> None:
    """Telfa reads the message in a new call; Odorik, which cannot, rings the number
    (from the account's default dial source, as the blueprint's description says)."""
    options = None
    if provider == "odorik":
        odorik = pbx_simulator.sim.providers["odorik"]
        line = str(odorik.line_number(pbx_simulator.state.lines["1"]))  # type: ignore[attr-defined]
        options = {"default_dial_source_kind": "line", "default_dial_source": line}
    entry = await async_setup_provider(hass, pbx_simulator, provider, options)
    hass.states.async_set("binary_sensor.doorbell", "off")
    await add_automation(
        hass,
        "doorbell_call.yaml",
        {
            "doorbell": "binary_sensor.doorbell",
            "account": account_device(hass, entry),
            "number": "+420601234567",
        },
    )
    calls_before = set(pbx_simulator.state.calls)
    hass.states.async_set("binary_sensor.doorbell", "on")
    await hass.async_block_till_done()
    new = [c for i, c in pbx_simulator.state.calls.items() if i not in calls_before]
    assert len(new) == 1, "the doorbell placed exactly one call"
    assert new[0].callee.endswith("601234567")
    assert new[0].announcement == announced
    hass.states.async_set("binary_sensor.doorbell", "off")
    await hass.async_block_till_done()
    assert len(pbx_simulator.state.calls) == len(calls_before) + 1, "released: no call"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_missed_call_notifies_and_sends_sms_back(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A missed call Telfa reports through its hooks: a notification, and an SMS back."""
    entry = await async_setup_provider(hass, pbx_simulator, "telfa")
    client = await hass_client_no_auth()
    url = str(client.make_url("/api/webhook/hook-1234"))
    for number in pbx_simulator.state.numbers.values():
        number.hooks = dict.fromkeys(TELFA_HOOKS, url)
    notified = async_mock_service(hass, "notify", "mobile_app_phone")
    await add_automation(
        hass,
        "missed_call_notify.yaml",
        {
            "account": account_device(hass, entry),
            "notify_action": "notify.mobile_app_phone",
            "sms_back": True,
        },
    )
    state = pbx_simulator.state
    missed = state.incoming_call("+420608111222")
    state.hangup(missed.id)
    await pbx_simulator.sim.webhooks.drain()
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=MISSED_GRACE_SECONDS))
    await hass.async_block_till_done()
    assert len(notified) == 1, "one notification per missed call"
    assert notified[0].data["message"].startswith("Missed call from")
    assert notified[0].data["message"].endswith("608111222")
    sent = [sms for sms in state.sms.values() if sms.direction.value == "out"]
    assert len(sent) == 1
    assert sent[0].recipient.endswith("608111222")
    assert sent[0].text.startswith("Sorry I missed your call")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_queue_alert_after_callers_wait(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """More than one caller waiting in a queue for a minute: one notification."""
    entry = await async_setup_provider(hass, pbx_simulator, "daktela")
    waiting = entity_of(hass, entry, "waiting_calls")
    queue_id = next(
        q.id for q in pbx_simulator.state.queues.values() if q.name in str(waiting).title()
    )
    notified = async_mock_service(hass, "notify", "office")
    await add_automation(
        hass,
        "queue_waiting_alert.yaml",
        {
            "waiting_calls": waiting,
            "threshold": 1,
            "minutes": 1,
            "notify_action": "notify.office",
        },
    )
    for caller in ("+420601000001", "+420601000002"):
        pbx_simulator.state.incoming_call(caller, queue_id=queue_id)
    await next_poll(hass)
    assert hass.states.get(waiting).state == "2"  # type: ignore[union-attr]
    assert not notified, "not before the callers waited a minute"
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=1, seconds=32))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(notified) == 1
    assert notified[0].data["message"].startswith("2 callers waiting")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_agent_status_sets_light_colour(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Busy, paused, free: the light follows the agent's status sensor."""
    entry = await async_setup_provider(hass, pbx_simulator, "daktela")
    status = entity_of(hass, entry, "agent_status")
    name = hass.states.get(status).name  # type: ignore[union-attr]
    agent = next(a for a in pbx_simulator.state.agents.values() if name.startswith(a.name))
    turned_on = async_mock_service(hass, "light", "turn_on")
    turned_off = async_mock_service(hass, "light", "turn_off")
    await add_automation(
        hass,
        "agent_status_light.yaml",
        {"agent_status": status, "light": "light.desk"},
    )
    state = pbx_simulator.state
    agent.status = AgentStatus.IN_CALL
    await next_poll(hass)
    state.agent_pause(agent.id)
    await next_poll(hass)
    state.agent_unpause(agent.id)
    agent.status = AgentStatus.IDLE
    await next_poll(hass)
    state.agent_logout(agent.id)
    await next_poll(hass)
    assert [call.data["rgb_color"] for call in turned_on] == [
        [255, 0, 0],
        [255, 160, 0],
        [0, 200, 0],
    ]
    assert [call.data["entity_id"] for call in turned_off] == [["light.desk"]]
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_readme_links_every_blueprint() -> None:
    """One import link per blueprint in the README (Home Assistant's My link)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for path in BLUEPRINTS.glob("*.yaml"):
        assert f"blueprints%2Fautomation%2Fpbx_bridge%2F{path.name}" in readme, path.name
