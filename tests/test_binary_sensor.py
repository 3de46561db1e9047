"""Registration binary sensors of SIP lines and trunks."""

from __future__ import annotations

from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.pbx_bridge.api.models import Capability
from custom_components.pbx_bridge.const import DOMAIN
from pbx_simulator.testing import RunningSimulator

from .conftest import snapshot_entities


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the binary sensor platform."""
    return [Platform.BINARY_SENSOR]


async def test_binary_sensors(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """A registration sensor for each line of the providers that report them."""
    client = loaded_entry.runtime_data.client
    if Capability.SIP_REGISTRATIONS not in client.capabilities:
        assert not er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
        return
    await snapshot_entities(hass, snapshot, loaded_entry, pbx_simulator)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_registration_follows_the_line(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """A line that loses its registration turns the sensor off at the next refresh."""
    coordinator = loaded_entry.runtime_data.coordinator
    registration_id = next(
        rid for rid, reg in coordinator.data.registrations.items() if reg.registered
    )
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{coordinator.unique_id}_line_{registration_id}_registered"
    )
    assert entity_id
    assert hass.states.get(entity_id).state == STATE_ON  # type: ignore[union-attr]

    for sim_line in pbx_simulator.state.lines.values():
        pbx_simulator.state.set_registered(sim_line.id, False)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]
