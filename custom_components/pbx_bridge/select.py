"""Select: an agent's pause reason, where the provider has named pauses."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.models import Capability
from .coordinator import PbxConfigEntry, PbxCoordinator
from .entity import ObjectKind, PbxAgentEntity, async_add_object_entities
from .helpers import pbx_action_errors

# One agent change at a time: providers serialize them anyway and some rate-limit.
PARALLEL_UPDATES = 1

PAUSE_REASON = SelectEntityDescription(key="pause_reason", translation_key="pause_reason")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up a pause reason select for every agent where pauses have names."""
    coordinator = entry.runtime_data.coordinator
    if not coordinator.client.supports(Capability.PAUSE_REASONS):
        return
    async_add_object_entities(
        coordinator,
        async_add_entities,
        {ObjectKind.AGENT: lambda agent_id: [PbxPauseReasonSelect(coordinator, agent_id)]},
    )


class PbxPauseReasonSelect(PbxAgentEntity, SelectEntity):
    """The reason an agent is paused for; choosing one pauses the agent with it."""

    entity_description = PAUSE_REASON

    def __init__(self, coordinator: PbxCoordinator, agent_id: str) -> None:
        super().__init__(coordinator, agent_id, PAUSE_REASON.key)

    @property
    def options(self) -> list[str]:
        return list(self.coordinator.data.pause_reasons)

    @property
    def current_option(self) -> str | None:
        agent = self.agent
        return agent.pause_reason if agent.paused else None

    @pbx_action_errors
    async def async_select_option(self, option: str) -> None:
        await self.coordinator.client.async_agent_pause(self.object_id, option)
        await self.coordinator.async_request_refresh()
