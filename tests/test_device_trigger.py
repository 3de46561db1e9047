"""Device triggers, and calls scripted in the simulator reaching an automation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.pbx_bridge.api.models import CallEvent, CallEventType
from custom_components.pbx_bridge.const import DOMAIN
from custom_components.pbx_bridge.device_trigger import (
    CALL_TRIGGERS,
    TRIGGER_TYPES,
    async_attach_trigger,
)
from custom_components.pbx_bridge.entity import (
    agent_identifier,
    hub_identifier,
    line_identifier,
    queue_identifier,
)
from custom_components.pbx_bridge.events import MISSED_GRACE_SECONDS
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options

HOOK_PATH = "/api/webhook/hook-1234"
TELFA_CALL_HOOKS = (
    "incoming_hook",
    "ring_hook",
    "transfer_hook",
    "group_hook",
    "outgoing_hook",
    "hangup_hook",
)


def device_id(hass: HomeAssistant, entry: MockConfigEntry, identifier: tuple[str, str]) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(identifier, entry.entry_id)
    assert device is not None, identifier
    return device.id


async def add_automations(
    hass: HomeAssistant, device: str, trigger_types: tuple[str, ...]
) -> list[ServiceCall]:
    """One automation per trigger type, each recording the trigger's event data."""
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "triggers": {
                        "platform": "device",
                        "domain": DOMAIN,
                        "device_id": device,
                        "type": trigger_type,
                    },
                    "actions": {
                        "action": "test.automation",
                        "data": {
                            "trigger": trigger_type,
                            "caller": "from {{ trigger.event.data.get('caller') }}",
                            "sender": "from {{ trigger.event.data.get('sender') }}",
                        },
                    },
                }
                for trigger_type in trigger_types
            ]
        },
    )
    return calls


def fired(calls: list[ServiceCall]) -> list[str]:
    return [call.data["trigger"] for call in calls]


async def test_triggers_per_device(hass: HomeAssistant, pbx_simulator: RunningSimulator) -> None:
    """The account has every trigger, agents and lines the call triggers, queues none."""
    entry = await async_setup_provider(hass, pbx_simulator, "daktela")
    snapshot = entry.runtime_data.coordinator.data
    assert entry.unique_id is not None
    expected = {
        hub_identifier(entry.unique_id): set(TRIGGER_TYPES),
        agent_identifier(entry.unique_id, next(iter(snapshot.agents))): set(CALL_TRIGGERS),
        line_identifier(entry.unique_id, next(iter(snapshot.registrations))): set(CALL_TRIGGERS),
        queue_identifier(entry.unique_id, next(iter(snapshot.queues))): set(),
    }
    for identifier, types in expected.items():
        device = device_id(hass, entry, identifier)
        triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device)
        assert {t["type"] for t in triggers if t["domain"] == DOMAIN} == types
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unknown_device_refused(hass: HomeAssistant) -> None:
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "x")}
    )
    with pytest.raises(InvalidDeviceAutomationConfig):
        await async_attach_trigger(
            hass,
            {"platform": "device", "domain": DOMAIN, "device_id": device.id, "type": "missed_call"},
            lambda *_: None,  # type: ignore[arg-type]
            {"trigger_data": {}, "variables": {}},  # type: ignore[typeddict-item]
        )


