"""Events of providers without push, from the difference between consecutive polls.

What was already seen is stored, so a restart of Home Assistant neither repeats nor loses
an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..api.models import (
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallState,
    SmsDirection,
    SmsMessage,
    Snapshot,
)
from ..const import DOMAIN
from .firing import sms_key

STORAGE_VERSION: Final = 1
SAVE_DELAY_SECONDS: Final = 1.0


def storage_key(entry_id: str) -> str:
    """Storage key of what the hub of an entry has seen."""
    return f"{DOMAIN}.events.{entry_id}"


async def async_remove_stored_events(hass: HomeAssistant, entry_id: str) -> None:
    """Forget what the hub of a removed entry had seen."""
    await Store[StoredData](hass, STORAGE_VERSION, storage_key(entry_id)).async_remove()


class StoredCall(TypedDict):
    direction: str
    state: str
    caller: str | None
    callee: str | None
    agent_id: str | None
    queue_id: str | None
    line: str | None
    answered: bool


class StoredData(TypedDict):
    calls: dict[str, StoredCall]
    sms: list[str]


class PollDiffer:
    """Compares each polled snapshot with the one before and reports what happened."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        calls: bool,
        sms: bool,
        on_call: Callable[[CallEvent], None],
        on_sms: Callable[[SmsMessage], None],
    ) -> None:
        self.calls = calls
        self.sms = sms
        self._on_call = on_call
        self._on_sms = on_sms
        self._store: Store[StoredData] = Store(hass, STORAGE_VERSION, storage_key(entry_id))
        self._polled_calls: dict[str, StoredCall] | None = None
        self._polled_sms: set[str] | None = None
        self._last_snapshot: Snapshot | None = None

    async def async_load(self) -> None:
        """Take up what was seen before a restart."""
        if (stored := await self._store.async_load()) is not None:
            self._polled_calls = dict(stored["calls"])
            self._polled_sms = set(stored["sms"])

    async def async_save(self) -> None:
        if self._polled_calls is not None or self._polled_sms is not None:
            await self._store.async_save(self._stored_data())

    def polled(self, snapshot: Snapshot | None) -> None:
        """Report what changed since the last snapshot, and store what is seen now."""
        if snapshot is None or snapshot is self._last_snapshot:
            return
        self._last_snapshot = snapshot
        changed = False
        if self.calls:
            changed |= self._diff_calls(snapshot)
        if self.sms:
            changed |= self._diff_sms(snapshot)
        if changed:
            self._store.async_delay_save(self._stored_data, SAVE_DELAY_SECONDS)

    def _diff_calls(self, snapshot: Snapshot) -> bool:
        current = {call_id: _stored_call(call) for call_id, call in snapshot.calls.items()}
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
                self._report(call_id, now, opening)
                if now["state"] == CallState.QUEUED:
                    self._report(call_id, now, CallEventType.QUEUED)
            if now["answered"] and not (before and before["answered"]):
                self._report(call_id, now, CallEventType.ANSWERED)
        for call_id, before in previous.items():
            if call_id not in current:
                self._report(call_id, before, CallEventType.HANGUP)
                if not before["answered"] and before["direction"] not in (
                    CallDirection.OUTGOING,
                    CallDirection.INTERNAL,
                ):
                    self._report(call_id, before, CallEventType.MISSED)
        return current != previous

    def _report(self, call_id: str, call: StoredCall, event_type: CallEventType) -> None:
        self._on_call(
            CallEvent(
                event_type=event_type,
                call_id=call_id,
                direction=CallDirection(call["direction"]),
                caller=call["caller"],
                callee=call["callee"],
                agent_id=call["agent_id"],
                queue_id=call["queue_id"],
                line=call["line"],
            )
        )

    def _diff_sms(self, snapshot: Snapshot) -> bool:
        received = [msg for msg in snapshot.received_sms if msg.direction is SmsDirection.INCOMING]
        keys = {sms_key(message) for message in received}
        previous = self._polled_sms
        # Keep only what the provider still lists: what left its log cannot come back.
        self._polled_sms = keys
        if previous is None:  # the first snapshot ever: the log so far is history
            return True
        for message in received:
            if sms_key(message) not in previous:
                self._on_sms(message)
        return keys != previous

    def _stored_data(self) -> StoredData:
        return {
            "calls": dict(self._polled_calls or {}),
            "sms": sorted(self._polled_sms or ()),
        }


def _stored_call(call: Call) -> StoredCall:
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
