"""Webhook effects laid over the polled snapshot, until the next poll replaces them.

The coordinator's poll stays the provider's word and keeps its schedule: an effect never
goes through `async_set_updated_data` (which would reschedule the poll, mark polling as
working and wake every entity). It changes the coordinator's data in place, from a copy
made once per poll, and tells only the entities it concerns: those of the agent it names
and those of the account (active calls, last caller, missed calls).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send_internal
from homeassistant.util import dt as dt_util

from ..api.models import (
    AgentState,
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallState,
    Snapshot,
)
from ..coordinator import PbxCoordinator
from ..entity import ACCOUNT, ObjectKind, signal_pushed
from . import tracking
from .lookup import ObjectLookup

_BUSY = frozenset({AgentState.RINGING, AgentState.IN_CALL, AgentState.ON_HOLD})
# The events that begin a call, or tell it is waiting or ringing: they name its caller.
_OPENING = frozenset({CallEventType.INCOMING, CallEventType.QUEUED, CallEventType.RINGING})


class PushOverlay:
    """The coordinator's data: the last poll, with what webhooks said since."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        coordinator: PbxCoordinator,
        lookup: ObjectLookup,
    ) -> None:
        self.hass = hass
        self.entry_id = entry_id
        self.coordinator = coordinator
        self.lookup = lookup
        self._account_signal = signal_pushed(entry_id, ACCOUNT)
        self._view: Snapshot | None = None  # the data we set; anything else is a new poll
        # Calls that only webhooks told of, oldest first: at most `tracking.MAX_REMEMBERED`.
        self._pushed_calls: OrderedDict[str, None] = OrderedDict()
        # The last caller an event reported (a hook, or a call the polls list), and the one
        # the poll said then. A later poll that still says that older caller has not seen
        # the newer call: the event's caller stays.
        self._polled_caller: str | None = None
        self._event_caller: tuple[str | None, str] | None = None

    def current(self) -> Snapshot:
        """The data as it is now; indexes a snapshot that a poll just brought."""
        data = self.coordinator.data
        if data is not self._view:
            self._view = None
            self._pushed_calls.clear()
            self.lookup.polled(data)
            self._polled_caller = data.last_caller
            data = self._keep_event_caller(data)
        return data

    def _keep_event_caller(self, data: Snapshot) -> Snapshot:
        if self._event_caller is None:
            return data
        polled_then, caller = self._event_caller
        if data.last_caller != polled_then or data.last_caller == caller:
            self._event_caller = None  # the provider now knows this call, or a newer one
            return data
        return self._own_copy(data, last_caller=caller)

    def apply(self, event: CallEvent) -> None:
        """Lay the effect of a webhook's call event over the data."""
        snapshot = self._writable()
        calls, agents = snapshot.calls, snapshot.agents
        agent_id = self.lookup.agent_id(event.agent_id)
        call = calls.get(event.call_id) if event.call_id else None
        new_agent_state: tuple[AgentState, str | None] | None = None
        match event.event_type:
            case CallEventType.HANGUP | CallEventType.MISSED:
                if event.call_id is not None and (ended := calls.pop(event.call_id, None)):
                    self._pushed_calls.pop(event.call_id, None)
                    agent_id = agent_id or self.lookup.agent_id(ended.agent_id)
                if agent_id is not None and agents[agent_id].state in _BUSY:
                    new_agent_state = (AgentState.IDLE, None)
                if (
                    event.event_type is CallEventType.MISSED
                    and snapshot.missed_calls_today is not None
                ):
                    _set(snapshot, "missed_calls_today", snapshot.missed_calls_today + 1)
            case CallEventType.ANSWERED | CallEventType.TRANSFERRED:
                self._put_call(event, call, CallState.ANSWERED)
                if agent_id is not None:
                    new_agent_state = (AgentState.IN_CALL, _partner(event))
            case _:
                queued = event.event_type is CallEventType.QUEUED
                self._put_call(event, call, CallState.QUEUED if queued else CallState.RINGING)
                if agent_id is not None and event.event_type is CallEventType.RINGING:
                    new_agent_state = (AgentState.RINGING, _partner(event))
                if event.direction is not CallDirection.OUTGOING and event.caller:
                    self._note_caller(snapshot, event.caller)
        if agent_id is not None and new_agent_state is not None:
            state, partner = new_agent_state
            agents[agent_id] = replace(agents[agent_id], state=state, call_partner=partner)
            self._tell(signal_pushed(self.entry_id, ObjectKind.AGENT, agent_id))
        self._tell(self._account_signal)

    def caller_seen(self, event: CallEvent) -> None:
        """Lay only who called over the data: where the polls list the calls, the calls
        stay as the provider said, but the caller of a call that just began is news (most
        such providers name no last caller, and the others only once the call is over).
        Only a call known to come in counts: a list that does not say which way a call
        goes (Odorik's) names our own line as the caller of an outgoing one."""
        if (
            event.event_type in _OPENING
            and event.direction is CallDirection.INCOMING
            and event.caller
        ):
            self._note_caller(self._writable(), event.caller)
            self._tell(self._account_signal)

    def _note_caller(self, snapshot: Snapshot, caller: str) -> None:
        _set(snapshot, "last_caller", caller)
        self._event_caller = (self._polled_caller, caller)

    def _writable(self) -> Snapshot:
        """The data with calls and agents of its own: the polled snapshot stays as it came."""
        snapshot = self.current()
        return self._own_copy(snapshot) if self._view is None else snapshot

    def _own_copy(self, polled: Snapshot, **changes: Any) -> Snapshot:
        """`polled` with calls and agents of its own (and `changes`), as the data."""
        self._view = self.coordinator.data = replace(
            polled, calls=dict(polled.calls), agents=dict(polled.agents), **changes
        )
        return self._view

    def _put_call(self, event: CallEvent, known: Call | None, state: CallState) -> None:
        if event.call_id is None:
            return
        calls = self.coordinator.data.calls
        calls[event.call_id] = _call_from(event.call_id, event, known, state)
        if known is None or event.call_id in self._pushed_calls:
            self._pushed_calls[event.call_id] = None
            self._pushed_calls.move_to_end(event.call_id)
            if len(self._pushed_calls) > tracking.MAX_REMEMBERED:  # hangups that never came
                calls.pop(self._pushed_calls.popitem(last=False)[0], None)

    def _tell(self, signal: str) -> None:
        async_dispatcher_send_internal(self.hass, signal)  # in the event loop: no thread check


def _set(snapshot: Snapshot, name: str, value: object) -> None:
    # The view is the overlay's own copy, made once per poll, like its calls and agents:
    # changed in place, not copied per hook. Frozen for everybody else.
    object.__setattr__(snapshot, name, value)


def _partner(event: CallEvent) -> str | None:
    return event.callee if event.direction is CallDirection.OUTGOING else event.caller


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