async def test_telfa_call_reaches_automations_through_the_webhook(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A call scripted at the simulator: Telfa posts its hooks, automations run."""
    entry = await async_setup_provider(hass, pbx_simulator, "telfa")
    assert entry.unique_id is not None
    client = await hass_client_no_auth()
    url = str(client.make_url(HOOK_PATH))
    for number in pbx_simulator.state.numbers.values():
        number.hooks = dict.fromkeys((*TELFA_CALL_HOOKS, "sms_hook"), url)
    hub = device_id(hass, entry, hub_identifier(entry.unique_id))
    calls = await add_automations(hass, hub, TRIGGER_TYPES)
    state = pbx_simulator.state
    agent_id = next(iter(state.agents))
    answered = state.incoming_call("+420777123456", agent_id=agent_id)
    state.answer(answered.id, agent_id)
    state.hangup(answered.id)
    missed = state.incoming_call("+420608111222")
    state.hangup(missed.id)
    state.receive_sms("+420608608608", state.numbers["1"].number, "Ahoj")
    await pbx_simulator.sim.webhooks.drain()
    await hass.async_block_till_done()
    assert all(d.status == 200 for d in pbx_simulator.sim.webhooks.deliveries)
    assert fired(calls) == [
        "incoming_call",
        "call_answered",
        "call_ended",
        "incoming_call",
        "call_ended",
        "missed_call",
        "sms_received",
    ]
    assert calls[0].data["caller"] == "from +420777123456"
    assert calls[-1].data["sender"] == "from +420608608608"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_daktela_call_reaches_agent_and_line_automations(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Daktela's dialplan GETs drive the account's and the line's triggers."""
    entry = await async_setup_provider(hass, pbx_simulator, "daktela")
    assert entry.unique_id is not None
    client = await hass_client_no_auth()
    pbx_simulator.sim.providers["daktela"].set_dialplan_hook(str(client.make_url(HOOK_PATH)))
    state = pbx_simulator.state
    agent = next(iter(state.agents.values()))
    line = state.line_of_agent(agent)
    assert line is not None
    registration = next(
        r for r in entry.runtime_data.coordinator.data.registrations.values() if r.name == line.name
    )
    line_device = device_id(
        hass, entry, line_identifier(entry.unique_id, registration.registration_id)
    )
    line_calls = await add_automations(hass, line_device, tuple(CALL_TRIGGERS))

    call = state.incoming_call("+420777123456", agent_id=agent.id)
    state.answer(call.id, agent.id)
    state.hangup(call.id)
    await pbx_simulator.sim.webhooks.drain()
    await hass.async_block_till_done()
    assert all(d.status == 200 for d in pbx_simulator.sim.webhooks.deliveries)
    assert "call_answered" in fired(line_calls)
    assert fired(line_calls)[-1] == "call_ended"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["voipsun", "odorik", "yemot"])
async def test_polled_call_reaches_automations(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """No push: the next poll after the call changes fires the triggers."""
    options: dict[str, Any] = demo_options(pbx_simulator, provider)
    entry = await async_setup_provider(hass, pbx_simulator, provider, options)
    assert entry.unique_id is not None
    hub = device_id(hass, entry, hub_identifier(entry.unique_id))
    calls = await add_automations(hass, hub, tuple(CALL_TRIGGERS))
    state = pbx_simulator.state

    async def next_poll() -> None:
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
        # The coordinator polls in a background task.
        await hass.async_block_till_done(wait_background_tasks=True)

    queue_id = next(iter(state.queues)) if provider == "yemot" else None
    call = state.incoming_call("+972501234567", queue_id=queue_id)
    await next_poll()
    assert fired(calls) == ["incoming_call"]
    state.hangup(call.id)
    await next_poll()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=MISSED_GRACE_SECONDS))
    await hass.async_block_till_done()
    assert fired(calls) == ["incoming_call", "call_ended", "missed_call"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_agent_trigger_fires_only_for_its_agent(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """An event naming an agent runs that agent's automations, not another's."""
    entry = await async_setup_provider(hass, pbx_simulator, "daktela")
    assert entry.unique_id is not None
    first, second = list(entry.runtime_data.coordinator.data.agents)[:2]
    device = device_id(hass, entry, agent_identifier(entry.unique_id, first))
    calls = await add_automations(hass, device, ("call_answered",))
    for agent_id in (second, first):
        entry.runtime_data.events.async_process(
            [CallEvent(CallEventType.ANSWERED, f"call-{agent_id}", agent_id=agent_id)]
        )
    await hass.async_block_till_done()
    assert fired(calls) == ["call_answered"]
    assert await hass.config_entries.async_unload(entry.entry_id)
