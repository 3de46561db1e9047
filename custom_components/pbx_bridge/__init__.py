"""PBX Bridge: Telfa, Daktela, Odorik, Yemot and VoIPSUN phone systems in Home Assistant."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from homeassistant.components.webhook import async_generate_id
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.ulid import ulid_now

from .api import PROVIDERS, PbxClient, client_class
from .const import CONF_HOOK_NUMBERS, CONF_PROVIDER, CONF_WEBHOOK_ID, DOMAIN
from .coordinator import PbxConfigEntry, PbxCoordinator, PbxRuntimeData
from .entity import DeviceSync, current_identifiers, hub_device_info, hub_identifier
from .events import PbxEventHub, async_remove_stored_events
from .registration import async_start_registration, async_unregister_at_provider
from .repairs import async_delete_entry_issues, async_sync_problems
from .services import async_setup_services
from .webhook import PbxWebhook

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NOTIFY,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]


def create_client(
    hass: HomeAssistant, data: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> PbxClient:
    """A client for entry `data` (provider and connection fields) and `options`."""
    cls = client_class(data[CONF_PROVIDER])
    fields = {fld.key for fld in cls.connection_fields}
    config = {key: str(value) for key, value in data.items() if key in fields and value}
    options = options or {}
    client_options = {
        option.key: options[option.key]
        for option in cls.declaration.all_options
        if option.for_client and options.get(option.key) not in (None, "", [], {})
    }
    return cls(async_get_clientsession(hass), config, options=client_options)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, once for every account."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: PbxConfigEntry) -> bool:
    """Bring an entry of an earlier version up to this one; False for a later version."""
    if entry.version > 1 or (cls := PROVIDERS.get(entry.data.get(CONF_PROVIDER, ""))) is None:
        return False
    # 1.1 -> 1.2 (Home Assistant migrates only entries older than the flow's version).
    # The polling interval is the provider's now, not an option.
    options = {key: value for key, value in entry.options.items() if key != "scan_interval"}
    if cls.declaration.account_id_is_address and (unique_id := entry.unique_id):
        # The address was the id: give the entry its own, keeping entity ids and history.
        new_id = f"{cls.declaration.provider}_{ulid_now()}"
        await _async_rename_registry_ids(hass, entry, unique_id, new_id)
        hass.config_entries.async_update_entry(entry, unique_id=new_id)
    hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
    return True


async def _async_rename_registry_ids(
    hass: HomeAssistant, entry: PbxConfigEntry, old: str, new: str
) -> None:
    """Entity unique ids and device identifiers built from `old` are built from `new`."""

    def renamed(value: str) -> str | None:
        if value == old or value.startswith(f"{old}_"):
            return new + value[len(old) :]
        return None

    @callback
    def entity_update(entity: er.RegistryEntry) -> dict[str, Any] | None:
        unique_id = renamed(entity.unique_id)
        return {"new_unique_id": unique_id} if unique_id else None

    await er.async_migrate_entries(hass, entry.entry_id, entity_update)
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        identifiers = {
            (domain, (renamed(value) or value) if domain == DOMAIN else value)
            for domain, value in device.identifiers
        }
        if identifiers != device.identifiers:
            devices.async_update_device(device.id, new_identifiers=identifiers)


async def async_setup_entry(hass: HomeAssistant, entry: PbxConfigEntry) -> bool:
    """Set up one provider account."""
    client = create_client(hass, entry.data, entry.options)
    coordinator = PbxCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    events = PbxEventHub(hass, entry, client, coordinator)
    entry.runtime_data = PbxRuntimeData(client=client, coordinator=coordinator, events=events)
    # Agent, queue and line devices are linked to the hub by its device id.
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **hub_device_info(coordinator)
    )

    devices = DeviceSync(hass, coordinator)

    @callback
    def sync_snapshot() -> None:
        if coordinator.last_update_success:
            devices.async_sync()
            async_sync_problems(hass, entry, coordinator.data.problems)

    sync_snapshot()
    entry.async_on_unload(coordinator.async_add_listener(sync_snapshot))
    # Issues are kept current by a loaded entry only.
    entry.async_on_unload(lambda: async_delete_entry_issues(hass, entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Event entities are listening now: events derived from polling may start.
    await events.async_start()
    entry.async_on_unload(events.async_stop)
    if CONF_WEBHOOK_ID not in entry.data:  # entries made before webhooks existed
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_WEBHOOK_ID: async_generate_id()}
        )
    if client.webhook_methods:  # a provider without push never calls a webhook
        hook = PbxWebhook(hass, entry, client, events)
        hook.async_register()
        entry.async_on_unload(hook.async_unregister)
    async_start_registration(hass, entry, client, _client_for_numbers(hass, entry))
    return True


def _client_for_numbers(
    hass: HomeAssistant, entry: PbxConfigEntry
) -> Callable[[Sequence[str]], PbxClient]:
    """Makes a client of `entry` that registers webhooks on the given Telfa numbers."""

    def make(numbers: Sequence[str]) -> PbxClient:
        return create_client(hass, entry.data, {**entry.options, CONF_HOOK_NUMBERS: numbers})

    return make


async def async_unload_entry(hass: HomeAssistant, entry: PbxConfigEntry) -> bool:
    """Unload a provider account."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: PbxConfigEntry) -> None:
    """Take our webhook URL (only ours) off the provider; forget its issues and events."""
    async_delete_entry_issues(hass, entry)
    await async_unregister_at_provider(hass, entry, _client_for_numbers(hass, entry))
    await async_remove_stored_events(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: PbxConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let a user delete a device only once its agent, queue or line is gone.

    An entry that is not loaded (provider down, credentials rejected) does not know which
    objects exist: any device but the account's may go, and a current one comes back with
    its entities at the next setup.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return hub_identifier(cast(str, entry.unique_id)) not in device.identifiers
    coordinator = entry.runtime_data.coordinator
    return not device.identifiers & current_identifiers(coordinator.unique_id, coordinator.data)
