"""Binary sensors: whether each SIP line or trunk is registered."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import PbxConfigEntry, PbxCoordinator
from .entity import ObjectKind, PbxLineEntity, async_add_object_entities

# Read-only: the coordinator does all the fetching.
PARALLEL_UPDATES = 0

REGISTERED = BinarySensorEntityDescription(
    key="registered",
    translation_key="registered",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up a registration sensor for every SIP line and trunk."""
    coordinator = entry.runtime_data.coordinator
    async_add_object_entities(
        coordinator,
        async_add_entities,
        {ObjectKind.LINE: lambda line_id: [PbxRegisteredSensor(coordinator, line_id)]},
    )


class PbxRegisteredSensor(PbxLineEntity, BinarySensorEntity):
    """On while the line or trunk is registered."""

    entity_description = REGISTERED

    def __init__(self, coordinator: PbxCoordinator, registration_id: str) -> None:
        super().__init__(coordinator, registration_id, REGISTERED.key)

    @property
    def is_on(self) -> bool | None:
        return self.registration.registered
