"""Switches: an agent's login and pause, where the provider can change them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import PbxClient
from .api.models import Agent, Capability
from .coordinator import PbxConfigEntry, PbxCoordinator
from .entity import ObjectKind, PbxAgentEntity, async_add_object_entities
from .helpers import pbx_action_errors

# One agent change at a time: providers serialize them anyway and some rate-limit.
PARALLEL_UPDATES = 1

type AgentAction = Callable[[PbxClient, str], Coroutine[Any, Any, None]]


@dataclass(frozen=True, kw_only=True)
class PbxAgentSwitchDescription(SwitchEntityDescription):
    """An agent switch and the client calls behind it."""

    capability: Capability
    is_on_fn: Callable[[Agent], bool | None]
    turn_on_fn: AgentAction
    turn_off_fn: AgentAction


AGENT_SWITCHES: tuple[PbxAgentSwitchDescription, ...] = (
    PbxAgentSwitchDescription(
        key="logged_in",
        translation_key="logged_in",
        capability=Capability.AGENT_LOGIN,
        is_on_fn=lambda agent: agent.logged_in,
        turn_on_fn=lambda client, agent_id: client.async_agent_login(agent_id),
        turn_off_fn=lambda client, agent_id: client.async_agent_logout(agent_id),
    ),
    PbxAgentSwitchDescription(
        key="paused",
        translation_key="paused",
        capability=Capability.AGENT_PAUSE,
        is_on_fn=lambda agent: agent.paused,
        turn_on_fn=lambda client, agent_id: client.async_agent_pause(agent_id),
        turn_off_fn=lambda client, agent_id: client.async_agent_unpause(agent_id),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the agent switches the provider supports."""
    coordinator = entry.runtime_data.coordinator
    descriptions = [d for d in AGENT_SWITCHES if coordinator.client.supports(d.capability)]
    if not descriptions:
        return
    async_add_object_entities(
        coordinator,
        async_add_entities,
        {
            ObjectKind.AGENT: lambda agent_id: [
                PbxAgentSwitch(coordinator, agent_id, description) for description in descriptions
            ]
        },
    )


class PbxAgentSwitch(PbxAgentEntity, SwitchEntity):
    """Log an agent in or out, or pause them."""

    entity_description: PbxAgentSwitchDescription

    def __init__(
        self, coordinator: PbxCoordinator, agent_id: str, description: PbxAgentSwitchDescription
    ) -> None:
        super().__init__(coordinator, agent_id, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool | None:
        return self.entity_description.is_on_fn(self.agent)

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._async_change(self.entity_description.turn_on_fn)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._async_change(self.entity_description.turn_off_fn)

    @pbx_action_errors
    async def _async_change(self, action: AgentAction) -> None:
        await action(self.coordinator.client, self.object_id)
        await self.coordinator.async_request_refresh()
