"""Sensors of an account, its agents, queues and SIP lines."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import MAX_LENGTH_STATE_STATE, PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.models import (
    Agent,
    AgentState,
    CallState,
    Capability,
    Queue,
    SipRegistration,
    Snapshot,
)
from .coordinator import PbxConfigEntry, PbxCoordinator
from .entity import (
    ObjectKind,
    PbxAgentEntity,
    PbxEntity,
    PbxLineEntity,
    PbxQueueEntity,
    async_add_object_entities,
)

# Read-only: the coordinator does all the fetching.
PARALLEL_UPDATES = 0

type Capabilities = frozenset[Capability]


def _fit_state(text: str) -> str:
    """`text`, cut to the longest state Home Assistant stores (255 characters).

    Numbers and names come from the provider and from webhook requests, which anyone who
    knows the URL can send; Home Assistant refuses a longer state with an error in the log.
    The whole value stays in the event data.
    """
    if len(text) <= MAX_LENGTH_STATE_STATE:
        return text
    return text[: MAX_LENGTH_STATE_STATE - 1] + "…"


@dataclass(frozen=True, kw_only=True)
class PbxAccountSensorDescription(SensorEntityDescription):
    """An account sensor."""

    value_fn: Callable[[Snapshot], float | int | str | None]
    exists_fn: Callable[[Capabilities], bool]
    attributes_fn: Callable[[Snapshot], dict[str, Any] | None] = lambda _: None


@dataclass(frozen=True, kw_only=True)
class PbxAgentSensorDescription(SensorEntityDescription):
    """An agent sensor."""

    value_fn: Callable[[Agent], str | None]
    exists_fn: Callable[[Capabilities], bool] = lambda _: True
    attributes_fn: Callable[[Agent], Mapping[str, Any]] = lambda _: {}


@dataclass(frozen=True, kw_only=True)
class PbxQueueSensorDescription(SensorEntityDescription):
    """A queue sensor, created where the provider reports its value."""

    value_fn: Callable[[Queue], float | int | None]


@dataclass(frozen=True, kw_only=True)
class PbxLineSensorDescription(SensorEntityDescription):
    """A SIP line sensor; `provider_states`: an enum of the provider's documented values."""

    value_fn: Callable[[SipRegistration], str | None]
    provider_states: bool = False


def _waiting_calls(snapshot: Snapshot) -> int:
    """Callers waiting in a queue: from the queues where they count them, else from calls."""
    counts = [q.waiting_calls for q in snapshot.queues.values() if q.waiting_calls is not None]
    if counts:
        return sum(counts)
    return sum(call.state is CallState.QUEUED for call in snapshot.calls.values())


ACCOUNT_SENSORS: tuple[PbxAccountSensorDescription, ...] = (
    PbxAccountSensorDescription(
        key="active_calls",
        translation_key="active_calls",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda snapshot: len(snapshot.calls),
        exists_fn=lambda capabilities: Capability.ACTIVE_CALLS in capabilities,
    ),
    PbxAccountSensorDescription(
        key="calls_waiting",
        translation_key="calls_waiting",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_waiting_calls,
        exists_fn=lambda capabilities: (
            Capability.QUEUES in capabilities or Capability.ACTIVE_CALLS in capabilities
        ),
    ),
    PbxAccountSensorDescription(
        key="last_caller",
        translation_key="last_caller",
        value_fn=lambda snapshot: snapshot.last_caller,
        exists_fn=lambda capabilities: (
            Capability.ACTIVE_CALLS in capabilities or Capability.CALL_WEBHOOK in capabilities
        ),
    ),
    PbxAccountSensorDescription(
        key="missed_calls",
        translation_key="missed_calls",
        # Counts today's missed calls and starts again at midnight.
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda snapshot: snapshot.missed_calls_today,
        # Who called, where the provider lists the missed calls themselves.
        attributes_fn=lambda snapshot: (
            {"callers": list(snapshot.missed_callers)} if snapshot.missed_callers else None
        ),
        exists_fn=lambda capabilities: Capability.MISSED_CALLS in capabilities,
    ),
    PbxAccountSensorDescription(
        key="balance",
        translation_key="balance",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.balance,
        exists_fn=lambda capabilities: Capability.BALANCE in capabilities,
    ),
)

