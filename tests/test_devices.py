"""Devices: the hub as a service with its administration page; removal only on a full listing."""

from __future__ import annotations

from dataclasses import replace
from unittest.mock import patch

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.api.models import Listing, Snapshot
from custom_components.pbx_bridge.entity import ObjectKind, hub_identifier, object_identifier
from pbx_simulator.testing import RunningSimulator


def hub(hass: HomeAssistant, entry: MockConfigEntry) -> dr.DeviceEntry:
    device = dr.async_get(hass).async_get_device_by_identifier(
        hub_identifier(entry.runtime_data.coordinator.unique_id), entry.entry_id
    )
    assert device is not None
    return device


async def test_hub_device(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """A cloud account is a service; every hub links to the provider's administration
    page and has no serial number (no address posing as one)."""
    device = hub(hass, loaded_entry)
    client = loaded_entry.runtime_data.client
    assert device.entry_type is (
        None if client.declaration.on_premises else dr.DeviceEntryType.SERVICE
    )
    assert device.model_id == "account"
    assert device.serial_number is None
    origin = URL(pbx_simulator.origin)
    assert device.configuration_url == str(origin.with_path(client.declaration.admin_path))


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_on_premises_hub_is_no_service(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert hub(hass, loaded_entry).entry_type is None


@pytest.mark.parametrize(
    ("provider", "base_url", "admin_url"),
    [
        (
            "voipsun",
            "http://api:s3cret@pbx.example.com:8080/api?x=1",
            "http://pbx.example.com:8080/",
        ),
        ("odorik", "https://www.odorik.cz/api/v1", "https://www.odorik.cz/"),
        ("daktela", "https://firma.daktela.com", "https://firma.daktela.com/"),
    ],
)
async def test_admin_url_has_no_credentials(provider: str, base_url: str, admin_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = PROVIDERS[provider](session, {"base_url": base_url})
        assert client.admin_url == admin_url


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_devices_go_only_when_the_listing_is_complete(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Lines missing from a snapshot that does not list every line stay; from one that does,
    they go. The hub stays either way."""
    coordinator = loaded_entry.runtime_data.coordinator
    registry = dr.async_get(hass)
    line_id = next(iter(coordinator.data.registrations))
    identifier = object_identifier(coordinator.unique_id, ObjectKind.LINE, line_id)
    fetch = coordinator.client.async_fetch_snapshot
    complete: frozenset[Listing] = frozenset()

    async def without_the_line() -> Snapshot:
        snapshot = await fetch()
        registrations = {k: v for k, v in snapshot.registrations.items() if k != line_id}
        return replace(snapshot, registrations=registrations, complete=complete)

    with patch.object(coordinator.client, "async_fetch_snapshot", without_the_line):
        await coordinator.async_refresh()
        assert registry.async_get_device_by_identifier(identifier, loaded_entry.entry_id)
        complete = frozenset({Listing.REGISTRATIONS})
        await coordinator.async_refresh()
        assert not registry.async_get_device_by_identifier(identifier, loaded_entry.entry_id)
    assert hub(hass, loaded_entry)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_line_status_outside_the_documented_values(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A status the documentation does not name, or none, shows no state (not a guess)."""
    coordinator = loaded_entry.runtime_data.coordinator
    line_id = next(iter(coordinator.data.registrations))
    fetch = coordinator.client.async_fetch_snapshot
    status: str | None = "LAGGED (2000 ms)"

    async def with_status() -> Snapshot:
        snapshot = await fetch()
        registrations = dict(snapshot.registrations)
        registrations[line_id] = replace(registrations[line_id], status=status)
        return replace(snapshot, registrations=registrations)

    entity_id = next(
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
        if e.unique_id == f"{loaded_entry.unique_id}_line_{line_id}_status"
    )
    with patch.object(coordinator.client, "async_fetch_snapshot", with_status):
        for status in ("LAGGED (2000 ms)", "", None):
            await coordinator.async_refresh()
            await hass.async_block_till_done()
            assert hass.states.get(entity_id).state == "unknown", status  # type: ignore[union-attr]
