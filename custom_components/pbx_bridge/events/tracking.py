"""Dedupe and call tracking: what the hub remembers, bounded in time and in size.

Both memories forget oldest-first in O(1) per event, never by scanning: a fixed lifetime
per memory makes the order of arrival the order of expiry. However many call ids arrive,
at most `MAX_REMEMBERED` calls and `MAX_REMEMBERED` fingerprints of each lifetime are kept
(a few hundred bytes each: well under 5 MB an account).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, replace
import time
from typing import Final

from homeassistant.core import CALLBACK_TYPE

from ..api.models import CallDirection, CallEvent, CallEventType, SmsMessage
from .firing import iso, sms_key

# Providers retry deliveries for minutes at most; remember what we saw for longer.
DEDUPE_SECONDS: Final = 15 * 60
# Without a call id nor a timestamp an event can only be told from a retry by its arrival.
WEAK_DEDUPE_SECONDS: Final = 30.0
MAX_REMEMBERED: Final = 2000
CALL_MEMORY_SECONDS: Final = 6 * 3600


class ExpiringKeys:
    """Keys remembered for `lifetime` seconds, at most `MAX_REMEMBERED` of them."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._expires: OrderedDict[Hashable, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expires)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._expires)

    def is_repeat(self, key: Hashable, now: float) -> bool:
        """Whether `key` was seen within its lifetime; remembers it if not."""
        expires = self._expires
        while expires and next(iter(expires.values())) <= now:
            expires.popitem(last=False)
        if key in expires:
            return True
        expires[key] = now + self.lifetime
        if len(expires) > MAX_REMEMBERED:  # all still fresh: forget the oldest
            expires.popitem(last=False)
        return False


class RepeatFilter:
    """Tells a provider's retry of a delivery from news."""

    def __init__(self) -> None:
        self._strong = ExpiringKeys(DEDUPE_SECONDS)
        self._weak = ExpiringKeys(WEAK_DEDUPE_SECONDS)

    def __len__(self) -> int:
        return len(self._strong) + len(self._weak)

    def __iter__(self) -> Iterator[Hashable]:
        yield from self._strong
        yield from self._weak

    def is_repeat_call(self, event: CallEvent) -> bool:
        key: tuple[object, ...] = (
            "call",
            event.event_type,
            event.call_id,
            event.agent_id,
            event.line,
            event.queue_id,
        )
        memory = self._strong
        if event.call_id is None:
            key += (event.caller, event.callee, iso(event.timestamp))
            if event.timestamp is None:
                memory = self._weak
        return memory.is_repeat(key, time.monotonic())

    def is_repeat_sms(self, message: SmsMessage) -> bool:
        return self._strong.is_repeat(("sms", sms_key(message)), time.monotonic())


@dataclass(slots=True)
class CallTrack:
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

    def cancel_missed_check(self) -> None:
        if self.cancel_missed is not None:
            self.cancel_missed()
            self.cancel_missed = None

    def may_be_missed(self) -> bool:
        return (
            not self.answered
            and not self.missed
            and self.direction not in (CallDirection.OUTGOING, CallDirection.INTERNAL)
        )

    def complete(self, event: CallEvent) -> CallEvent:
        """Fill what a later hook leaves out from earlier hooks of the same call."""
        if event.event_type is CallEventType.OUTGOING:
            self.direction = CallDirection.OUTGOING
        elif event.direction is not CallDirection.UNKNOWN:
            self.direction = event.direction
        self.caller = self.caller or event.caller
        self.caller_name = self.caller_name or event.caller_name
        self.callee = self.callee or event.callee
        direction = self.direction if event.direction is CallDirection.UNKNOWN else event.direction
        filled = (
            direction,
            event.caller or self.caller,
            event.caller_name or self.caller_name,
            event.callee or self.callee,
        )
        if filled == (event.direction, event.caller, event.caller_name, event.callee):
            return event  # nothing to fill in (a call's first hook): no copy
        direction, caller, caller_name, callee = filled
        return replace(
            event, direction=direction, caller=caller, caller_name=caller_name, callee=callee
        )


class CallTracker:
    """The calls seen recently, least recently seen first."""

    def __init__(self) -> None:
        self._calls: OrderedDict[str, CallTrack] = OrderedDict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._calls)

    def track(self, call_id: str) -> CallTrack:
        """The track of `call_id`, new if unknown; forgets calls unseen for hours."""
        now = time.monotonic()
        calls = self._calls
        while calls and now - next(iter(calls.values())).last_seen > CALL_MEMORY_SECONDS:
            calls.popitem(last=False)[1].cancel_missed_check()
        if (track := calls.get(call_id)) is not None:
            calls.move_to_end(call_id)
        else:
            track = calls[call_id] = CallTrack()
        track.last_seen = now
        if len(calls) > MAX_REMEMBERED:
            calls.popitem(last=False)[1].cancel_missed_check()
        return track

    def stop(self) -> None:
        """Cancel every pending missed-call check."""
        for track in self._calls.values():
            track.cancel_missed_check()
