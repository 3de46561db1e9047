"""Base entities, device identifiers and the discovery of agents, queues and lines.

Two layers feed the entities. Polled entities show the coordinator's data and are
unavailable while polling fails; webhook effects change that data in between polls and
tell only the entities they concern (`signal_pushed`). Event entities are fed by webhooks
alone and stay available while polling fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import ClassVar, Final

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.models import Agent, Listing, Queue, SipKind, SipRegistration, Snapshot
from .const import DOMAIN
from .coordinator import PbxCoordinator

# The entities of the account itself, as `signal_pushed` names them.
ACCOUNT: Final = "account"
# From this many agents, queues and lines on, an account's diagnostic entities start
# disabled: thousands of them would slow Home Assistant for little use.
LARGE_ACCOUNT_OBJECTS: Final = 100
# A polled entity writes what webhooks changed at most this often: a state a person can
# follow, and bounded work on an account that takes hundreds of hooks a second. Event
# entities and bus events see every hook.
PUSHED_WRITE_SECONDS: Final = 0.05


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


def objects_of(snapshot: Snapshot, kind: ObjectKind) -> Mapping[str, object]:
    """The objects of `kind` in `snapshot` by id (no copy: O(1) to ask about one)."""
    match kind:
        case ObjectKind.AGENT:
            return snapshot.agents
        case ObjectKind.QUEUE:
            return snapshot.queues
        case ObjectKind.LINE:
            return snapshot.registrations


def object_ids(snapshot: Snapshot, kind: ObjectKind) -> set[str]:
    """Ids of the objects of `kind` in `snapshot`."""
    return set(objects_of(snapshot, kind))


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


# The listing of a snapshot that names every object of a kind (`Snapshot.complete`).
LISTING_OF: dict[ObjectKind, Listing] = {
    ObjectKind.AGENT: Listing.AGENTS,
    ObjectKind.QUEUE: Listing.QUEUES,
    ObjectKind.LINE: Listing.REGISTRATIONS,
}


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


def signal_pushed(entry_id: str, kind: str, object_id: str = "") -> str:
    """Dispatcher signal to the entities of one object (or of the `ACCOUNT`) whose data a
    webhook just changed: only they write their state."""
    return f"{DOMAIN}_pushed_{entry_id}_{kind}_{object_id}"


def is_large_account(snapshot: Snapshot) -> bool:
    """Whether an account has so many objects that its diagnostic entities start disabled."""
    count = len(snapshot.agents) + len(snapshot.queues) + len(snapshot.registrations)
    return count >= LARGE_ACCOUNT_OBJECTS


class PbxEntity(CoordinatorEntity[PbxCoordinator]):
    """An entity of a provider account, attached to the account (hub) device."""

    _attr_has_entity_name = True
    # Fed by polling: unavailable while polling fails (event entities say False).
    polled: ClassVar[bool] = True
    _pushed_write: asyncio.Handle | None = None
    _pushed_written_at = float("-inf")  # loop time of the last write after a webhook
    # What the last write by a poll or a hook showed (`_showing`); None before the first.
    _shown: tuple[object, ...] | None = None

    def __init__(self, coordinator: PbxCoordinator, key: str) -> None:
        super().__init__(coordinator)
        self.account_id = coordinator.unique_id
        self._attr_unique_id = f"{self.account_id}_{key}"
        self._attr_device_info = DeviceInfo(identifiers={hub_identifier(self.account_id)})

    @property
    def available(self) -> bool:
        return not self.polled or self.coordinator.last_update_success

    @property
    def entity_registry_enabled_default(self) -> bool:
        return super().entity_registry_enabled_default and not (
            self.entity_category is EntityCategory.DIAGNOSTIC
            and is_large_account(self.coordinator.data)
        )

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self._shown = self._showing()  # what Home Assistant writes once this returns
        if self.polled:
            self.async_on_remove(
                async_dispatcher_connect(self.hass, self._pushed_signal(), self._async_pushed)
            )
            self.async_on_remove(self._async_cancel_pushed_write)

    @callback
    def _async_pushed(self) -> None:
        """Webhooks changed this entity's data: write the state soon, at most once a
        `PUSHED_WRITE_SECONDS`.

        A hook after a quiet spell is written at once; the hooks of a busy account that
        follow within the interval cost one write together, not one each.
        """
        if self._pushed_write is not None:
            return
        loop = self.hass.loop
        if loop.time() >= self._pushed_written_at + PUSHED_WRITE_SECONDS:
            self._pushed_write = loop.call_soon(self._async_write_pushed)
        else:
            self._pushed_write = loop.call_at(
                self._pushed_written_at + PUSHED_WRITE_SECONDS, self._async_write_pushed
            )

    @callback
    def _async_write_pushed(self) -> None:
        self._pushed_write = None
        self._pushed_written_at = self.hass.loop.time()
        self._async_write_if_changed()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._async_write_if_changed()

    @callback
    def _async_write_if_changed(self) -> None:
        """Write the state if what the entity shows changed. Most hooks change one or two
        of an object's entities (the partner of a call, not the agent's status), and most
        polls of a large account change few of its thousands of entities."""
        shown = self._showing()
        if shown != self._shown:
            self.async_write_ha_state()
            self._shown = shown

    def _showing(self) -> tuple[object, ...]:
        """What a state write would show that polls and hooks can change."""
        if not self.available:
            return ()
        return (
            self.state,
            self.extra_state_attributes,
            self.capability_attributes,  # a select's options, say
            self.unit_of_measurement,  # a balance's currency
        )

    @callback
    def _async_cancel_pushed_write(self) -> None:
        if self._pushed_write is not None:
            self._pushed_write.cancel()
            self._pushed_write = None

    def _pushed_signal(self) -> str:
        return signal_pushed(self.coordinator.config_entry.entry_id, ACCOUNT)


class PbxObjectEntity(PbxEntity):
    """An entity of one agent, queue or line; unavailable while the object is gone."""

    kind: ObjectKind

    def __init__(self, coordinator: PbxCoordinator, object_id: str, key: str) -> None:
        super().__init__(coordinator, f"{self.kind}_{object_id}_{key}")
        self.object_id = object_id
        self._attr_device_info = object_device_info(coordinator, self.kind, object_id)

    @property
    def available(self) -> bool:
        return super().available and self.object_id in objects_of(self.coordinator.data, self.kind)

    def _pushed_signal(self) -> str:
        return signal_pushed(self.coordinator.config_entry.entry_id, self.kind, self.object_id)


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
    device (and with it its entities) is removed by the integration's setup. The entry's
    `EntityQueue` adds them a batch at a time, so a large account never holds the loop long.
    """
    known: dict[ObjectKind, set[str]] = {kind: set() for kind in factories}

    def maker(kind: ObjectKind, object_id: str) -> Callable[[], Iterable[Entity]]:
        def make() -> Iterable[Entity]:
            if object_id not in objects_of(coordinator.data, kind):
                return ()  # gone again while earlier batches were added
            return factories[kind](object_id)

        return make

    @callback
    def add_new_objects() -> None:
        if not coordinator.last_update_success:
            return
        makers: list[Callable[[], Iterable[Entity]]] = []
        for kind in factories:
            current = object_ids(coordinator.data, kind)
            makers.extend(maker(kind, object_id) for object_id in sorted(current - known[kind]))
            known[kind] = current
        coordinator.entity_queue.add(async_add_entities, makers)

    add_new_objects()
    coordinator.config_entry.async_on_unload(coordinator.async_add_listener(add_new_objects))


