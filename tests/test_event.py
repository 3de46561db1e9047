"""Event entities: the account's calls and SMS, and the calls of each agent and line."""

from __future__ import annotations

from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from syrupy.assertion import SnapshotAssertion

from custom_components.pbx_bridge.api.models import (
    CallDirection,
    CallEvent,
    CallEventType,
    Capability,
    SmsDirection,
    SmsMessage,
)
from custom_components.pbx_bridge.events import EVENT_CALL
from pbx_simulator.testing import RunningSimulator

from .conftest import snapshot_entities


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the event platform."""
    return [Platform.EVENT]


def entity_id(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> str:
    entity = er.async_get(hass).async_get_entity_id(
        "event", "pbx_bridge", f"{entry.unique_id}_{key}"
    )
    assert entity is not None, key
    return entity


async def test_event_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """The account's entities, and one per agent and line the provider reports."""
    await snapshot_entities(hass, snapshot, loaded_entry, pbx_simulator)


async def test_events_reach_the_right_entities(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A call event shows on the account and on the agent and line it names, only there."""
    runtime = loaded_entry.runtime_data
    snapshot = runtime.coordinator.data
    fired = async_capture_events(hass, EVENT_CALL)
    agent_id = next(iter(snapshot.agents), None)
    line_id = next(iter(snapshot.registrations), None)
    runtime.events.async_process(
        [
            CallEvent(
                CallEventType.RINGING,
                "call-1",
                CallDirection.INCOMING,
                caller="+420777123456",
                agent_id=agent_id,
                line=line_id,
            )
        ]
    )
    await hass.async_block_till_done()
    account = hass.states.get(entity_id(hass, loaded_entry, "call_events"))
    assert account is not None
    assert account.attributes["event_type"] == "ringing"
    assert account.attributes["caller"] == "+420777123456"
    assert "config_entry_id" not in account.attributes
    # The new states were caused by the bus event: they share its context.
    (event,) = fired
    assert account.context.id == event.context.id
    for kind, object_id, others in (
        ("agent", agent_id, snapshot.agents),
        ("line", line_id, snapshot.registrations),
    ):
        if object_id is None:
            continue
        state = hass.states.get(entity_id(hass, loaded_entry, f"{kind}_{object_id}_call_events"))
        assert state is not None
        assert state.attributes["event_type"] == "ringing"
        assert state.context.id == event.context.id
        for other in set(others) - {object_id}:
            state = hass.states.get(entity_id(hass, loaded_entry, f"{kind}_{other}_call_events"))
            assert state is not None
            assert state.state == STATE_UNKNOWN


async def test_sms_entity(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Providers that report received SMS have an SMS entity; it shows each message."""
    client = loaded_entry.runtime_data.client
    registry = er.async_get(hass)
    sms_entity = registry.async_get_entity_id(
        "event", "pbx_bridge", f"{loaded_entry.unique_id}_sms_events"
    )
    if not client.capabilities & {Capability.SMS_WEBHOOK, Capability.SMS_POLLING}:
        assert sms_entity is None
        return
    assert sms_entity is not None
    loaded_entry.runtime_data.events.async_process(
        [SmsMessage("s1", SmsDirection.INCOMING, "+420608608608", "+420602602602", "Ahoj")]
    )
    await hass.async_block_till_done()
    state = hass.states.get(sms_entity)
    assert state is not None
    assert state.attributes["event_type"] == "received"
    assert state.attributes["text"] == "Ahoj"
