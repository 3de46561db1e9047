"""A large account (from `LARGE_ACCOUNT_OBJECTS` agents, queues and lines on), end to end."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest_asyncio

from custom_components.pbx_bridge.entity import LARGE_ACCOUNT_OBJECTS
from pbx_simulator.state import SimState
from pbx_simulator.testing import RunningSimulator, start_simulator

from .conftest import async_setup_provider

AGENTS = LARGE_ACCOUNT_OBJECTS // 2
LINES = LARGE_ACCOUNT_OBJECTS // 2


@pytest_asyncio.fixture
async def large_simulator(socket_enabled: None) -> AsyncGenerator[RunningSimulator]:
    running, runner = await start_simulator(SimState(seed=1, agents=AGENTS, queues=2, lines=LINES))
    try:
        yield running
    finally:
        await runner.cleanup()


async def test_large_account_starts_with_object_events_and_diagnostics_disabled(
    hass: HomeAssistant, large_simulator: RunningSimulator
) -> None:
    entry = await async_setup_provider(hass, large_simulator, "daktela")
    entries = {
        e.unique_id: e
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    account = str(entry.unique_id)
    agents = entry.runtime_data.coordinator.data.agents
    assert len(agents) == AGENTS
    assert entries[f"{account}_call_events"].disabled_by is None
    for agent_id in agents:
        # Every agent got its entities (added a batch at a time), its call events disabled.
        assert entries[f"{account}_agent_{agent_id}_status"].disabled_by is None
        agent_events = entries[f"{account}_agent_{agent_id}_call_events"]
        assert agent_events.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(agent_events.entity_id) is None
    line_events = [
        e for key, e in entries.items() if key.endswith("_call_events") and "_line_" in key
    ]
    assert line_events
    assert all(e.disabled_by is er.RegistryEntryDisabler.INTEGRATION for e in line_events)
    diagnostic = [e for e in entries.values() if e.entity_category == "diagnostic"]
    assert diagnostic
    assert all(e.disabled_by is er.RegistryEntryDisabler.INTEGRATION for e in diagnostic)
