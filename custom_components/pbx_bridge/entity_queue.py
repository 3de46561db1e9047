"""Adds the entities of an entry's agents, queues and lines a batch at a time.

Home Assistant adds the entities of one `async_add_entities` call in one go, without
letting the event loop run. An account of thousands of agents and lines has thousands of
entities on several platforms; added per platform at once, they would hold the loop for
seconds. One queue per entry, shared by its platforms, adds `BATCH_SIZE` entities and then
lets the loop run, so no step of a large account's setup holds it long.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

# Entities added before the loop runs again: tens of milliseconds of Home Assistant's
# registry and state work, whatever the platform.
BATCH_SIZE: Final = 50


class EntityQueue:
    """Makes and adds entities in batches, in the order they were asked for."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        # What to add: the platform's callback and a maker of the entities, which returns
        # none when its object has gone again meanwhile.
        self._pending: deque[
            tuple[AddConfigEntryEntitiesCallback, Callable[[], Iterable[Entity]]]
        ] = deque()
        self._adding: asyncio.Task[None] | None = None

    @callback
    def add(
        self,
        add_entities: AddConfigEntryEntitiesCallback,
        makers: Iterable[Callable[[], Iterable[Entity]]],
    ) -> None:
        """Add the entities `makers` make, on the platform of `add_entities`, soon."""
        self._pending.extend((add_entities, make) for make in makers)
        if self._pending and self._adding is None:
            self._adding = self.entry.async_create_task(
                self.hass, self._async_add_pending(), f"{DOMAIN} add entities"
            )

    async def _async_add_pending(self) -> None:
        try:
            while self._pending:
                self._add_batch()
                await asyncio.sleep(0)
        finally:
            self._adding = None

    def _add_batch(self) -> None:
        batches: dict[AddConfigEntryEntitiesCallback, list[Entity]] = {}
        made = 0
        while self._pending and made < BATCH_SIZE:
            add_entities, make = self._pending.popleft()
            entities = list(make())
            batches.setdefault(add_entities, []).extend(entities)
            made += len(entities)
        for add_entities, entities in batches.items():
            if entities:
                add_entities(entities)
