"""Pause reason selects of agents, where the provider names its pauses."""

from __future__ import annotations

from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.pbx_bridge.api.models import Capability
from custom_components.pbx_bridge.const import DOMAIN
from pbx_simulator.testing import RunningSimulator

from .conftest import snapshot_entities

SELECT = "select"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the select platform."""
    return [Platform.SELECT]


async def test_selects(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """A pause reason select per agent only where pauses have names."""
    if Capability.PAUSE_REASONS not in loaded_entry.runtime_data.client.capabilities:
        assert not er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
        return
    await snapshot_entities(hass, snapshot, loaded_entry, pbx_simulator)


def _pause_select(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[str, str]:
    coordinator = entry.runtime_data.coordinator
    agent_id = next(iter(coordinator.data.agents))
    entity_id = er.async_get(hass).async_get_entity_id(
        SELECT, DOMAIN, f"{coordinator.unique_id}_agent_{agent_id}_pause_reason"
    )
    assert entity_id
    return entity_id, agent_id


@pytest.mark.parametrize("provider", ["daktela"])
async def test_choosing_a_reason_pauses_the_agent(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """Choosing a reason pauses the agent with it at the provider."""
    entity_id, agent_id = _pause_select(hass, loaded_entry)
    state = hass.states.get(entity_id)
    assert state
    assert state.state == STATE_UNKNOWN
    assert state.attributes["options"] == pbx_simulator.state.pause_reasons

    await hass.services.async_call(
        SELECT, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: "Lunch"}, True
    )
    await hass.async_block_till_done()

    agent = loaded_entry.runtime_data.coordinator.data.agents[agent_id]
    assert (agent.paused, agent.pause_reason) == (True, "Lunch")
    assert hass.states.get(entity_id).state == "Lunch"  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", ["daktela"])
async def test_refused_reason_keeps_the_state(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """An agent the provider no longer knows: a translated refusal, nothing changes."""
    entity_id, agent_id = _pause_select(hass, loaded_entry)
    sim_agent = next(a for a in pbx_simulator.state.agents.values() if a.login == agent_id)
    pbx_simulator.state.remove_agent(sim_agent.id)

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            SELECT, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: "Lunch"}, True
        )
    assert err.value.translation_key == "provider_refused"
    assert hass.states.get(entity_id).state == STATE_UNKNOWN  # type: ignore[union-attr]
