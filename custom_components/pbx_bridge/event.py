"""Event entities: the account's calls and SMS, and the calls of each agent and line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.models import Capability
from .coordinator import PbxCoordinator
from .entity import (
    ObjectKind,
    PbxAgentEntity,
    PbxEntity,
    PbxLineEntity,
    PbxObjectEntity,
    async_add_object_entities,
    is_large_account,
)
from .events import (
    CALL_EVENT_TYPES,
    EVENT_CALL,
    EVENT_SMS,
    SMS_EVENT_TYPES,
    FiredEvent,
    signal_event,
)

if TYPE_CHECKING:
    from .coordinator import PbxConfigEntry

# Entities only react to dispatcher signals; nothing to poll or to limit.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's event entities and those of every agent and line."""
    coordinator = entry.runtime_data.coordinator
    client = coordinator.client
    # Calls are reported by webhooks, or derived from the active calls that are polled.
    reports_calls = client.supports(Capability.CALL_WEBHOOK) or client.supports(
        Capability.ACTIVE_CALLS
    )
    entities: list[EventEntity] = []
    if reports_calls:
        entities.append(PbxAccountCallEvent(coordinator))
    if client.supports(Capability.SMS_WEBHOOK) or client.supports(Capability.SMS_POLLING):
        entities.append(PbxAccountSmsEvent(coordinator))
    async_add_entities(entities)
    if reports_calls:
        async_add_object_entities(
            coordinator,
            async_add_entities,
            {
                ObjectKind.AGENT: lambda agent_id: [PbxAgentCallEvent(coordinator, agent_id)],
                ObjectKind.LINE: lambda line_id: [PbxLineCallEvent(coordinator, line_id)],
            },
        )


class _PbxEventMixin(EventEntity):
    """Shows the events its dispatcher signal carries.

    Fed by webhooks (or by polling differences): available while polling fails.
    """

    coordinator: PbxCoordinator
    polled = False
    _bus_event: str  # of an account's entity: the bus event whose events it shows

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                self._event_signal(),
                self._async_handle_event,
            )
        )

    def _event_signal(self) -> str:
        return signal_event(self.coordinator.config_entry.entry_id, self._bus_event)

    def _showing(self) -> tuple[object, ...]:
        """A poll changes only whether the entity is available (its object may be gone):
        the events themselves are written as they come."""
        return (self.available,)

    @callback
    def _async_handle_event(self, fired: FiredEvent) -> None:
        if fired.event_type not in self.event_types:
            return
        self._trigger_event(fired.event_type, fired.details)
        self.async_set_context(fired.context)
        self.async_write_ha_state()


class PbxAccountCallEvent(_PbxEventMixin, PbxEntity):
    """Every call event of the account."""

    _attr_translation_key = "calls"
    _bus_event = EVENT_CALL

    def __init__(self, coordinator: PbxCoordinator) -> None:
        super().__init__(coordinator, "call_events")
        self._attr_event_types = list(CALL_EVENT_TYPES)


class PbxAccountSmsEvent(_PbxEventMixin, PbxEntity):
    """Every SMS the account receives."""

    _attr_translation_key = "sms"
    _bus_event = EVENT_SMS

    def __init__(self, coordinator: PbxCoordinator) -> None:
        super().__init__(coordinator, "sms_events")
        self._attr_event_types = list(SMS_EVENT_TYPES)


class _PbxObjectEventMixin(_PbxEventMixin, PbxObjectEntity):
    """The call events that name one agent or line.

    Disabled at first on a large account: thousands of them would each write a state per
    call, while the account's Calls entity and the device triggers (bus events, with the
    agent's or line's device) see every call. A user enables the ones they want.
    """

    def __init__(self, coordinator: PbxCoordinator, object_id: str) -> None:
        super().__init__(coordinator, object_id, "call_events")
        self._attr_event_types = list(CALL_EVENT_TYPES)

    @property
    def entity_registry_enabled_default(self) -> bool:
        return super().entity_registry_enabled_default and not is_large_account(
            self.coordinator.data
        )

    def _event_signal(self) -> str:
        return signal_event(self.coordinator.config_entry.entry_id, self.kind, self.object_id)


class PbxAgentCallEvent(_PbxObjectEventMixin, PbxAgentEntity):
    """The call events that name one agent."""

    _attr_translation_key = "agent_calls"


class PbxLineCallEvent(_PbxObjectEventMixin, PbxLineEntity):
    """The call events that name one SIP line or trunk."""

    _attr_translation_key = "line_calls"
