"""The coordinator: one snapshot of a provider account per refresh; the typed entry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .api import PbxClient
from .api.errors import PbxError, PbxPermissionError
from .api.models import Snapshot, WebhookItem
from .const import LOGGER
from .entity_queue import EntityQueue
from .errors import permission_of, translate_update_error
from .repairs import ORIGIN_REFRESH, async_permission_granted, async_permission_refused


class PbxEventIntake(Protocol):
    """Where an account's webhook items go: the event hub, as the entry holds it.

    A protocol, so that this module needs none of the event modules (they need it).
    """

    @callback
    def async_process(self, items: Iterable[WebhookItem]) -> None:
        """Handle the events of one webhook delivery."""


@dataclass
class PbxRuntimeData:
    """What a loaded entry holds."""

    client: PbxClient
    coordinator: PbxCoordinator
    events: PbxEventIntake


type PbxConfigEntry = ConfigEntry[PbxRuntimeData]


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
        # Shared by the entry's platforms: their object entities are added in turn.
        self.entity_queue = EntityQueue(hass, entry)

    async def _async_update_data(self) -> Snapshot:
        """The snapshot; auth errors start reauth, a missing permission is a repair issue."""
        try:
            snapshot = await self.client.async_fetch_snapshot()
        except PbxError as err:
            if isinstance(err, PbxPermissionError):
                async_permission_refused(
                    self.hass, self.config_entry, ORIGIN_REFRESH, permission_of(err)
                )
            raise translate_update_error(err, self.client.title) from err
        async_permission_granted(self.hass, self.config_entry, ORIGIN_REFRESH)
        return snapshot
