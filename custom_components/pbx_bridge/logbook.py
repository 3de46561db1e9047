"""Logbook descriptions of call and SMS events, in plain words."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .api.models import CallEventType
from .const import DOMAIN
from .events import (
    ATTR_AGENT,
    ATTR_CALLEE,
    ATTR_CALLER,
    ATTR_CALLER_NAME,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_QUEUE,
    ATTR_SENDER,
    ATTR_TYPE,
    EVENT_CALL,
    EVENT_SMS,
)

UNKNOWN_NUMBER: Final = "an unknown number"

CALL_MESSAGES: Final = {
    CallEventType.INCOMING: "received a call from {caller} to {callee}",
    CallEventType.RINGING: "rang {agent} with a call from {caller}",
    CallEventType.ANSWERED: "answered the call from {caller}{by_agent}",
    CallEventType.OUTGOING: "placed a call from {caller} to {callee}",
    CallEventType.QUEUED: "queued the call from {caller}{in_queue}",
    CallEventType.TRANSFERRED: "transferred the call from {caller}{to_agent}",
    CallEventType.HANGUP: "ended the call between {caller} and {callee}",
    CallEventType.MISSED: "missed a call from {caller}",
}


def _caller(data: Mapping[str, Any]) -> str:
    number = data.get(ATTR_CALLER) or UNKNOWN_NUMBER
    if name := data.get(ATTR_CALLER_NAME):
        return f"{name} ({number})"
    return str(number)


def describe_call(data: Mapping[str, Any]) -> str:
    """One sentence about a `pbx_bridge_call` event (after the account's name)."""
    agent = data.get(ATTR_AGENT)
    queue = data.get(ATTR_QUEUE)
    try:
        template = CALL_MESSAGES[CallEventType(str(data.get(ATTR_TYPE)))]
    except ValueError:
        return f"reported a call event ({data.get(ATTR_TYPE)})"
    return template.format(
        caller=_caller(data),
        callee=data.get(ATTR_CALLEE) or UNKNOWN_NUMBER,
        agent=agent or "an agent",
        by_agent=f" by {agent}" if agent else "",
        to_agent=f" to {agent}" if agent else "",
        in_queue=f" in queue {queue}" if queue else "",
    )


def describe_sms(data: Mapping[str, Any]) -> str:
    """One sentence about a `pbx_bridge_sms` event (after the account's name)."""
    return f"received an SMS from {data.get(ATTR_SENDER) or UNKNOWN_NUMBER}"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe our bus events for the logbook."""

    def account_name(event: Event) -> str:
        entry = hass.config_entries.async_get_entry(event.data.get(ATTR_CONFIG_ENTRY_ID, ""))
        return entry.title if entry is not None else "PBX Bridge"

    @callback
    def describe_call_event(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: account_name(event),
            LOGBOOK_ENTRY_MESSAGE: describe_call(event.data),
        }

    @callback
    def describe_sms_event(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: account_name(event),
            LOGBOOK_ENTRY_MESSAGE: describe_sms(event.data),
        }

    async_describe_event(DOMAIN, EVENT_CALL, describe_call_event)
    async_describe_event(DOMAIN, EVENT_SMS, describe_sms_event)
