"""Names, timings and limits of the event path; `FiredEvent`, what it hands on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from homeassistant.core import Context

from ..api.models import CallEventType
from ..const import DOMAIN

EVENT_CALL: Final = f"{DOMAIN}_call"
EVENT_SMS: Final = f"{DOMAIN}_sms"
SMS_RECEIVED: Final = "received"

# Keys of the bus event data (documented in the README; keep them stable).
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_PROVIDER: Final = "provider"
ATTR_TYPE: Final = "type"
ATTR_CALL_ID: Final = "call_id"
ATTR_DIRECTION: Final = "direction"
ATTR_CALLER: Final = "caller"
ATTR_CALLER_NAME: Final = "caller_name"
ATTR_CALLEE: Final = "callee"
ATTR_AGENT: Final = "agent"
ATTR_QUEUE: Final = "queue"
ATTR_LINE: Final = "line"
ATTR_TIMESTAMP: Final = "timestamp"
ATTR_SMS_ID: Final = "sms_id"
ATTR_SENDER: Final = "sender"
ATTR_SENDER_NAME: Final = "sender_name"
ATTR_RECIPIENT: Final = "recipient"
ATTR_TEXT: Final = "text"

CALL_EVENT_TYPES: Final = tuple(event_type.value for event_type in CallEventType)
SMS_EVENT_TYPES: Final = (SMS_RECEIVED,)

# What ends a call, and what shows it was picked up.
ENDING_TYPES: Final = frozenset({CallEventType.HANGUP, CallEventType.MISSED})
ANSWERING_TYPES: Final = frozenset({CallEventType.ANSWERED, CallEventType.TRANSFERRED})


def signal_event(entry_id: str, kind: str, object_id: str = "") -> str:
    """Dispatcher signal that carries each `FiredEvent` of an entry to the account's event
    entity of its bus event (`kind`), or to those of the agent or line it names (`kind`
    "agent" or "line", and `object_id`)."""
    return f"{DOMAIN}_event_{entry_id}_{kind}_{object_id}"


@dataclass(frozen=True, slots=True)
class FiredEvent:
    """An event as fired on the bus, with the snapshot objects it names."""

    bus_event: str  # EVENT_CALL or EVENT_SMS
    event_type: str
    data: dict[str, Any]
    # What the event entities show: the data but what the entity itself already says (the
    # entry, its device, the provider, the type).
    details: dict[str, Any]
    agent_id: str | None = None  # key in Snapshot.agents, if the event names a known agent
    line_id: str | None = None  # key in Snapshot.registrations, if it names a known line
    # The bus event's context, which the event entities' new states share: what the event
    # caused is told by it (the logbook's "triggered by"), and one context is made, not two.
    context: Context = field(default_factory=Context)
