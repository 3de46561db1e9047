"""Agent login and pause switches."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.switch import SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import REQUEST_REFRESH_DEFAULT_COOLDOWN
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.pbx_bridge.api.models import Capability
from custom_components.pbx_bridge.const import DOMAIN
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, snapshot_entities

SWITCH = "switch"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the switch platform."""
    return [Platform.SWITCH]


def _switch(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> tuple[str, str]:
    """The entity id of switch `key` of the first agent that has it, and the agent id."""
    coordinator = entry.runtime_data.coordinator
    for agent_id in coordinator.data.agents:
        unique_id = f"{coordinator.unique_id}_agent_{agent_id}_{key}"
        if entity_id := er.async_get(hass).async_get_entity_id(SWITCH, DOMAIN, unique_id):
            return entity_id, agent_id
    raise AssertionError(f"no {key} switch")


async def _press(hass: HomeAssistant, service: str, entity_id: str) -> None:
    await hass.services.async_call(SWITCH, service, {ATTR_ENTITY_ID: entity_id}, blocking=True)
    # A second refresh request within the debouncer's cooldown runs when it ends.
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=REQUEST_REFRESH_DEFAULT_COOLDOWN + 1)
    )
    await hass.async_block_till_done()


async def test_switches(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """Login and pause switches exist only where the provider can change them."""
    capabilities = loaded_entry.runtime_data.client.capabilities
    if not {Capability.AGENT_LOGIN, Capability.AGENT_PAUSE} & capabilities:
        assert not er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
        return
    await snapshot_entities(hass, snapshot, loaded_entry, pbx_simulator)


@pytest.mark.parametrize("provider", ["telfa", "daktela", "voipsun"])
async def test_log_agent_out_and_in(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Turning the login switch off logs the agent out at the provider, and on again in."""
    entity_id, agent_id = _switch(hass, loaded_entry, "logged_in")
    assert hass.states.get(entity_id).state == STATE_ON  # type: ignore[union-attr]

    await _press(hass, SERVICE_TURN_OFF, entity_id)
    assert loaded_entry.runtime_data.coordinator.data.agents[agent_id].logged_in is False
    assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]

    await _press(hass, SERVICE_TURN_ON, entity_id)
    assert hass.states.get(entity_id).state == STATE_ON  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", ["daktela", "yemot", "voipsun"])
async def test_pause_and_unpause_agent(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Turning the pause switch on pauses the agent at the provider."""
    entity_id, agent_id = _switch(hass, loaded_entry, "paused")
    assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]

    await _press(hass, SERVICE_TURN_ON, entity_id)
    assert loaded_entry.runtime_data.coordinator.data.agents[agent_id].paused is True
    assert hass.states.get(entity_id).state == STATE_ON  # type: ignore[union-attr]

    await _press(hass, SERVICE_TURN_OFF, entity_id)
    assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kind", "translation_key"),
    [
        # A pause is sent once: after a server error it may have been carried out.
        (FaultKind.SERVER_ERROR, "outcome_unknown"),
        (FaultKind.RATE_LIMIT, "rate_limited"),
        # An unreadable answer is not a refusal: the client's message names the provider.
        (FaultKind.HTML, "invalid_response"),
    ],
)
@pytest.mark.parametrize("provider", ["voipsun"])
async def test_provider_failure_is_translated(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    kind: FaultKind,
    translation_key: str,
) -> None:
    """A failing provider gives a translated error and leaves the switch as it was."""
    entity_id, _ = _switch(hass, loaded_entry, "paused")
    pbx_simulator.sim.faults.append(Fault(provider="voipsun", kind=kind, count=1))

    with pytest.raises(HomeAssistantError) as err:
        await _press(hass, SERVICE_TURN_ON, entity_id)
    assert err.value.translation_key == translation_key
    assert err.value.translation_placeholders["provider"] == "VoIPSUN PBX"
    assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", ["daktela"])
async def test_provider_refusal_carries_its_reason(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """An agent the provider no longer knows: its refusal, with the provider's reason."""
    entity_id, agent_id = _switch(hass, loaded_entry, "paused")
    sim_agent = next(a for a in pbx_simulator.state.agents.values() if a.login == agent_id)
    pbx_simulator.state.remove_agent(sim_agent.id)

    with pytest.raises(HomeAssistantError) as err:
        await _press(hass, SERVICE_TURN_ON, entity_id)
    assert err.value.translation_key == "provider_refused"
    assert err.value.translation_placeholders["error"]


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_rejected_credentials_start_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """Credentials rejected during an action: a translated error and a reauth flow."""
    entity_id, _ = _switch(hass, loaded_entry, "paused")
    pbx_simulator.sim.faults.append(Fault(provider="voipsun", kind=FaultKind.UNAUTHORIZED))

    with pytest.raises(HomeAssistantError) as err:
        await _press(hass, SERVICE_TURN_ON, entity_id)
    assert err.value.translation_key == "invalid_auth"
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    pbx_simulator.sim.faults.clear()


async def test_agent_without_pin_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """VoIPSUN needs an agent's PIN: without one the switch explains what is missing."""
    with pytest.MonkeyPatch.context() as patch_platforms:
        patch_platforms.setattr("custom_components.pbx_bridge.PLATFORMS", [Platform.SWITCH])
        # The queues (their members are the agents), no PINs.
        entry = await async_setup_provider(
            hass, pbx_simulator, "voipsun", options={"queue_names": ["Sales"]}
        )
    entity_id, _ = _switch(hass, entry, "paused")

    with pytest.raises(ServiceValidationError) as err:
        await _press(hass, SERVICE_TURN_ON, entity_id)
    assert err.value.translation_key == "invalid_input"
    assert await hass.config_entries.async_unload(entry.entry_id)
