"""Sensors of accounts, agents, queues and lines, for every provider."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

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
