"""The event path of an account: from normalized provider events to Home Assistant.

Every call or SMS event, whether a webhook delivered it or it was derived from polling,
goes through `PbxEventHub` (`hub`), in one direction:

- `tracking`: drops repeated deliveries (providers retry) and remembers each call, so a
  hangup that overtakes its answer keeps the call ended; bounded, oldest-first;
- `missed`: a call that ends unanswered becomes a `missed` event;
- `firing`: `pbx_bridge_call` / `pbx_bridge_sms` on the bus with stable data (see the
  README's Events section) and the event entities through the dispatcher;
- `overlay`: a webhook's effect on agents and calls, laid over the polled snapshot and
  shown only by the entities it concerns, until the next poll;
- `polling`: providers without call push (Odorik, Yemot, VoIPSUN) get their events from
  the difference between consecutive snapshots, stored across restarts.
"""

from .const import (
    ATTR_AGENT,
    ATTR_CALLEE,
    ATTR_CALLER,
    ATTR_CALLER_NAME,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_DEVICE_ID,
    ATTR_LINE,
    ATTR_PROVIDER,
    ATTR_QUEUE,
    ATTR_SENDER,
    ATTR_SENDER_NAME,
    ATTR_TYPE,
    CALL_EVENT_TYPES,
    EVENT_CALL,
    EVENT_SMS,
    SMS_EVENT_TYPES,
    SMS_RECEIVED,
    FiredEvent,
    signal_event,
)
from .firing import sms_key
from .hub import PbxEventHub
from .missed import MISSED_GRACE_SECONDS
from .polling import async_remove_stored_events, storage_key

__all__ = [
    "ATTR_AGENT",
    "ATTR_CALLEE",
    "ATTR_CALLER",
    "ATTR_CALLER_NAME",
    "ATTR_CONFIG_ENTRY_ID",
    "ATTR_DEVICE_ID",
    "ATTR_LINE",
    "ATTR_PROVIDER",
    "ATTR_QUEUE",
    "ATTR_SENDER",
    "ATTR_SENDER_NAME",
    "ATTR_TYPE",
    "CALL_EVENT_TYPES",
    "EVENT_CALL",
    "EVENT_SMS",
    "MISSED_GRACE_SECONDS",
    "SMS_EVENT_TYPES",
    "SMS_RECEIVED",
    "FiredEvent",
    "PbxEventHub",
    "async_remove_stored_events",
    "signal_event",
    "sms_key",
    "storage_key",
]