# "unavailable" and "unknown" are Home Assistant's own states: an agent whose phone the
# provider cannot reach reads "unreachable", and a state the provider does not say is none.
AGENT_STATUS_NAMES: dict[AgentState, str] = {AgentState.UNAVAILABLE: "unreachable"}


def _agent_status(state: AgentState) -> str | None:
    if state is AgentState.UNKNOWN:
        return None
    return AGENT_STATUS_NAMES.get(state, state.value)


AGENT_SENSORS: tuple[PbxAgentSensorDescription, ...] = (
    PbxAgentSensorDescription(
        key="status",
        translation_key="agent_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status for state in AgentState if (status := _agent_status(state))],
        value_fn=lambda agent: _agent_status(agent.state),
        # Where the provider says when the state began (Telfa's presence_changed_at).
        attributes_fn=lambda agent: {"since": agent.state_since} if agent.state_since else {},
    ),
    PbxAgentSensorDescription(
        key="call_partner",
        translation_key="call_partner",
        value_fn=lambda agent: agent.call_partner,
        exists_fn=lambda capabilities: (
            Capability.ACTIVE_CALLS in capabilities or Capability.CALL_WEBHOOK in capabilities
        ),
    ),
)

QUEUE_SENSORS: tuple[PbxQueueSensorDescription, ...] = (
    PbxQueueSensorDescription(
        key="waiting_calls",
        translation_key="waiting_calls",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: queue.waiting_calls,
    ),
    PbxQueueSensorDescription(
        key="longest_wait",
        translation_key="longest_wait",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        value_fn=lambda queue: queue.longest_wait,
    ),
    PbxQueueSensorDescription(
        key="average_hold_time",
        translation_key="average_hold_time",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        value_fn=lambda queue: queue.average_hold_time,
    ),
    PbxQueueSensorDescription(
        key="average_talk_time",
        translation_key="average_talk_time",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        value_fn=lambda queue: queue.average_talk_time,
    ),
    PbxQueueSensorDescription(
        key="agents_logged_in",
        translation_key="agents_logged_in",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: queue.agents_logged_in,
    ),
    PbxQueueSensorDescription(
        key="agents_ready",
        translation_key="agents_ready",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: queue.agents_ready,
    ),
    PbxQueueSensorDescription(
        key="agents_busy",
        translation_key="agents_busy",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: queue.agents_busy,
    ),
    PbxQueueSensorDescription(
        key="agents_paused",
        translation_key="agents_paused",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: queue.agents_paused,
    ),
    PbxQueueSensorDescription(
        key="completed",
        translation_key="completed_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda queue: queue.completed,
    ),
    PbxQueueSensorDescription(
        key="abandoned",
        translation_key="abandoned_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda queue: queue.abandoned,
    ),
    PbxQueueSensorDescription(
        key="service_level",
        translation_key="service_level",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda queue: queue.service_level,
    ),
)

