"""SMS as notify entities: one per recipient in the options, for `notify.send_message`."""

from __future__ import annotations

import logging

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import NotifyEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.errors import PbxInvalidInput
from .api.models import Capability
from .api.numbers import normalize_number
from .const import CONF_SMS_RECIPIENTS
from .coordinator import PbxConfigEntry
from .entity import hub_identifier
from .services import async_send_sms

_LOGGER = logging.getLogger(__name__)

# Each message is one SMS request; sending them one after another keeps the order.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity for each SMS recipient of the account."""
    client = entry.runtime_data.client
    if not client.supports(Capability.SEND_SMS):
        return
    numbers: list[str] = []
    for raw in entry.options.get(CONF_SMS_RECIPIENTS, []):
        try:
            number = normalize_number(raw, client.default_country_code)
        except PbxInvalidInput:
            # The options form validates recipients; this guards entries stored before that.
            _LOGGER.warning(
                "Skipping an SMS recipient of %s that is not a phone number", entry.title
            )
            continue
        if number not in numbers:
            numbers.append(number)
    async_add_entities(PbxSmsNotifyEntity(entry, number) for number in numbers)


class PbxSmsNotifyEntity(NotifyEntity):
    """Sends each notification as an SMS to one recipient."""

    _attr_has_entity_name = True
    _attr_translation_key = "sms"
    # SMS have no title: a title becomes the first line of the text.
    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(self, entry: PbxConfigEntry, number: str) -> None:
        self._entry = entry
        self._number = number
        unique_id = entry.runtime_data.coordinator.unique_id
        self._attr_unique_id = f"{unique_id}_sms_{number}"
        self._attr_translation_placeholders = {"recipient": number}
        self._attr_device_info = DeviceInfo(identifiers={hub_identifier(unique_id)})

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send `message` (after `title`, if given) as one SMS."""
        text = f"{title}\n{message}" if title else message
        await async_send_sms(self.hass, self._entry, (self._number,), text, None)
