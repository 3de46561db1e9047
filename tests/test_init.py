"""Setup, unload, availability, reauth and devices that come and go."""

from __future__ import annotations

from datetime import timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.api.models import Listing
from custom_components.pbx_bridge.const import CONF_PROVIDER, CONF_WEBHOOK_ID, DOMAIN
from custom_components.pbx_bridge.entity import agent_identifier, hub_identifier, line_identifier
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options

# Ticking this far triggers the next refresh of every provider.
LONGEST_POLL_INTERVAL = max(
    cls.declaration.poll_interval.total_seconds() for cls in PROVIDERS.values()
)


async def _next_poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = LONGEST_POLL_INTERVAL
) -> None:
    freezer.tick(timedelta(seconds=seconds + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def _unavailable(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    return [
        e.entity_id
        for e in entries
        if (state := hass.states.get(e.entity_id)) and state.state == STATE_UNAVAILABLE
    ]


async def test_load_and_unload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """An entry loads against the simulator and unloads cleanly."""
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        (FaultKind.SERVER_ERROR, ConfigEntryState.SETUP_RETRY),
        (FaultKind.UNAUTHORIZED, ConfigEntryState.SETUP_ERROR),
    ],
)
async def test_setup_when_provider_fails(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    provider: str,
    kind: FaultKind,
    state: ConfigEntryState,
) -> None:
    """Unreachable at start: retried later; credentials rejected: a reauth flow."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    assert await hass.config_entries.async_unload(entry.entry_id)
    pbx_simulator.sim.faults.append(Fault(provider=provider, kind=kind))

    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is state
    sources = [flow["context"]["source"] for flow in hass.config_entries.flow.async_progress()]
    assert sources == ([SOURCE_REAUTH] if kind is FaultKind.UNAUTHORIZED else [])


@pytest.mark.parametrize(
    ("kind", "logged"),
    [(FaultKind.SERVER_ERROR, "server error"), (FaultKind.DISCONNECT, "Cannot reach")],
)
async def test_provider_down_and_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    *,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    logged: str,
) -> None:
    """Polled entities go unavailable while the provider is down, log once, and come back.

    Event entities stay available: webhooks still feed them.
    """
    provider = loaded_entry.data["provider"]
    assert not _unavailable(hass, loaded_entry)
    caplog.set_level(logging.INFO)
    pbx_simulator.sim.faults.append(Fault(provider=provider, kind=kind))

    await _next_poll(hass, freezer)
    await _next_poll(hass, freezer)
    await _next_poll(hass, freezer)
    entities = er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
    assert len(_unavailable(hass, loaded_entry)) == len(
        [e for e in entities if hass.states.get(e.entity_id) and e.domain != "event"]
    )
    assert caplog.text.count("Error fetching") == 1
    assert logged in caplog.text
    for field in PROVIDERS[provider].connection_fields:
        if field.secret and (secret := loaded_entry.data.get(field.key)):
            assert secret not in caplog.text

    pbx_simulator.sim.faults.clear()
    await _next_poll(hass, freezer)
    assert not _unavailable(hass, loaded_entry)
    assert caplog.text.count("data recovered") == 1
    assert loaded_entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("provider", ["yemot"])
async def test_credential_change_starts_reauth(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
) -> None:
    """Credentials changed at the provider: the next refresh starts a reauth flow."""
    pbx_simulator.state.credentials["yemot"]["token"] = "0773137770:a-new-password"
    await _next_poll(hass, freezer)
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == loaded_entry.entry_id


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_rate_limit_honours_retry_after(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
) -> None:
    """A rate-limited refresh waits as long as the provider asks, not one interval."""
    coordinator = loaded_entry.runtime_data.coordinator
    pbx_simulator.sim.faults.append(
        Fault(provider="voipsun", kind=FaultKind.RATE_LIMIT, retry_after=300, count=1)
    )
    await _next_poll(hass, freezer)
    assert not coordinator.last_update_success
    assert coordinator.last_exception is not None
    assert coordinator.last_exception.translation_key == "rate_limited"  # type: ignore[attr-defined]

    requests = pbx_simulator.sim.count("voipsun")
    await _next_poll(hass, freezer)  # one interval later: still waiting
    assert pbx_simulator.sim.count("voipsun") == requests
    await _next_poll(hass, freezer, 300)
    assert coordinator.last_update_success


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_objects_appear_and_vanish(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
) -> None:
    """A new line gets its device and entities at the next refresh; a removed one loses them."""
    coordinator = loaded_entry.runtime_data.coordinator
    device_registry = dr.async_get(hass)
    entity_registry = er.async_get(hass)
    before = set(coordinator.data.registrations)

    line = pbx_simulator.state.add_line(kind="extension")
    await _next_poll(hass, freezer)
    (new_id,) = set(coordinator.data.registrations) - before
    device = device_registry.async_get_device_by_identifier(
        line_identifier(coordinator.unique_id, new_id), loaded_entry.entry_id
    )
    assert device
    hub = device_registry.async_get_device_by_identifier(
        hub_identifier(coordinator.unique_id), loaded_entry.entry_id
    )
    assert hub
    assert device.via_device_id == hub.id
    entities = er.async_entries_for_device(entity_registry, device.id)
    assert {Platform.BINARY_SENSOR, Platform.SENSOR} <= {e.domain for e in entities}
    assert all(hass.states.get(e.entity_id) for e in entities if not e.disabled)

    pbx_simulator.state.remove_line(line.id)
    await _next_poll(hass, freezer)
    assert not device_registry.async_get_device_by_identifier(
        line_identifier(coordinator.unique_id, new_id), loaded_entry.entry_id
    )
    assert not er.async_entries_for_device(entity_registry, device.id)
    assert all(hass.states.get(e.entity_id) is None for e in entities)

    # Back again: new device and entities, no reload.
    pbx_simulator.state.lines[line.id] = line
    await _next_poll(hass, freezer)
    device = device_registry.async_get_device_by_identifier(
        line_identifier(coordinator.unique_id, new_id), loaded_entry.entry_id
    )
    assert device
    assert er.async_entries_for_device(entity_registry, device.id)


@pytest.mark.parametrize("provider", ["daktela"])
async def test_agent_renamed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
) -> None:
    """A renamed agent renames its device at the next refresh."""
    coordinator = loaded_entry.runtime_data.coordinator
    agent_id = next(iter(coordinator.data.agents))
    sim_agent = next(a for a in pbx_simulator.state.agents.values() if a.login == agent_id)
    identifier = agent_identifier(coordinator.unique_id, agent_id)

    sim_agent.name = "Renamed Agent"
    await _next_poll(hass, freezer)
    device = dr.async_get(hass).async_get_device_by_identifier(identifier, loaded_entry.entry_id)
    assert device
    assert device.name == "Renamed Agent"


@pytest.mark.parametrize("provider", ["yemot"])
async def test_agent_absent_from_a_partial_listing_keeps_the_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Yemot lists only the members of the watched queues: an agent who leaves them is not
    gone, so the device stays (its entities unavailable) until the user deletes it."""
    assert await async_setup_component(hass, "config", {})
    coordinator = loaded_entry.runtime_data.coordinator
    assert Listing.AGENTS not in coordinator.data.complete
    entity_registry = er.async_get(hass)
    agent_id = next(iter(coordinator.data.agents))
    device = dr.async_get(hass).async_get_device_by_identifier(
        agent_identifier(coordinator.unique_id, agent_id), loaded_entry.entry_id
    )
    assert device
    entities = er.async_entries_for_device(entity_registry, device.id)
    assert entities

    sim_agent = next(a for a in pbx_simulator.state.agents.values() if a.extension == agent_id)
    pbx_simulator.state.remove_agent(sim_agent.id)
    await _next_poll(hass, freezer)
    assert agent_id not in coordinator.data.agents
    assert dr.async_get(hass).async_get(device.id)
    for entity in entities:
        state = hass.states.get(entity.entity_id)
        assert state is None or state.state == "unavailable", entity.entity_id

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": loaded_entry.entry_id,
            "device_id": device.id,
        }
    )
    assert (await client.receive_json())["success"]
    assert not dr.async_get(hass).async_get(device.id)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_remove_stale_device(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A user may delete a device whose object is gone, not a current one."""
    assert await async_setup_component(hass, "config", {})
    coordinator = loaded_entry.runtime_data.coordinator
    device_registry = dr.async_get(hass)
    stale = device_registry.async_get_or_create(
        config_entry_id=loaded_entry.entry_id,
        identifiers={line_identifier(coordinator.unique_id, "gone")},
    )
    registration_id = next(iter(coordinator.data.registrations))
    current = device_registry.async_get_device_by_identifier(
        line_identifier(coordinator.unique_id, registration_id), loaded_entry.entry_id
    )
    assert current
    client = await hass_ws_client(hass)

    for device, removable in ((current, False), (stale, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": loaded_entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is removable
    assert device_registry.async_get(current.id)
    assert not device_registry.async_get(stale.id)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_remove_device_while_not_loaded(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Without a snapshot any device but the account's may go, and no error surfaces."""
    assert await async_setup_component(hass, "config", {})
    unique_id = loaded_entry.runtime_data.coordinator.unique_id
    device_registry = dr.async_get(hass)
    line = device_registry.async_get_or_create(
        config_entry_id=loaded_entry.entry_id, identifiers={line_identifier(unique_id, "gone")}
    )
    hub = device_registry.async_get_device_by_identifier(
        hub_identifier(unique_id), loaded_entry.entry_id
    )
    assert hub
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    client = await hass_ws_client(hass)

    for device, removable in ((hub, False), (line, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": loaded_entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is removable
        if not removable:
            assert response["error"]["message"].endswith("rejected by integration")
    assert device_registry.async_get(hub.id)
    assert not device_registry.async_get(line.id)


@pytest.mark.parametrize("provider", ["daktela", "voipsun"])
async def test_unchanged_poll_wakes_no_listener(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    pbx_simulator: RunningSimulator,
) -> None:
    """A poll that returns the same snapshot updates nothing; a changed one does."""
    coordinator = loaded_entry.runtime_data.coordinator
    updates: list[None] = []
    loaded_entry.async_on_unload(coordinator.async_add_listener(lambda: updates.append(None)))

    await _next_poll(hass, freezer)
    assert coordinator.last_update_success
    assert not updates

    line = next(iter(pbx_simulator.state.lines.values()))
    line.registered = not line.registered
    await _next_poll(hass, freezer)
    assert updates


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_migration_keeps_entity_ids_and_drops_the_polling_option(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """An entry of 1.1: its address-based unique id, entities and devices are renamed."""
    old_id = "voipsun_127.0.0.1:8080"
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="VoIPSUN PBX 127.0.0.1",
        unique_id=old_id,
        data={CONF_PROVIDER: provider, **pbx_simulator.config[provider], CONF_WEBHOOK_ID: "h"},
        options={**demo_options(pbx_simulator, provider), "scan_interval": 45},
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    entities, devices = er.async_get(hass), dr.async_get(hass)
    sensor = entities.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{old_id}_active_calls",
        config_entry=entry,
        suggested_object_id="pbx_active_calls",
    )
    agent = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{old_id}_agent_1000")}
    )
    foreign = entities.async_get_or_create("sensor", "other", f"{old_id}_x")
    unrelated = entities.async_get_or_create("sensor", DOMAIN, "hand_made", config_entry=entry)
    hub = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, old_id), ("other", old_id)}
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == 2
    assert "scan_interval" not in entry.options
    assert entry.unique_id != old_id
    assert "127.0.0.1" not in entry.unique_id
    moved = entities.async_get(sensor.entity_id)
    assert moved is not None
    assert moved.unique_id == f"{entry.unique_id}_active_calls"
    assert hass.states.get("sensor.pbx_active_calls") is not None
    device = devices.async_get(agent.id)
    assert device is not None
    assert device.identifiers == {(DOMAIN, f"{entry.unique_id}_agent_1000")}
    assert entities.async_get(foreign.entity_id).unique_id == f"{old_id}_x"  # type: ignore[union-attr]
    assert entities.async_get(unrelated.entity_id).unique_id == "hand_made"  # type: ignore[union-attr]
    hub_now = devices.async_get(hub.id)
    assert hub_now is not None
    assert hub_now.identifiers == {(DOMAIN, entry.unique_id), ("other", old_id)}
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["yemot"])
async def test_migration_keeps_a_stable_unique_id(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="yemot_0773137770",
        data={CONF_PROVIDER: provider, **pbx_simulator.config[provider], CONF_WEBHOOK_ID: "h"},
        options={"scan_interval": 45},
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.minor_version, entry.unique_id, dict(entry.options)) == (
        2,
        "yemot_0773137770",
        {},
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("version", "provider_id"), [(2, "yemot"), (1, "a_provider_no_longer_known")]
)
async def test_migration_refuses_what_it_does_not_know(
    hass: HomeAssistant, version: int, provider_id: str
) -> None:
    """An entry of a later version, or of an unknown provider, is left alone."""
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_PROVIDER: provider_id}, version=version, minor_version=1
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
