"""The missed-call timer: a call that ends unanswered becomes a `missed` event.

A hangup may overtake the answer of the same call, so the verdict waits
`MISSED_GRACE_SECONDS`; an answer in the meantime cancels it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from ..api.models import CallEvent, CallEventType
from .const import ANSWERING_TYPES
from .tracking import CallTrack

MISSED_GRACE_SECONDS: Final = 3.0

type MissedHandler = Callable[[CallEvent], None]


class MissedCallTimer:
    """Notes what each event tells about its call and reports calls that were missed."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    def follow(self, event: CallEvent, track: CallTrack, on_missed: MissedHandler) -> None:
        """Note `event` on its call's `track`; a hangup may lead to `on_missed` later."""
        if event.event_type in ANSWERING_TYPES:
            track.answered = True
            track.cancel_missed_check()
        elif event.event_type is CallEventType.MISSED:
            track.missed = True
            track.ended = True
            track.cancel_missed_check()
        elif event.event_type is CallEventType.HANGUP:
            track.ended = True
            if track.may_be_missed() and track.cancel_missed is None:
                track.cancel_missed = async_call_later(
                    self.hass, MISSED_GRACE_SECONDS, self._verdict(event, track, on_missed)
                )

    @staticmethod
    def _verdict(
        hangup: CallEvent, track: CallTrack, on_missed: MissedHandler
    ) -> Callable[[datetime], None]:
        @callback
        def _async_missed(_now: datetime) -> None:
            # An answer in the meantime would have cancelled this timer.
            track.cancel_missed = None
            on_missed(replace(hangup, event_type=CallEventType.MISSED))

        return _async_missed
