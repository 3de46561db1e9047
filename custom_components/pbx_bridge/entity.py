"""Base entities, device identifiers and the discovery of agents, queues and lines."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.models import Agent, Queue, SipKind, SipRegistration, Snapshot
from .const import DOMAIN
from .coordinator import PbxCoordinator


class ObjectKind(StrEnum):
    """The kinds of objects of an account that get their own device."""

    AGENT = "agent"
    QUEUE = "queue"
    LINE = "line"


def hub_identifier(unique_id: str) -> tuple[str, str]:
    """Device registry identifier of the account (hub) device."""
    return (DOMAIN, unique_id)


def object_identifier(unique_id: str, kind: ObjectKind, object_id: str) -> tuple[str, str]:
    """Device registry identifier of an agent, queue or line device."""
    return (DOMAIN, f"{unique_id}_{kind}_{object_id}")


def agent_identifier(unique_id: str, agent_id: str) -> tuple[str, str]:
    """Device registry identifier of an agent device."""
    return object_identifier(unique_id, ObjectKind.AGENT, agent_id)


def queue_identifier(unique_id: str, queue_id: str) -> tuple[str, str]:
    """Device registry identifier of a queue device."""
    return object_identifier(unique_id, ObjectKind.QUEUE, queue_id)


def line_identifier(unique_id: str, registration_id: str) -> tuple[str, str]:
    """Device registry identifier of a SIP line or trunk device."""
    return object_identifier(unique_id, ObjectKind.LINE, registration_id)


def object_ids(snapshot: Snapshot, kind: ObjectKind) -> set[str]:
    """Ids of the objects of `kind` in `snapshot`."""
    match kind:
        case ObjectKind.AGENT:
            return set(snapshot.agents)
        case ObjectKind.QUEUE:
            return set(snapshot.queues)
        case ObjectKind.LINE:
            return set(snapshot.registrations)


def current_identifiers(unique_id: str, snapshot: Snapshot) -> set[tuple[str, str]]:
    """Identifiers of every device `snapshot` calls for, the hub included."""
    return {hub_identifier(unique_id)} | {
        object_identifier(unique_id, kind, object_id)
        for kind in ObjectKind
        for object_id in object_ids(snapshot, kind)
    }


def device_object(
    unique_id: str, identifiers: Iterable[tuple[str, str]]
) -> tuple[ObjectKind, str] | None:
    """The kind and id of the object whose device has `identifiers` (None: the hub's)."""
    for domain, value in identifiers:
        if domain != DOMAIN:
            continue
        for kind in ObjectKind:
            prefix = object_identifier(unique_id, kind, "")[1]
            if value.startswith(prefix):
                return kind, value.removeprefix(prefix)
    return None


# Device models by the kind of object; `model_id`s are what action selectors filter on.
MODEL_ACCOUNT = ("Account", "account")
MODEL_AGENT = ("Agent", "agent")
MODEL_QUEUE = ("Queue", "queue")
MODEL_SIP_EXTENSION = ("SIP extension", "sip_extension")
MODEL_SIP_TRUNK = ("SIP trunk", "sip_trunk")


def hub_device_info(coordinator: PbxCoordinator) -> DeviceInfo:
    """The account (hub) device: a cloud service, or the phone system on the premises.

    No serial number: the account id is no device's serial, and an on-premises system's is
    its address, which the user can change.
    """
    client = coordinator.client
    declaration = client.declaration
    model, model_id = MODEL_ACCOUNT
    return DeviceInfo(
        identifiers={hub_identifier(coordinator.unique_id)},
        manufacturer=client.title,
        name=coordinator.data.account.name,
        model=model,
        model_id=model_id,
        entry_type=None if declaration.on_premises else dr.DeviceEntryType.SERVICE,
        configuration_url=client.admin_url,
    )


def object_device_info(coordinator: PbxCoordinator, kind: ObjectKind, object_id: str) -> DeviceInfo:
    """The device of an agent, queue or line, linked to the hub."""
    snapshot = coordinator.data
    unique_id = coordinator.unique_id
    name: str
    model: tuple[str, str]
    match kind:
        case ObjectKind.AGENT:
            name, model = snapshot.agents[object_id].name, MODEL_AGENT
        case ObjectKind.QUEUE:
            name, model = snapshot.queues[object_id].name, MODEL_QUEUE
        case ObjectKind.LINE:
            registration = snapshot.registrations[object_id]
            name = registration.name
            model = MODEL_SIP_TRUNK if registration.kind is SipKind.TRUNK else MODEL_SIP_EXTENSION
    return DeviceInfo(
        identifiers={object_identifier(unique_id, kind, object_id)},
        manufacturer=coordinator.client.title,
        name=name,
        model=model[0],
        model_id=model[1],
        # The hub device exists before any entity: the integration's setup creates it.
        via_device_id=dr.async_get_device_id_by_identifier(
            coordinator.hass,
            hub_identifier(unique_id),
            config_entry_id=coordinator.config_entry.entry_id,
        ),
    )


class PbxEntity(CoordinatorEntity[PbxCoordinator]):
    """An entity of a provider account, attached to the account (hub) device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: PbxCoordinator, key: str) -> None:
        super().__init__(coordinator)
        self.account_id = coordinator.unique_id
        self._attr_unique_id = f"{self.account_id}_{key}"
        self._attr_device_info = DeviceInfo(identifiers={hub_identifier(self.account_id)})


class PbxObjectEntity(PbxEntity):
    """An entity of one agent, queue or line; unavailable while the object is gone."""

    kind: ObjectKind

    def __init__(self, coordinator: PbxCoordinator, object_id: str, key: str) -> None:
        super().__init__(coordinator, f"{self.kind}_{object_id}_{key}")
        self.object_id = object_id
        self._attr_device_info = object_device_info(coordinator, self.kind, object_id)

    @property
    def available(self) -> bool:
        return super().available and self.object_id in object_ids(self.coordinator.data, self.kind)


class PbxAgentEntity(PbxObjectEntity):
    """An entity of an agent."""

    kind = ObjectKind.AGENT

    @property
    def agent(self) -> Agent:
        return self.coordinator.data.agents[self.object_id]


class PbxQueueEntity(PbxObjectEntity):
    """An entity of a queue."""

    kind = ObjectKind.QUEUE

    @property
    def queue(self) -> Queue:
        return self.coordinator.data.queues[self.object_id]


class PbxLineEntity(PbxObjectEntity):
    """An entity of a SIP extension or trunk."""

    kind = ObjectKind.LINE

    @property
    def registration(self) -> SipRegistration:
        return self.coordinator.data.registrations[self.object_id]


type EntityFactory = Callable[[str], Iterable[Entity]]


@callback
def async_add_object_entities(
    coordinator: PbxCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factories: dict[ObjectKind, EntityFactory],
) -> None:
    """Add entities for each object now and for every object that appears later.

    An object that vanishes is forgotten, so it gets entities again if it comes back; its
    device (and with it its entities) is removed by the integration's setup.
    """
    known: dict[ObjectKind, set[str]] = {kind: set() for kind in factories}

    @callback
    def add_new_objects() -> None:
        if not coordinator.last_update_success:
            return
        entities: list[Entity] = []
        for kind, factory in factories.items():
            current = object_ids(coordinator.data, kind)
            for object_id in sorted(current - known[kind]):
                entities.extend(factory(object_id))
            known[kind] = current
        if entities:
            async_add_entities(entities)

    add_new_objects()
    coordinator.config_entry.async_on_unload(coordinator.async_add_listener(add_new_objects))
