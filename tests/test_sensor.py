"""Sensors of accounts, agents, queues and lines, for every provider."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.components.sensor import ATTR_OPTIONS
from homeassistant.const import MAX_LENGTH_STATE_STATE, STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.pbx_bridge.api.models import AgentState
from custom_components.pbx_bridge.const import DOMAIN
from pbx_simulator.testing import RunningSimulator

from .conftest import snapshot_entities


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the sensor platform."""
    return [Platform.SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensors(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor the provider supports, with the simulator's values."""
    await snapshot_entities(hass, snapshot, loaded_entry, pbx_simulator)


@pytest.mark.parametrize("provider", ["daktela"])
async def test_agent_status_leaves_home_assistant_states_to_home_assistant(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An unreachable agent and an unknown state are not read as the entity's own states."""
    coordinator = loaded_entry.runtime_data.coordinator
    agent_id, agent = next(iter(coordinator.data.agents.items()))
    entity_id = er.async_get(hass).async_get_entity_id(
        Platform.SENSOR, DOMAIN, f"{loaded_entry.unique_id}_agent_{agent_id}_status"
    )
    assert entity_id is not None
    options = hass.states.get(entity_id).attributes[ATTR_OPTIONS]  # type: ignore[union-attr]
    assert STATE_UNAVAILABLE not in options
    assert STATE_UNKNOWN not in options
    expected = {AgentState.UNAVAILABLE: "unreachable", AgentState.UNKNOWN: STATE_UNKNOWN}
    for agent_state, state in expected.items():
        agents = {**coordinator.data.agents, agent_id: replace(agent, state=agent_state)}
        coordinator.async_set_updated_data(replace(coordinator.data, agents=agents))
        await hass.async_block_till_done()
        assert hass.states.get(entity_id).state == state  # type: ignore[union-attr]
        assert state == STATE_UNKNOWN or state in options


@pytest.mark.parametrize("provider", ["daktela"])
async def test_long_text_is_cut_to_a_state(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A caller longer than a state can be (a webhook can send anything) is cut, not refused."""
    coordinator = loaded_entry.runtime_data.coordinator
    agent_id, agent = next(iter(coordinator.data.agents.items()))
    registry = er.async_get(hass)
    caller_entity = registry.async_get_entity_id(
        Platform.SENSOR, DOMAIN, f"{loaded_entry.unique_id}_last_caller"
    )
    partner_entity = registry.async_get_entity_id(
        Platform.SENSOR, DOMAIN, f"{loaded_entry.unique_id}_agent_{agent_id}_call_partner"
    )
    assert caller_entity is not None
    assert partner_entity is not None
    long_number = "+420" + "7" * 300
    agents = {**coordinator.data.agents, agent_id: replace(agent, call_partner=long_number)}
    coordinator.async_set_updated_data(
        replace(coordinator.data, last_caller=long_number, agents=agents)
    )
    await hass.async_block_till_done()
    for entity_id in (caller_entity, partner_entity):
        state = hass.states.get(entity_id)
        assert state is not None
        assert len(state.state) == MAX_LENGTH_STATE_STATE
        assert state.state == long_number[: MAX_LENGTH_STATE_STATE - 1] + "…"
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
