"""The event hub of one account: wires the event path's stages together.

Data flows one way: parsed items (from a webhook, or from `PollDiffer`) -> dedupe and call
tracking (`tracking`, `missed`) -> fired events (`firing`) -> entity updates (`overlay`,
and the event entities through the dispatcher). Work per event is O(1) in the number of
agents, lines, queues and remembered calls.
"""

from __future__ import annotations

from collections.abc import Iterable
import logging

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from ..api import PbxClient
from ..api.models import (
    CallEvent,
    CallEventType,
    Capability,
    SmsDirection,
    SmsMessage,
    WebhookItem,
)
from ..coordinator import PbxConfigEntry, PbxCoordinator
from .const import ENDING_TYPES
from .firing import EventFirer
from .lookup import ObjectLookup
from .missed import MissedCallTimer
from .overlay import PushOverlay
from .polling import PollDiffer
from .tracking import CallTracker, RepeatFilter

_LOGGER = logging.getLogger(__name__)


class PbxEventHub:
    """Turns normalized events of one account into bus events, entity updates and state."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PbxConfigEntry,
        client: PbxClient,
        coordinator: PbxCoordinator,
    ) -> None:
        self.hass = hass
        self.coordinator = coordinator
        lookup = ObjectLookup()
        self._seen = RepeatFilter()
        self._calls = CallTracker()
        self._missed = MissedCallTimer(hass)
        self._firer = EventFirer(hass, entry, client, lookup)
        self.overlay = PushOverlay(hass, entry.entry_id, coordinator, lookup)
        self._differ = PollDiffer(
            hass,
            entry.entry_id,
            calls=client.supports(Capability.ACTIVE_CALLS)
            and (
                not client.supports(Capability.CALL_WEBHOOK)
                or not client.declaration.push_sees_every_call
            ),
            sms=client.supports(Capability.SMS_POLLING),
            on_call=self._async_derived_call,
            on_sms=self._async_process_sms,
        )
        self._remove_listener: CALLBACK_TYPE | None = None
        # Added before the entities' listeners, so a poll is overlaid before they read it.
        self._remove_overlay_listener = coordinator.async_add_listener(self._async_overlay_poll)

    @property
    def derives_events(self) -> bool:
        """Whether this account's events come (at least partly) from polling."""
        return self._differ.calls or self._differ.sms

    async def async_start(self) -> None:
        """Load what was seen before a restart and start deriving events from polling."""
        if not self.derives_events:
            return
        await self._differ.async_load()
        self._remove_listener = self.coordinator.async_add_listener(self._async_polled)
        self._async_polled()

    async def async_stop(self) -> None:
        """Stop timers and listeners, and write what was seen."""
        self._remove_overlay_listener()
        self._remove_overlay_listener = lambda: None  # stopping twice is no error
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        self._calls.stop()
        await self._differ.async_save()

    @callback
    def async_process(self, items: Iterable[WebhookItem]) -> None:
        """Handle the events of one webhook delivery."""
        for item in items:
            if isinstance(item, SmsMessage):
                self._async_process_sms(item)
            else:
                self._async_hook_call(item)

    @callback
    def _async_overlay_poll(self) -> None:
        self.overlay.current()

    @callback
    def _async_polled(self) -> None:
        if self.coordinator.last_update_success:
            self._differ.polled(self.overlay.current())

    @callback
    def _async_derived_call(self, event: CallEvent) -> None:
        self._async_process_call(event, from_webhook=False)

    @callback
    def _async_hook_call(self, event: CallEvent) -> None:
        self._async_process_call(event, from_webhook=True)

    @callback
    def _async_process_sms(self, message: SmsMessage) -> None:
        if message.direction is not SmsDirection.INCOMING or self._seen.is_repeat_sms(message):
            return
        self._firer.fire_sms(message)

    @callback
    def _async_process_call(self, event: CallEvent, *, from_webhook: bool) -> None:
        if self._seen.is_repeat_call(event):
            _LOGGER.debug("Dropped a repeated %s event", event.event_type)
            return
        self.overlay.current()  # indexes a snapshot a poll brought meanwhile
        late = False
        if event.call_id is not None:
            track = self._calls.track(event.call_id)
            if event.event_type is CallEventType.MISSED and track.missed:
                return
            event = track.complete(event)
            late = track.ended and event.event_type not in ENDING_TYPES
            # A missed verdict comes the way its call came.
            on_missed = self._async_hook_call if from_webhook else self._async_derived_call
            self._missed.follow(event, track, on_missed)
        self._firer.fire_call(event)
        # A late answer of an ended call must not bring the call back; where calls are
        # polled, the snapshot is the provider's word and diffing it makes the events, but
        # who called is laid over it all the same.
        if late:
            return
        if from_webhook and not self._differ.calls:
            self.overlay.apply(event)
        else:
            self.overlay.caller_seen(event)