LINE_SENSORS: tuple[PbxLineSensorDescription, ...] = (
    PbxLineSensorDescription(
        key="status",
        translation_key="line_status",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda registration: registration.status,
        provider_states=True,
    ),
    # Both change with every re-registration on some phones: off unless wanted.
    PbxLineSensorDescription(
        key="user_agent",
        translation_key="user_agent",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda registration: registration.user_agent,
    ),
    PbxLineSensorDescription(
        key="contact",
        translation_key="contact",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda registration: registration.contact,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of an account and of every agent, queue and line."""
    coordinator = entry.runtime_data.coordinator
    capabilities = coordinator.client.capabilities
    async_add_entities(
        PbxAccountSensor(coordinator, description)
        for description in ACCOUNT_SENSORS
        if description.exists_fn(capabilities)
    )
    agent_sensors = [d for d in AGENT_SENSORS if d.exists_fn(capabilities)]

    def queue_sensors(queue_id: str) -> list[PbxQueueSensor]:
        # Providers differ in what they count: a sensor only for what this one reports.
        queue = coordinator.data.queues[queue_id]
        return [
            PbxQueueSensor(coordinator, queue_id, description)
            for description in QUEUE_SENSORS
            if description.value_fn(queue) is not None
        ]

    def line_sensors(registration_id: str) -> list[PbxLineSensor]:
        registration = coordinator.data.registrations[registration_id]
        return [
            PbxLineSensor(coordinator, registration_id, description)
            for description in LINE_SENSORS
            if description.value_fn(registration) is not None
        ]

    async_add_object_entities(
        coordinator,
        async_add_entities,
        {
            ObjectKind.AGENT: lambda agent_id: [
                PbxAgentSensor(coordinator, agent_id, description) for description in agent_sensors
            ],
            ObjectKind.QUEUE: queue_sensors,
            ObjectKind.LINE: line_sensors,
        },
    )


class PbxAccountSensor(PbxEntity, SensorEntity):
    """A sensor of the whole account."""

    entity_description: PbxAccountSensorDescription

    def __init__(
        self, coordinator: PbxCoordinator, description: PbxAccountSensorDescription
    ) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description
        if description.device_class is SensorDeviceClass.MONETARY:
            self._attr_native_unit_of_measurement = coordinator.client.declaration.balance_currency

    @property
    def native_value(self) -> float | int | str | None:
        value = self.entity_description.value_fn(self.coordinator.data)
        return _fit_state(value) if isinstance(value, str) else value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        return self.entity_description.attributes_fn(self.coordinator.data)


class PbxAgentSensor(PbxAgentEntity, SensorEntity):
    """A sensor of an agent."""

    entity_description: PbxAgentSensorDescription

    def __init__(
        self, coordinator: PbxCoordinator, agent_id: str, description: PbxAgentSensorDescription
    ) -> None:
        super().__init__(coordinator, agent_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> str | None:
        value = self.entity_description.value_fn(self.agent)
        return None if value is None else _fit_state(value)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        return self.entity_description.attributes_fn(self.agent) or None


class PbxQueueSensor(PbxQueueEntity, SensorEntity):
    """A sensor of a queue."""

    entity_description: PbxQueueSensorDescription

    def __init__(
        self, coordinator: PbxCoordinator, queue_id: str, description: PbxQueueSensorDescription
    ) -> None:
        super().__init__(coordinator, queue_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> float | int | None:
        return self.entity_description.value_fn(self.queue)


class PbxLineSensor(PbxLineEntity, SensorEntity):
    """A diagnostic sensor of a SIP line or trunk."""

    entity_description: PbxLineSensorDescription

    def __init__(
        self,
        coordinator: PbxCoordinator,
        registration_id: str,
        description: PbxLineSensorDescription,
    ) -> None:
        super().__init__(coordinator, registration_id, description.key)
        self.entity_description = description
        # Where the provider documents the values, they are states (translated), not text.
        self._states: Mapping[str, str] = {}
        if description.provider_states:
            declared = coordinator.client.declaration.line_states
            self._states = {value.casefold(): state for value, state in declared.items()}
        if self._states:
            self._attr_device_class = SensorDeviceClass.ENUM
            self._attr_options = sorted(set(self._states.values()))

    @property
    def native_value(self) -> str | None:
        value = self.entity_description.value_fn(self.registration)
        if value is None:
            return None
        if self._states:
            # "OK (35 ms)" is OK; a value the documentation does not name has no state.
            words = value.split(maxsplit=1)
            return self._states.get(words[0].casefold()) if words else None
        return _fit_state(value)
