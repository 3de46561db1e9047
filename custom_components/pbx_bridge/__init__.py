"""PBX Bridge: Telfa, Daktela, Odorik, Yemot and VoIPSUN phone systems in Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import PbxClient, client_class
from .const import CONF_PROVIDER

PLATFORMS: list[Platform] = []


@dataclass
class PbxRuntimeData:
    """What a loaded entry holds."""

    client: PbxClient


type PbxConfigEntry = ConfigEntry[PbxRuntimeData]


async def async_setup_entry(hass: HomeAssistant, entry: PbxConfigEntry) -> bool:
    """Set up one provider account."""
    client = client_class(entry.data[CONF_PROVIDER])(
        async_get_clientsession(hass), {k: str(v) for k, v in entry.data.items()}
    )
    entry.runtime_data = PbxRuntimeData(client=client)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PbxConfigEntry) -> bool:
    """Unload a provider account."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
