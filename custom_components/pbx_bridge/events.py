"""The event hub of one account: from normalized provider events to Home Assistant.

Every call or SMS event, whether a webhook delivered it or it was derived from polling,
goes through `PbxEventHub`, which

- drops repeated deliveries (providers retry) and keeps a call ended when its hangup
  overtakes its answer;
- turns a call that ends unanswered into a `missed` event;
- fires `pbx_bridge_call` / `pbx_bridge_sms` on the bus with stable data (see the
  README's Events section), tells the event entities through the dispatcher and, for
  webhook events, pushes the effect into the coordinator so agents and calls change at once.

Providers without call push (Odorik, Yemot, VoIPSUN) get their events from the difference
between consecutive snapshots; what was already seen is stored, so a restart of Home
Assistant neither repeats nor loses an event.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
import hashlib
import logging
import time
from typing import Any, Final, TypedDict

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .api import PbxClient
from .api.models import (
    Agent,
    AgentState,
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallState,
    Capability,
    SipRegistration,
    SmsDirection,
    SmsMessage,
    Snapshot,
    WebhookItem,
)
from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

EVENT_CALL: Final = f"{DOMAIN}_call"
EVENT_SMS: Final = f"{DOMAIN}_sms"
SMS_RECEIVED: Final = "received"

# Keys of the bus event data (documented in the README; keep them stable).
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
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

# A hangup may overtake the answer of the same call; wait this long before calling it missed.
MISSED_GRACE_SECONDS: Final = 3.0
# Providers retry deliveries for minutes at most; remember what we saw for longer.
DEDUPE_SECONDS: Final = 15 * 60
# Without a call id nor a timestamp an event can only be told from a retry by its arrival.
WEAK_DEDUPE_SECONDS: Final = 30.0
MAX_REMEMBERED: Final = 2000
CALL_MEMORY_SECONDS: Final = 6 * 3600

STORAGE_VERSION: Final = 1
SAVE_DELAY_SECONDS: Final = 1.0

# What ends a call, and what shows it was picked up.
ENDING_TYPES: Final = frozenset({CallEventType.HANGUP, CallEventType.MISSED})
ANSWERING_TYPES: Final = frozenset({CallEventType.ANSWERED, CallEventType.TRANSFERRED})


def signal_event(entry_id: str) -> str:
    """Dispatcher signal that carries each `FiredEvent` of an entry to its event entities."""
    return f"{DOMAIN}_event_{entry_id}"


def storage_key(entry_id: str) -> str:
    """Storage key of what the hub of an entry has seen."""
    return f"{DOMAIN}.events.{entry_id}"


async def async_remove_stored_events(hass: HomeAssistant, entry_id: str) -> None:
    """Forget what the hub of a removed entry had seen."""
    await Store[_StoredData](hass, STORAGE_VERSION, storage_key(entry_id)).async_remove()


@dataclass(frozen=True, slots=True)
class FiredEvent:
    """An event as fired on the bus, with the snapshot objects it names."""

    bus_event: str  # EVENT_CALL or EVENT_SMS
    event_type: str
    data: dict[str, Any]
    agent_id: str | None = None  # key in Snapshot.agents, if the event names a known agent
    line_id: str | None = None  # key in Snapshot.registrations, if it names a known line


class _StoredCall(TypedDict):
    direction: str
    state: str
    caller: str | None
    callee: str | None
    agent_id: str | None
    queue_id: str | None
    line: str | None
    answered: bool


class _StoredData(TypedDict):
    calls: dict[str, _StoredCall]
    sms: list[str]


@dataclass(slots=True)
class _CallTrack:
    """What the hub knows about one call from the events it has seen."""

    direction: CallDirection = CallDirection.UNKNOWN
    caller: str | None = None
    caller_name: str | None = None
    callee: str | None = None
    answered: bool = False
    ended: bool = False
    missed: bool = False
    last_seen: float = 0.0
    cancel_missed: CALLBACK_TYPE | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _find_agent(snapshot: Snapshot | None, key: str | None) -> Agent | None:
    """The agent a provider names by id, extension or name."""
    if snapshot is None or not key:
        return None
    if (agent := snapshot.agents.get(key)) is not None:
        return agent
    return next(
        (agent for agent in snapshot.agents.values() if key in (agent.extension, agent.name)),
        None,
    )


def _find_line(snapshot: Snapshot | None, key: str | None) -> SipRegistration | None:
    """The SIP registration a provider names by id or name."""
    if snapshot is None or not key:
        return None
    if (line := snapshot.registrations.get(key)) is not None:
        return line
    return next((line for line in snapshot.registrations.values() if line.name == key), None)


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
                _iso(message.timestamp) or "",
            )
        ).encode()
    ).hexdigest()
    return f"sha256:{digest[:32]}"


class PbxEventHub:
    """Turns normalized events of one account into bus events, entity updates and state."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: PbxClient,
        coordinator: DataUpdateCoordinator[Snapshot],
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.coordinator = coordinator
        self._seen: dict[tuple[object, ...], float] = {}
        self._calls: OrderedDict[str, _CallTrack] = OrderedDict()
        self._store: Store[_StoredData] = Store(hass, STORAGE_VERSION, storage_key(entry.entry_id))
        self._derive_calls = client.supports(Capability.ACTIVE_CALLS) and not client.supports(
            Capability.CALL_WEBHOOK
        )
        self._derive_sms = client.supports(Capability.SMS_POLLING)
        self._polled_calls: dict[str, _StoredCall] | None = None
        self._polled_sms: set[str] | None = None
        self._last_snapshot: Snapshot | None = None
        self._remove_listener: CALLBACK_TYPE | None = None

    @property
    def derives_events(self) -> bool:
        """Whether this account's events come (at least partly) from polling."""
        return self._derive_calls or self._derive_sms

    async def async_start(self) -> None:
        """Load what was seen before a restart and start deriving events from polling."""
        if not self.derives_events:
            return
        if (stored := await self._store.async_load()) is not None:
            self._polled_calls = dict(stored["calls"])
            self._polled_sms = set(stored["sms"])
        self._remove_listener = self.coordinator.async_add_listener(self._async_snapshot_updated)
        self._async_snapshot_updated()

    async def async_stop(self) -> None:
        """Stop timers and listeners, and write what was seen."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        for track in self._calls.values():
            if track.cancel_missed is not None:
                track.cancel_missed()
                track.cancel_missed = None
        if self._polled_calls is not None or self._polled_sms is not None:
            await self._store.async_save(self._stored_data())

    # --- webhook events -----------------------------------------------------

    @callback
    def async_process(self, items: Iterable[WebhookItem]) -> None:
        """Handle the events of one webhook delivery."""
        for item in items:
            if isinstance(item, SmsMessage):
                self._async_process_sms(item)
            else:
                self._async_process_call(item, from_webhook=True)

    @callback
    def _async_process_sms(self, message: SmsMessage) -> None:
        if message.direction is not SmsDirection.INCOMING:
            return
        if self._is_repeat(("sms", sms_key(message)), DEDUPE_SECONDS):
            return
        self._fire_sms(message)

    @callback
    def _async_process_call(self, event: CallEvent, *, from_webhook: bool) -> None:
        if self._is_repeat(*self._fingerprint(event)):
            _LOGGER.debug("Dropped a repeated %s event", event.event_type)
            return
        late = False
        if event.call_id is not None:
            track = self._track(event.call_id)
            if event.event_type is CallEventType.MISSED and track.missed:
                return
            event = self._complete(event, track)
            late = track.ended and event.event_type not in ENDING_TYPES
            self._follow(event, track, from_webhook=from_webhook)
        self._fire_call(event)
        # A late answer of an ended call must not bring the call back; where calls are
        # polled, the snapshot is the provider's word and diffing it makes the events.
        if from_webhook and not late and not self._derive_calls:
            self._push_call_effect(event)

    def _follow(self, event: CallEvent, track: _CallTrack, *, from_webhook: bool) -> None:
        """Note what `event` tells about its call; a hangup may make it a missed call."""
        if event.event_type in ANSWERING_TYPES:
            track.answered = True
            self._cancel_missed(track)
        elif event.event_type is CallEventType.MISSED:
            track.missed = True
            track.ended = True
            self._cancel_missed(track)
        elif event.event_type is CallEventType.HANGUP:
            track.ended = True
            if self._may_be_missed(track) and track.cancel_missed is None:
                track.cancel_missed = async_call_later(
                    self.hass,
                    MISSED_GRACE_SECONDS,
                    self._missed_callback(event, track, from_webhook=from_webhook),
                )

    def _fingerprint(self, event: CallEvent) -> tuple[tuple[object, ...], float]:
        key: tuple[object, ...] = (
            "call",
            event.event_type,
            event.call_id,
            event.agent_id,
            event.line,
            event.queue_id,
        )
        if event.call_id is not None:
            return key, DEDUPE_SECONDS
        key += (event.caller, event.callee, _iso(event.timestamp))
        return key, DEDUPE_SECONDS if event.timestamp is not None else WEAK_DEDUPE_SECONDS

    def _is_repeat(self, key: tuple[object, ...], ttl: float) -> bool:
        now = time.monotonic()
        if (expires := self._seen.get(key)) is not None and expires > now:
            return True
        self._seen[key] = now + ttl
        if len(self._seen) > MAX_REMEMBERED:
            self._seen = {k: until for k, until in self._seen.items() if until > now}
            while len(self._seen) > MAX_REMEMBERED:  # all still fresh: forget the oldest
                del self._seen[next(iter(self._seen))]
        return False

    def _track(self, call_id: str) -> _CallTrack:
        now = time.monotonic()
        for old_id in [
            old_id
            for old_id, old in self._calls.items()
            if now - old.last_seen > CALL_MEMORY_SECONDS and old.cancel_missed is None
        ]:
            del self._calls[old_id]
        track = self._calls.pop(call_id, None) or _CallTrack()
        track.last_seen = now
        self._calls[call_id] = track
        while len(self._calls) > MAX_REMEMBERED:
            _, dropped = self._calls.popitem(last=False)
            if dropped.cancel_missed is not None:
                dropped.cancel_missed()
        return track

    @staticmethod
    def _complete(event: CallEvent, track: _CallTrack) -> CallEvent:
        """Fill what a later hook leaves out from earlier hooks of the same call."""
        if event.event_type is CallEventType.OUTGOING:
            track.direction = CallDirection.OUTGOING
        elif event.direction is not CallDirection.UNKNOWN:
            track.direction = event.direction
        track.caller = track.caller or event.caller
        track.caller_name = track.caller_name or event.caller_name
        track.callee = track.callee or event.callee
        return replace(
            event,
            direction=track.direction
            if event.direction is CallDirection.UNKNOWN
            else event.direction,
            caller=event.caller or track.caller,
            caller_name=event.caller_name or track.caller_name,
            callee=event.callee or track.callee,
        )

    @staticmethod
    def _may_be_missed(track: _CallTrack) -> bool:
        return (
            not track.answered
            and not track.missed
            and track.direction
            not in (
                CallDirection.OUTGOING,
                CallDirection.INTERNAL,
            )
        )

    @staticmethod
    def _cancel_missed(track: _CallTrack) -> None:
        if track.cancel_missed is not None:
            track.cancel_missed()
            track.cancel_missed = None

    def _missed_callback(
        self, hangup: CallEvent, track: _CallTrack, *, from_webhook: bool
    ) -> Callable[[datetime], None]:
        @callback
        def _async_missed(_now: datetime) -> None:
            # An answer in the meantime would have cancelled this timer.
            track.cancel_missed = None
            self._async_process_call(
                replace(hangup, event_type=CallEventType.MISSED), from_webhook=from_webhook
            )

        return _async_missed

    # --- firing -------------------------------------------------------------

    def _base_data(self, event_type: str) -> dict[str, Any]:
        return {
            ATTR_CONFIG_ENTRY_ID: self.entry.entry_id,
            ATTR_PROVIDER: self.client.provider,
            ATTR_TYPE: event_type,
        }

    def _fire_call(self, event: CallEvent) -> None:
        snapshot = self.coordinator.data
        agent = _find_agent(snapshot, event.agent_id)
        line = _find_line(snapshot, event.line)
        data = self._base_data(event.event_type.value) | {
            ATTR_CALL_ID: event.call_id,
            ATTR_DIRECTION: event.direction.value,
            ATTR_CALLER: event.caller,
            ATTR_CALLER_NAME: event.caller_name,
            ATTR_CALLEE: event.callee,
            ATTR_AGENT: agent.agent_id if agent is not None else event.agent_id,
            ATTR_QUEUE: event.queue_id,
            ATTR_LINE: line.registration_id if line is not None else event.line,
            ATTR_TIMESTAMP: _iso(event.timestamp or dt_util.utcnow()),
        }
        self._fire(
            FiredEvent(
                EVENT_CALL,
                event.event_type.value,
                data,
                agent.agent_id if agent is not None else None,
                line.registration_id if line is not None else None,
            )
        )

    def _fire_sms(self, message: SmsMessage) -> None:
        data = self._base_data(SMS_RECEIVED) | {
            ATTR_SMS_ID: message.sms_id,
            ATTR_SENDER: message.sender,
            ATTR_SENDER_NAME: message.sender_name,
            ATTR_RECIPIENT: message.recipient,
            ATTR_TEXT: message.text,
            ATTR_TIMESTAMP: _iso(message.timestamp or dt_util.utcnow()),
        }
        self._fire(FiredEvent(EVENT_SMS, SMS_RECEIVED, data))

    def _fire(self, fired: FiredEvent) -> None:
        _LOGGER.debug("Firing %s %s", fired.bus_event, fired.event_type)
        self.hass.bus.async_fire(fired.bus_event, fired.data)
        async_dispatcher_send(self.hass, signal_event(self.entry.entry_id), fired)

    # --- the effect on the coordinator's snapshot ----------------------------

    def _push_call_effect(self, event: CallEvent) -> None:
        snapshot = self.coordinator.data
        calls = dict(snapshot.calls)
        agents = dict(snapshot.agents)
        changes: dict[str, Any] = {}
        agent = _find_agent(snapshot, event.agent_id)
        call = calls.get(event.call_id) if event.call_id else None
        match event.event_type:
            case CallEventType.HANGUP | CallEventType.MISSED:
                if event.call_id is not None and event.call_id in calls:
                    ended = calls.pop(event.call_id)
                    agent = agent or _find_agent(snapshot, ended.agent_id)
                if agent is not None and agent.state in (
                    AgentState.RINGING,
                    AgentState.IN_CALL,
                    AgentState.ON_HOLD,
                ):
                    agents[agent.agent_id] = replace(
                        agent, state=AgentState.IDLE, call_partner=None
                    )
                if (
                    event.event_type is CallEventType.MISSED
                    and snapshot.missed_calls_today is not None
                ):
                    changes["missed_calls_today"] = snapshot.missed_calls_today + 1
            case CallEventType.ANSWERED | CallEventType.TRANSFERRED:
                if event.call_id is not None:
                    calls[event.call_id] = self._call_from(
                        event.call_id, event, call, CallState.ANSWERED
                    )
                if agent is not None:
                    agents[agent.agent_id] = replace(
                        agent, state=AgentState.IN_CALL, call_partner=self._partner(event)
                    )
            case _:
                state = (
                    CallState.QUEUED
                    if event.event_type is CallEventType.QUEUED
                    else CallState.RINGING
                )
                if event.call_id is not None:
                    calls[event.call_id] = self._call_from(event.call_id, event, call, state)
                if agent is not None and event.event_type is CallEventType.RINGING:
                    agents[agent.agent_id] = replace(
                        agent, state=AgentState.RINGING, call_partner=self._partner(event)
                    )
                if event.direction is not CallDirection.OUTGOING and event.caller:
                    changes["last_caller"] = event.caller
        self.coordinator.async_set_updated_data(
            replace(snapshot, calls=calls, agents=agents, **changes)
        )

    @staticmethod
    def _partner(event: CallEvent) -> str | None:
        return event.callee if event.direction is CallDirection.OUTGOING else event.caller

    @staticmethod
    def _call_from(call_id: str, event: CallEvent, known: Call | None, state: CallState) -> Call:
        now = event.timestamp or dt_util.utcnow()
        if known is None:
            return Call(
                call_id=call_id,
                direction=event.direction,
                state=state,
                caller=event.caller,
                callee=event.callee,
                line=event.line,
                agent_id=event.agent_id,
                queue_id=event.queue_id,
                started=now,
                answered=now if state is CallState.ANSWERED else None,
            )
        return replace(
            known,
            state=state,
            agent_id=event.agent_id or known.agent_id,
            queue_id=event.queue_id or known.queue_id,
            line=event.line or known.line,
            answered=known.answered or (now if state is CallState.ANSWERED else None),
        )

    # --- events derived from polling -----------------------------------------

    @callback
    def _async_snapshot_updated(self) -> None:
        snapshot = self.coordinator.data
        if snapshot is None or snapshot is self._last_snapshot:
            return
        self._last_snapshot = snapshot
        changed = False
        if self._derive_calls:
            changed |= self._derive_call_events(snapshot)
        if self._derive_sms:
            changed |= self._derive_sms_events(snapshot)
        if changed:
            self._store.async_delay_save(self._stored_data, SAVE_DELAY_SECONDS)

    def _derive_call_events(self, snapshot: Snapshot) -> bool:
        current = {call_id: self._stored_call(call) for call_id, call in snapshot.calls.items()}
        previous = self._polled_calls
        self._polled_calls = current
        if previous is None:  # the first snapshot ever: calls already running are no news
            return True
        for call_id, now in current.items():
            before = previous.get(call_id)
            if before is None:
                opening = (
                    CallEventType.OUTGOING
                    if now["direction"] == CallDirection.OUTGOING
                    else CallEventType.INCOMING
                )
                self._derive(call_id, now, opening)
                if now["state"] == CallState.QUEUED:
                    self._derive(call_id, now, CallEventType.QUEUED)
            if now["answered"] and not (before and before["answered"]):
                self._derive(call_id, now, CallEventType.ANSWERED)
        for call_id, before in previous.items():
            if call_id not in current:
                self._derive(call_id, before, CallEventType.HANGUP)
                if not before["answered"] and before["direction"] not in (
                    CallDirection.OUTGOING,
                    CallDirection.INTERNAL,
                ):
                    self._derive(call_id, before, CallEventType.MISSED)
        return current != previous

    def _derive(self, call_id: str, call: _StoredCall, event_type: CallEventType) -> None:
        self._async_process_call(
            CallEvent(
                event_type=event_type,
                call_id=call_id,
                direction=CallDirection(call["direction"]),
                caller=call["caller"],
                callee=call["callee"],
                agent_id=call["agent_id"],
                queue_id=call["queue_id"],
                line=call["line"],
            ),
            from_webhook=False,
        )

    def _derive_sms_events(self, snapshot: Snapshot) -> bool:
        received = [msg for msg in snapshot.received_sms if msg.direction is SmsDirection.INCOMING]
        keys = {sms_key(message) for message in received}
        previous = self._polled_sms
        # Keep only what the provider still lists: what left its log cannot come back.
        self._polled_sms = keys
        if previous is None:  # the first snapshot ever: the log so far is history
            return True
        for message in received:
            if sms_key(message) not in previous:
                self._async_process_sms(message)
        return keys != previous

    @staticmethod
    def _stored_call(call: Call) -> _StoredCall:
        return {
            "direction": call.direction.value,
            "state": call.state.value,
            "caller": call.caller,
            "callee": call.callee,
            "agent_id": call.agent_id,
            "queue_id": call.queue_id,
            "line": call.line,
            "answered": call.answered is not None or call.state is CallState.ANSWERED,
        }

    def _stored_data(self) -> _StoredData:
        return {
            "calls": dict(self._polled_calls or {}),
            "sms": sorted(self._polled_sms or ()),
        }
