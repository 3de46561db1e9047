"""Device triggers: calls and SMS of the account, calls of an agent or a line."""

from __future__ import annotations

from typing import Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import probatio

from .api.models import CallEventType
from .const import DOMAIN
from .entity import ObjectKind, hub_identifier, object_identifier
from .events import (
    ATTR_AGENT,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_LINE,
    ATTR_TYPE,
    EVENT_CALL,
    EVENT_SMS,
    SMS_RECEIVED,
)

# Trigger type -> (bus event, event type).
CALL_TRIGGERS: Final = {
    "incoming_call": CallEventType.INCOMING.value,
    "call_answered": CallEventType.ANSWERED.value,
    "call_ended": CallEventType.HANGUP.value,
    "missed_call": CallEventType.MISSED.value,
    "outgoing_call": CallEventType.OUTGOING.value,
}
SMS_TRIGGERS: Final = {"sms_received": SMS_RECEIVED}
TRIGGER_TYPES: Final = (*CALL_TRIGGERS, *SMS_TRIGGERS)

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        probatio.Required(CONF_DOMAIN): DOMAIN,
        probatio.Required(CONF_DEVICE_ID): str,
        probatio.Required(CONF_TYPE): probatio.In(TRIGGER_TYPES),
    }
)


def _device_target(hass: HomeAssistant, device_id: str) -> tuple[str, ObjectKind | None, str]:
    """The entry id, kind (None: the account) and object id a device of ours stands for."""
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for entry_id in device.config_entries:
            entry = hass.config_entries.async_get_entry(entry_id)
            if entry is None or entry.domain != DOMAIN or entry.unique_id is None:
                continue
            if hub_identifier(entry.unique_id) in device.identifiers:
                return entry.entry_id, None, ""
            for kind in (ObjectKind.AGENT, ObjectKind.LINE):
                prefix = object_identifier(entry.unique_id, kind, "")
                for identifier in device.identifiers:
                    if identifier[0] == DOMAIN and identifier[1].startswith(prefix[1]):
                        return entry.entry_id, kind, identifier[1].removeprefix(prefix[1])
    raise InvalidDeviceAutomationConfig(f"Device {device_id} has no PBX Bridge triggers")


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """The triggers of the account, an agent or a line device (none for queues)."""
    try:
        _, kind, _ = _device_target(hass, device_id)
    except InvalidDeviceAutomationConfig:
        return []
    types = TRIGGER_TYPES if kind is None else tuple(CALL_TRIGGERS)
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in types
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the bus event a trigger stands for, on its account, agent or line."""
    entry_id, kind, object_id = _device_target(hass, config[CONF_DEVICE_ID])
    trigger_type: str = config[CONF_TYPE]
    if trigger_type in SMS_TRIGGERS:
        bus_event, event_type = EVENT_SMS, SMS_TRIGGERS[trigger_type]
    else:
        bus_event, event_type = EVENT_CALL, CALL_TRIGGERS[trigger_type]
    event_data = {ATTR_CONFIG_ENTRY_ID: entry_id, ATTR_TYPE: event_type}
    if kind is ObjectKind.AGENT:
        event_data[ATTR_AGENT] = object_id
    elif kind is ObjectKind.LINE:
        event_data[ATTR_LINE] = object_id
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: bus_event,
            CONF_EVENT_DATA: event_data,
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
