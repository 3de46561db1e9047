"""The coordinator: one snapshot of a provider account per refresh."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .api import PbxClient
from .api.models import Snapshot
from .const import LOGGER
from .helpers import pbx_update_errors

if TYPE_CHECKING:
    from . import PbxConfigEntry


class PbxCoordinator(DataUpdateCoordinator[Snapshot]):
    """Polls `async_fetch_snapshot` on a schedule that webhooks never move.

    Webhook effects are laid over the polled data by the event hub's `PushOverlay` until
    the next poll replaces them; they never go through `async_set_updated_data`.
    """

    config_entry: PbxConfigEntry

    def __init__(self, hass: HomeAssistant, entry: PbxConfigEntry, client: PbxClient) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{client.title} {entry.title}",
            # Fits the provider's API cost and push (homeassistant.update_entity refreshes now).
            update_interval=client.declaration.poll_interval,
            # Snapshots are frozen dataclasses: an unchanged poll wakes no entity.
            always_update=False,
        )
        self.client = client
        # The config flow always sets it: the provider's stable account id.
        self.unique_id = cast(str, entry.unique_id)

    @pbx_update_errors
    async def _async_update_data(self) -> Snapshot:
        return await self.client.async_fetch_snapshot()