class DeviceSync:
    """Keeps the devices of an entry in line with the objects its snapshots list.

    The registry is touched only when the objects or their names change: a poll that
    brings the same agents, queues and lines (the usual case) costs no registry call.
    """

    def __init__(self, hass: HomeAssistant, coordinator: PbxCoordinator) -> None:
        self.hass = hass
        self.coordinator = coordinator
        self._synced: tuple[dict[tuple[ObjectKind, str], str], frozenset[Listing]] | None = None

    @callback
    def async_sync(self) -> None:
        """Update names of present objects and remove the devices of vanished ones."""
        if not self.coordinator.last_update_success:
            return
        snapshot = self.coordinator.data
        objects = {
            (kind, object_id): name
            for kind in ObjectKind
            for object_id, name in _object_names(snapshot, kind)
        }
        # What removal depends on, too: a listing that became complete may remove devices.
        synced = (objects, snapshot.complete)
        if synced == self._synced:
            return
        self._synced = synced
        entry_id = self.coordinator.config_entry.entry_id
        registry = dr.async_get(self.hass)
        for kind, object_id in objects:
            info = object_device_info(self.coordinator, kind, object_id)
            (identifier,) = info["identifiers"]
            device = registry.async_get_device_by_identifier(identifier, entry_id)
            if device is not None and (device.name, device.model) != (
                info.get("name"),
                info.get("model"),
            ):
                registry.async_get_or_create(config_entry_id=entry_id, **info)
        hub = hub_identifier(self.coordinator.unique_id)
        for device in dr.async_entries_for_config_entry(registry, entry_id):
            if hub in device.identifiers:
                continue
            found = device_object(self.coordinator.unique_id, device.identifiers)
            # Absent from a listing of only some objects (logged-in agents, say) is not gone:
            # only the provider's full listing of that kind removes a device.
            if found is None or (
                LISTING_OF[found[0]] in snapshot.complete and found not in objects
            ):
                registry.async_remove_device(device.id)


def _object_names(snapshot: Snapshot, kind: ObjectKind) -> Iterable[tuple[str, str]]:
    match kind:
        case ObjectKind.AGENT:
            return ((agent_id, agent.name) for agent_id, agent in snapshot.agents.items())
        case ObjectKind.QUEUE:
            return ((queue_id, queue.name) for queue_id, queue in snapshot.queues.items())
        case ObjectKind.LINE:
            return ((line_id, line.name) for line_id, line in snapshot.registrations.items())
