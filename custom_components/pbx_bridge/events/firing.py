"""Firing: an event becomes a bus event and a dispatcher signal to the event entities.

The bus data names the agent and line by the ids their devices use, and carries the
`device_id` of the agent, line or account device the event concerns.
"""

from __future__ import annotations

from datetime import datetime
import hashlib
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send_internal
from homeassistant.util import dt as dt_util

from ..api import PbxClient
from ..api.models import CallEvent, SmsMessage
from ..coordinator import PbxConfigEntry
from ..entity import agent_identifier, hub_identifier, line_identifier
from .const import (
    ATTR_AGENT,
    ATTR_CALL_ID,
    ATTR_CALLEE,
    ATTR_CALLER,
    ATTR_CALLER_NAME,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_DEVICE_ID,
    ATTR_DIRECTION,
    ATTR_LINE,
    ATTR_PROVIDER,
    ATTR_QUEUE,
    ATTR_RECIPIENT,
    ATTR_SENDER,
    ATTR_SENDER_NAME,
    ATTR_SMS_ID,
    ATTR_TEXT,
    ATTR_TIMESTAMP,
    ATTR_TYPE,
    EVENT_CALL,
    EVENT_SMS,
    SMS_RECEIVED,
    FiredEvent,
    signal_event,
)
from .lookup import ObjectLookup

_LOGGER = logging.getLogger(__name__)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def sms_key(message: SmsMessage) -> str:
    """A stable key of a received SMS: its id, or a digest of what it says."""
    if message.sms_id:
        return f"id:{message.sms_id}"
    digest = hashlib.sha256(
        "\x1f".join(
            (
                message.sender or "",
                message.recipient or "",
                message.text,
                iso(message.timestamp) or "",
            )
        ).encode()
    ).hexdigest()
    return f"sha256:{digest[:32]}"


class EventFirer:
    """Fires the events of one entry."""

    def __init__(
        self, hass: HomeAssistant, entry: PbxConfigEntry, client: PbxClient, lookup: ObjectLookup
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.lookup = lookup

    def fire_call(self, event: CallEvent) -> FiredEvent:
        agent_id = self.lookup.agent_id(event.agent_id)
        line_id = self.lookup.line_id(event.line)
        details = {
            ATTR_CALL_ID: event.call_id,
            ATTR_DIRECTION: event.direction.value,
            ATTR_CALLER: event.caller,
            ATTR_CALLER_NAME: event.caller_name,
            ATTR_CALLEE: event.callee,
            ATTR_AGENT: agent_id or event.agent_id,
            ATTR_QUEUE: event.queue_id,
            ATTR_LINE: line_id or event.line,
            ATTR_TIMESTAMP: iso(event.timestamp or dt_util.utcnow()),
        }
        return self._fire(EVENT_CALL, event.event_type.value, details, agent_id, line_id)

    def fire_sms(self, message: SmsMessage) -> FiredEvent:
        details = {
            ATTR_SMS_ID: message.sms_id,
            ATTR_SENDER: message.sender,
            ATTR_SENDER_NAME: message.sender_name,
            ATTR_RECIPIENT: message.recipient,
            ATTR_TEXT: message.text,
            ATTR_TIMESTAMP: iso(message.timestamp or dt_util.utcnow()),
        }
        return self._fire(EVENT_SMS, SMS_RECEIVED, details)

    def _device_id(self, agent_id: str | None, line_id: str | None) -> str | None:
        """The device of the agent, else of the line, else of the account (O(1) lookups)."""
        unique_id = self.entry.unique_id or ""
        if agent_id is not None:
            identifier = agent_identifier(unique_id, agent_id)
        elif line_id is not None:
            identifier = line_identifier(unique_id, line_id)
        else:
            identifier = hub_identifier(unique_id)
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(identifier, self.entry.entry_id)
        if device is None and identifier != hub_identifier(unique_id):
            device = registry.async_get_device_by_identifier(
                hub_identifier(unique_id), self.entry.entry_id
            )
        return device.id if device is not None else None

    def _fire(
        self,
        bus_event: str,
        event_type: str,
        details: dict[str, Any],
        agent_id: str | None = None,
        line_id: str | None = None,
    ) -> FiredEvent:
        _LOGGER.debug("Firing %s %s", bus_event, event_type)
        entry_id = self.entry.entry_id
        data = {
            ATTR_CONFIG_ENTRY_ID: entry_id,
            ATTR_PROVIDER: self.client.provider,
            ATTR_TYPE: event_type,
            ATTR_DEVICE_ID: self._device_id(agent_id, line_id),
            **details,
        }
        fired = FiredEvent(bus_event, event_type, data, details, agent_id, line_id)
        self.hass.bus.async_fire(bus_event, data, context=fired.context)
        # Each event entity hears only what concerns it: O(1) whatever the account's size.
        # (Always called in the event loop: the sends skip the thread check.)
        async_dispatcher_send_internal(self.hass, signal_event(entry_id, bus_event), fired)
        if agent_id is not None:
            async_dispatcher_send_internal(
                self.hass, signal_event(entry_id, "agent", agent_id), fired
            )
        if line_id is not None:
            async_dispatcher_send_internal(
                self.hass, signal_event(entry_id, "line", line_id), fired
            )
        return fired
