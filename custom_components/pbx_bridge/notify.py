"""SMS as notify entities: one per recipient in the options, for `notify.send_message`."""

from __future__ import annotations

import logging

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import DOMAIN as NOTIFY_DOMAIN, NotifyEntityFeature
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
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
    """Add a notify entity for each SMS recipient of the account, forget removed ones."""
    client = entry.runtime_data.client
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
    if not client.supports(Capability.SEND_SMS):
        numbers = []
    _async_remove_former_recipients(hass, entry, numbers)
    async_add_entities(PbxSmsNotifyEntity(entry, number) for number in numbers)


def _unique_id(entry: PbxConfigEntry, number: str) -> str:
    return f"{entry.runtime_data.coordinator.unique_id}_sms_{number}"


@callback
def _async_remove_former_recipients(
    hass: HomeAssistant, entry: PbxConfigEntry, numbers: list[str]
) -> None:
    """Take the entities of recipients no longer in the options out of the registry.

    Otherwise they would stay as "unavailable, no longer provided" for ever.
    """
    registry = er.async_get(hass)
    prefix = _unique_id(entry, "")
    wanted = {_unique_id(entry, number) for number in numbers}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if (
            entity.domain == NOTIFY_DOMAIN
            and entity.unique_id.startswith(prefix)
            and entity.unique_id not in wanted
        ):
            registry.async_remove(entity.entity_id)


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
        self._attr_unique_id = _unique_id(entry, number)
        self._attr_translation_placeholders = {"recipient": number}
        self._attr_device_info = DeviceInfo(identifiers={hub_identifier(unique_id)})

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send `message` (after `title`, if given) as one SMS."""
        text = f"{title}\n{message}" if title else message
        await async_send_sms(self.hass, self._entry, (self._number,), text, None)
