"""The event hub: repeats, reordering, missed calls, coordinator pushes, polling, restarts."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import logging
from typing import Any, ClassVar

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.pbx_bridge.api import PbxClient, ProviderDeclaration
from custom_components.pbx_bridge.api.models import (
    AccountInfo,
    Agent,
    AgentState,
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallState,
    Capability,
    SipKind,
    SipRegistration,
    SmsDirection,
    SmsMessage,
    Snapshot,
)
from custom_components.pbx_bridge.api.numbers import CZECH_NUMBERS
from custom_components.pbx_bridge.const import DOMAIN
from custom_components.pbx_bridge.entity import agent_identifier, hub_identifier
from custom_components.pbx_bridge.events import (
    EVENT_CALL,
    EVENT_SMS,
    MISSED_GRACE_SECONDS,
    FiredEvent,
    PbxEventHub,
    signal_event,
    sms_key,
    storage_key,
)

ACCOUNT = AccountInfo("acc-1", "Office")
AGENT = Agent("jana", "Jana Nováková", AgentState.IDLE, extension="101")
LINE = SipRegistration("line-101", "101", SipKind.EXTENSION, registered=True)
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class PushClient(PbxClient):
    """A provider that pushes calls and SMS (like Telfa)."""

    declaration = ProviderDeclaration(
        provider="push",
        title="Push",
        connection_fields=(),
        capabilities=frozenset(
            {Capability.ACTIVE_CALLS, Capability.CALL_WEBHOOK, Capability.SMS_WEBHOOK}
        ),
        poll_interval=timedelta(seconds=30),
        number_plan=CZECH_NUMBERS,
    )
    default_base_url = "http://127.0.0.1"

    async def async_validate(self) -> AccountInfo:
        return ACCOUNT

    async def async_fetch_snapshot(self) -> Snapshot:
        raise NotImplementedError


class PollClient(PushClient):
    """A provider known only by polling (like Yemot)."""

    declaration = replace(
        PushClient.declaration,
        provider="poll",
        capabilities=frozenset({Capability.ACTIVE_CALLS, Capability.SMS_POLLING}),
    )


@dataclass
class Harness:
    """A hub on a coordinator whose next snapshot the test sets."""

    hass: HomeAssistant
    entry: MockConfigEntry
    coordinator: DataUpdateCoordinator[Snapshot]
    hub: PbxEventHub
    calls: list[Event[Any]]
    sms: list[Event[Any]]
    fired: list[FiredEvent] = field(default_factory=list)
    snapshot: Snapshot = field(default_factory=lambda: base_snapshot())  # noqa: PLW0108 - defined below

    def types(self) -> list[str]:
        return [event.data["type"] for event in self.calls]

    async def poll(self, **changes: Any) -> None:
        self.snapshot = Snapshot(**{**vars_of(self.snapshot), **changes})
        await self.coordinator.async_refresh()
        await self.hass.async_block_till_done()


def vars_of(snapshot: Snapshot) -> dict[str, Any]:
    return {name: getattr(snapshot, name) for name in Snapshot.__slots__}


def base_snapshot() -> Snapshot:
    return Snapshot(
        account=ACCOUNT,
        agents={AGENT.agent_id: AGENT},
        registrations={LINE.registration_id: LINE},
        missed_calls_today=2,
    )


async def make_harness(
    hass: HomeAssistant,
    client_cls: type[PbxClient],
    entry: MockConfigEntry | None = None,
    first: Snapshot | None = None,
) -> Harness:
    entry = entry or MockConfigEntry(domain=DOMAIN, title="Office", unique_id="acc-1")
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    holder: dict[str, Harness] = {}

    async def fetch() -> Snapshot:
        return holder["h"].snapshot

    coordinator = DataUpdateCoordinator[Snapshot](
        hass,
        logging.getLogger(__name__),
        config_entry=entry,
        name="test",
        update_method=fetch,
    )
    client = client_cls(None, {})  # type: ignore[arg-type]
    hub = PbxEventHub(hass, entry, client, coordinator)
    harness = Harness(
        hass,
        entry,
        coordinator,
        hub,
        async_capture_events(hass, EVENT_CALL),
        async_capture_events(hass, EVENT_SMS),
    )
    harness.snapshot = first or base_snapshot()
    holder["h"] = harness
    await coordinator.async_refresh()

    @callback
    def collect(fired: FiredEvent) -> None:
        harness.fired.append(fired)

    for bus_event in (EVENT_CALL, EVENT_SMS):
        entry.async_on_unload(
            async_dispatcher_connect(hass, signal_event(entry.entry_id, bus_event), collect)
        )
    await hub.async_start()
    return harness


@pytest.fixture
async def push(hass: HomeAssistant) -> AsyncGenerator[Harness]:
    harness = await make_harness(hass, PushClient)
    yield harness
    await harness.hub.async_stop()


@pytest.fixture
async def poll(hass: HomeAssistant) -> AsyncGenerator[Harness]:
    harness = await make_harness(hass, PollClient)
    yield harness
    await harness.hub.async_stop()


def call_event(event_type: CallEventType, call_id: str | None = "c1", **kw: Any) -> CallEvent:
    defaults: dict[str, Any] = {
        "direction": CallDirection.INCOMING,
        "caller": "+420777123456",
        "callee": "+420245008328",
        "timestamp": T0,
    }
    return CallEvent(event_type=event_type, call_id=call_id, **(defaults | kw))


async def test_bus_data_is_complete_and_names_known_objects(
    hass: HomeAssistant, push: Harness
) -> None:
    """Agent and line are resolved to the ids their devices use; every key is present."""
    registry = dr.async_get(hass)
    hub = registry.async_get_or_create(
        config_entry_id=push.entry.entry_id, identifiers={hub_identifier("acc-1")}
    )
    agent = registry.async_get_or_create(
        config_entry_id=push.entry.entry_id, identifiers={agent_identifier("acc-1", "jana")}
    )
    push.hub.async_process(
        [call_event(CallEventType.RINGING, agent_id="101", line="101", caller_name="Eva")]
    )
    await hass.async_block_till_done()
    assert push.calls[0].data == {
        "config_entry_id": push.entry.entry_id,
        "device_id": agent.id,
        "provider": "push",
        "type": "ringing",
        "call_id": "c1",
        "direction": "incoming",
        "caller": "+420777123456",
        "caller_name": "Eva",
        "callee": "+420245008328",
        "agent": "jana",
        "queue": None,
        "line": "line-101",
        "timestamp": "2026-11-23T10:00:00+00:00",
    }
    assert push.fired[0].agent_id == "jana"
    assert push.fired[0].line_id == "line-101"
    # An event that names no known agent nor line concerns the account's device.
    push.hub.async_process([call_event(CallEventType.INCOMING, call_id="c2")])
    await hass.async_block_till_done()
    assert push.calls[1].data["device_id"] == hub.id


async def test_unknown_agent_and_line_pass_through(hass: HomeAssistant, push: Harness) -> None:
    push.hub.async_process([call_event(CallEventType.RINGING, agent_id="x", line="999")])
    await hass.async_block_till_done()
    assert (push.calls[0].data["agent"], push.calls[0].data["line"]) == ("x", "999")
    assert (push.fired[0].agent_id, push.fired[0].line_id) == (None, None)


async def test_repeated_delivery_fires_once(hass: HomeAssistant, push: Harness) -> None:
    incoming = call_event(CallEventType.INCOMING)
    push.hub.async_process([incoming])
    push.hub.async_process([incoming, incoming])
    # Another agent ringing for the same call is news, not a repeat.
    push.hub.async_process([call_event(CallEventType.RINGING, agent_id="a")])
    push.hub.async_process([call_event(CallEventType.RINGING, agent_id="b")])
    push.hub.async_process([call_event(CallEventType.RINGING, agent_id="b")])
    await hass.async_block_till_done()
    assert push.types() == ["incoming", "ringing", "ringing"]


async def test_events_without_call_id_dedupe_on_content(
    hass: HomeAssistant, push: Harness, freezer: FrozenDateTimeFactory
) -> None:
    """Daktela's incoming hook has no call id: a repeat is the same content soon after."""
    bare = call_event(CallEventType.INCOMING, call_id=None, timestamp=None)
    push.hub.async_process([bare, bare])
    await hass.async_block_till_done()
    assert push.types() == ["incoming"]
    # The same caller calling again a minute later is a new call.
    freezer.tick(timedelta(seconds=60))
    push.hub.async_process([bare])
    await hass.async_block_till_done()
    assert push.types() == ["incoming", "incoming"]


async def test_unanswered_call_is_missed_after_grace(
    hass: HomeAssistant, push: Harness, freezer: FrozenDateTimeFactory
) -> None:
    push.hub.async_process([call_event(CallEventType.INCOMING)])
    push.hub.async_process([call_event(CallEventType.HANGUP, direction=CallDirection.UNKNOWN)])
    await hass.async_block_till_done()
    assert push.types() == ["incoming", "hangup"]
    freezer.tick(timedelta(seconds=MISSED_GRACE_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert push.types() == ["incoming", "hangup", "missed"]
    missed = push.calls[-1].data
    assert (missed["direction"], missed["caller"]) == ("incoming", "+420777123456")
    assert push.coordinator.data.missed_calls_today == 3


async def test_late_answer_cancels_missed_and_keeps_call_ended(
    hass: HomeAssistant, push: Harness, freezer: FrozenDateTimeFactory
) -> None:
    """The hangup overtook the answer: no missed call, and the call does not come back."""
    push.hub.async_process([call_event(CallEventType.RINGING, agent_id="jana")])
    push.hub.async_process([call_event(CallEventType.HANGUP, agent_id="jana")])
    await hass.async_block_till_done()
    assert push.coordinator.data.calls == {}
    assert push.coordinator.data.agents["jana"].state is AgentState.IDLE
    push.hub.async_process([call_event(CallEventType.ANSWERED, agent_id="jana")])
    freezer.tick(timedelta(seconds=MISSED_GRACE_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert push.types() == ["ringing", "hangup", "answered"]
    assert push.coordinator.data.calls == {}
    assert push.coordinator.data.agents["jana"].state is AgentState.IDLE
    assert push.coordinator.data.missed_calls_today == 2


async def test_provider_missed_is_not_doubled(
    hass: HomeAssistant, push: Harness, freezer: FrozenDateTimeFactory
) -> None:
    """Telfa says itself that a hangup was missed: the hub adds no second one."""
    push.hub.async_process([call_event(CallEventType.HANGUP), call_event(CallEventType.MISSED)])
    push.hub.async_process([call_event(CallEventType.MISSED)])
    freezer.tick(timedelta(seconds=MISSED_GRACE_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert push.types() == ["hangup", "missed"]
    assert push.coordinator.data.missed_calls_today == 3


async def test_outgoing_and_answered_calls_are_not_missed(
    hass: HomeAssistant, push: Harness, freezer: FrozenDateTimeFactory
) -> None:
    push.hub.async_process(
        [
            call_event(CallEventType.OUTGOING, call_id="out", direction=CallDirection.UNKNOWN),
            call_event(CallEventType.HANGUP, call_id="out", direction=CallDirection.UNKNOWN),
            call_event(CallEventType.INCOMING, call_id="in"),
            call_event(CallEventType.TRANSFERRED, call_id="in", agent_id="jana"),
            call_event(CallEventType.HANGUP, call_id="in"),
        ]
    )
    freezer.tick(timedelta(seconds=MISSED_GRACE_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert push.types() == ["outgoing", "hangup", "incoming", "transferred", "hangup"]
    assert push.calls[1].data["direction"] == "outgoing"  # completed from the first hook


async def test_webhook_events_change_the_snapshot_at_once(
    hass: HomeAssistant, push: Harness
) -> None:
    data = push.coordinator.data
    polled_caller = data.last_caller
    push.hub.async_process([call_event(CallEventType.INCOMING, line="101")])
    assert push.coordinator.data.calls["c1"].state is CallState.RINGING
    assert push.coordinator.data.last_caller == "+420777123456"
    push.hub.async_process([call_event(CallEventType.QUEUED, queue_id="q1")])
    assert push.coordinator.data.calls["c1"].state is CallState.QUEUED
    assert push.coordinator.data.calls["c1"].queue_id == "q1"
    push.hub.async_process([call_event(CallEventType.RINGING, agent_id="jana")])
    assert push.coordinator.data.agents["jana"].state is AgentState.RINGING
    assert push.coordinator.data.agents["jana"].call_partner == "+420777123456"
    push.hub.async_process([call_event(CallEventType.ANSWERED, agent_id="jana")])
    call = push.coordinator.data.calls["c1"]
    assert (call.state, call.agent_id, call.answered) == (CallState.ANSWERED, "jana", T0)
    assert push.coordinator.data.agents["jana"].state is AgentState.IN_CALL
    push.hub.async_process([call_event(CallEventType.HANGUP)])
    assert push.coordinator.data.calls == {}
    assert push.coordinator.data.agents["jana"] == AGENT
    # The polled snapshot stays as the poll brought it: hooks change a copy of it.
    assert data.calls == {}
    assert data.last_caller == polled_caller != "+420777123456"
    assert data.agents["jana"] == AGENT
    await hass.async_block_till_done()


async def test_answer_without_earlier_hooks_creates_the_call(
    hass: HomeAssistant, push: Harness
) -> None:
    push.hub.async_process(
        [
            call_event(CallEventType.OUTGOING, call_id="o", direction=CallDirection.OUTGOING),
            call_event(CallEventType.ANSWERED, call_id="new", agent_id="nobody"),
            call_event(CallEventType.INCOMING, call_id=None, caller=None),
        ]
    )
    calls = push.coordinator.data.calls
    assert calls["new"].answered == T0
    assert calls["o"].direction is CallDirection.OUTGOING
    assert push.coordinator.data.last_caller is None
    await hass.async_block_till_done()


async def test_sms_fires_once_and_outgoing_sms_not_at_all(
    hass: HomeAssistant, push: Harness
) -> None:
    message = SmsMessage("9", SmsDirection.INCOMING, "+420608608608", "+420602", "Ahoj", None, T0)
    sent = SmsMessage("10", SmsDirection.OUTGOING, "+420602", "+420608608608", "Hi")
    push.hub.async_process([message, message, sent])
    await hass.async_block_till_done()
    assert [event.data for event in push.sms] == [
        {
            "config_entry_id": push.entry.entry_id,
            "device_id": None,  # the harness has no account device
            "provider": "push",
            "type": "received",
            "sms_id": "9",
            "sender": "+420608608608",
            "sender_name": None,
            "recipient": "+420602",
            "text": "Ahoj",
            "timestamp": "2026-11-23T10:00:00+00:00",
        }
    ]


def test_sms_key_without_id_is_stable() -> None:
    one = SmsMessage(None, SmsDirection.INCOMING, "+1", "+2", "text", timestamp=T0)
    assert sms_key(one) == sms_key(
        SmsMessage(None, SmsDirection.INCOMING, "+1", "+2", "text", timestamp=T0)
    )
    assert sms_key(one) != sms_key(SmsMessage(None, SmsDirection.INCOMING, "+1", "+2", "other"))
    assert sms_key(SmsMessage("5", SmsDirection.INCOMING, None, None, "")) == "id:5"


# --- polling ---------------------------------------------------------------------------


def polled_call(call_id: str, **kw: Any) -> Call:
    defaults: dict[str, Any] = {
        "direction": CallDirection.INCOMING,
        "state": CallState.RINGING,
        "caller": "+972501234567",
        "callee": "+97227654321",
    }
    return Call(call_id=call_id, **(defaults | kw))


async def test_polling_derives_the_call_lifecycle(hass: HomeAssistant, poll: Harness) -> None:
    await poll.poll(calls={"a": polled_call("a")})
    await poll.poll(calls={"a": polled_call("a", state=CallState.ANSWERED, agent_id="jana")})
    await poll.poll(calls={})
    assert poll.types() == ["incoming", "answered", "hangup"]
    assert poll.calls[1].data["agent"] == "jana"
    # Polling-derived events leave the provider's own counts alone.
    assert poll.coordinator.data.missed_calls_today == 2


async def test_polled_calls_name_the_last_caller(hass: HomeAssistant, poll: Harness) -> None:
    """Where the polls list the calls, the caller of a new one is the last caller until the
    provider names a newer one; a hook's caller too, while the calls stay the poll's."""
    await poll.poll(calls={})
    await poll.poll(calls={"a": polled_call("a")})
    assert poll.coordinator.data.last_caller == "+972501234567"
    await poll.poll(calls={})  # the provider names no last caller: the call's stays
    assert poll.coordinator.data.last_caller == "+972501234567"
    await poll.poll(
        calls={
            "o": polled_call("o", direction=CallDirection.OUTGOING, caller="+97221"),
            # A list that does not say which way a call goes names our line as its caller.
            "u": polled_call("u", direction=CallDirection.UNKNOWN, caller="403368"),
        }
    )
    assert poll.coordinator.data.last_caller == "+972501234567"  # no caller of ours
    await poll.poll(last_caller="+972509999999")  # the provider names a newer one
    assert poll.coordinator.data.last_caller == "+972509999999"
    poll.hub.async_process([call_event(CallEventType.INCOMING, call_id="hooked")])
    assert poll.coordinator.data.last_caller == "+420777123456"
    assert "hooked" not in poll.coordinator.data.calls  # the calls are the poll's word
    await poll.poll()
    assert poll.coordinator.data.last_caller == "+420777123456"
    assert poll.snapshot.last_caller == "+972509999999"  # the polled data stays as it came


async def test_polling_derives_missed_queued_and_outgoing(
    hass: HomeAssistant, poll: Harness, freezer: FrozenDateTimeFactory
) -> None:
    await poll.poll(
        calls={
            "q": polled_call("q", state=CallState.QUEUED, queue_id="sales"),
            "o": polled_call("o", direction=CallDirection.OUTGOING),
            "i": polled_call("i", direction=CallDirection.INTERNAL),
            "a": polled_call("a", state=CallState.ANSWERED),
        }
    )
    await poll.poll(calls={})
    freezer.tick(timedelta(seconds=MISSED_GRACE_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    by_call: dict[str, list[str]] = {}
    for event in poll.calls:
        by_call.setdefault(event.data["call_id"], []).append(event.data["type"])
    assert by_call == {
        "q": ["incoming", "queued", "hangup", "missed"],
        "o": ["outgoing", "hangup"],
        "i": ["incoming", "hangup"],
        "a": ["incoming", "answered", "hangup"],
    }


async def test_first_poll_is_a_baseline(hass: HomeAssistant) -> None:
    """Calls and SMS already there when the account is added are not news."""
    entry = MockConfigEntry(domain=DOMAIN, title="Office", unique_id="acc-1")
    entry.add_to_hass(hass)
    old_sms = SmsMessage("1", SmsDirection.INCOMING, "+972501", "+9722", "old")
    harness = await make_harness_with(hass, entry, calls={"a": polled_call("a")}, sms=(old_sms,))
    await harness.poll()
    assert harness.calls == []
    assert harness.sms == []
    await harness.hub.async_stop()


async def make_harness_with(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    *,
    calls: dict[str, Call],
    sms: tuple[SmsMessage, ...],
) -> Harness:
    """A polling harness whose very first snapshot already has `calls` and `sms`."""
    first = Snapshot(**{**vars_of(base_snapshot()), "calls": calls, "received_sms": sms})
    return await make_harness(hass, PollClient, entry, first)


async def test_polled_sms_fire_once(hass: HomeAssistant, poll: Harness) -> None:
    first = SmsMessage("1", SmsDirection.INCOMING, "+972501", "+9722", "שלום")
    second = SmsMessage(None, SmsDirection.INCOMING, "+972503", "+9722", "again", timestamp=T0)
    sent = SmsMessage("3", SmsDirection.OUTGOING, "+9722", "+972501", "out")
    await poll.poll(received_sms=(first, sent))
    await poll.poll(received_sms=(first, second, sent))
    await poll.poll(received_sms=(first, second, sent))
    assert [(e.data["sms_id"], e.data["text"]) for e in poll.sms] == [
        ("1", "שלום"),
        (None, "again"),
    ]


async def test_restart_neither_repeats_nor_loses(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """What was seen is stored: after a restart, only what changed meanwhile fires."""
    entry = MockConfigEntry(domain=DOMAIN, title="Office", unique_id="acc-1")
    entry.add_to_hass(hass)
    before = await make_harness(hass, PollClient, entry)
    first = SmsMessage("1", SmsDirection.INCOMING, "+972501", "+9722", "one")
    await before.poll(calls={"a": polled_call("a"), "b": polled_call("b")}, received_sms=(first,))
    assert before.types() == ["incoming", "incoming"]
    await before.hub.async_stop()
    assert hass_storage[storage_key(entry.entry_id)]["data"]["calls"].keys() == {"a", "b"}

    # While Home Assistant was down, call "a" ended and a second SMS arrived.
    second = SmsMessage("2", SmsDirection.INCOMING, "+972502", "+9722", "two")
    after = await make_harness_with(hass, entry, calls={"b": polled_call("b")}, sms=(first, second))
    assert [(e.data["call_id"], e.data["type"]) for e in after.calls] == [
        ("a", "hangup"),
        ("a", "missed"),
    ]
    assert [e.data["sms_id"] for e in after.sms] == ["2"]
    await after.hub.async_stop()


async def test_failed_poll_derives_nothing(hass: HomeAssistant, poll: Harness) -> None:
    await poll.poll(calls={"a": polled_call("a")})
    calls_before = len(poll.calls)
    poll.coordinator.async_update_listeners()  # same snapshot object again
    await hass.async_block_till_done()
    assert len(poll.calls) == calls_before


async def test_push_provider_does_not_poll_for_events(
    hass: HomeAssistant, push: Harness, hass_storage: dict[str, Any]
) -> None:
    assert not push.hub.derives_events
    await push.poll(calls={"a": polled_call("a")})
    assert push.calls == []
    await push.hub.async_stop()
    assert storage_key(push.entry.entry_id) not in hass_storage


class SmsPollClient(PushClient):
    """A provider that pushes nothing and lists received SMS, but not calls."""

    provider = "smspoll"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SMS_POLLING})


async def test_sms_only_polling(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    harness = await make_harness(hass, SmsPollClient)
    message = SmsMessage("1", SmsDirection.INCOMING, "+972501", "+9722", "hi")
    await harness.poll(calls={"a": polled_call("a")}, received_sms=(message,))
    assert harness.calls == []
    assert [e.data["sms_id"] for e in harness.sms] == ["1"]
    await harness.hub.async_stop()
    assert hass_storage[storage_key(harness.entry.entry_id)]["data"] == {
        "calls": {},
        "sms": ["id:1"],
    }


async def test_stop_cancels_pending_missed_call(
    hass: HomeAssistant, push: Harness, freezer: FrozenDateTimeFactory
) -> None:
    push.hub.async_process([call_event(CallEventType.HANGUP)])
    await push.hub.async_stop()
    freezer.tick(timedelta(seconds=MISSED_GRACE_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert push.types() == ["hangup"]


async def test_second_missed_report_of_a_call_is_dropped(
    hass: HomeAssistant, push: Harness
) -> None:
    push.hub.async_process([call_event(CallEventType.MISSED)])
    push.hub.async_process([call_event(CallEventType.MISSED, agent_id="jana")])
    push.hub.async_process([call_event(CallEventType.ANSWERED, call_id=None)])
    await hass.async_block_till_done()
    assert push.types() == ["missed", "answered"]
    assert push.coordinator.data.missed_calls_today == 3


async def test_memory_stays_bounded(
    hass: HomeAssistant,
    push: Harness,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("custom_components.pbx_bridge.events.tracking.MAX_REMEMBERED", 3)
    for number in range(5):
        push.hub.async_process([call_event(CallEventType.HANGUP, call_id=f"c{number}")])
    assert len(push.hub._seen) == 3
    assert list(push.hub._calls) == ["c2", "c3", "c4"]
    # The oldest calls were forgotten with their pending missed-call checks.
    freezer.tick(timedelta(seconds=MISSED_GRACE_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [e.data["call_id"] for e in push.calls if e.data["type"] == "missed"] == [
        "c2",
        "c3",
        "c4",
    ]
    # Hours later, finished calls and old repeats are forgotten.
    freezer.tick(timedelta(hours=7))
    push.hub.async_process([call_event(CallEventType.INCOMING, call_id="late")])
    push.hub.async_process([call_event(CallEventType.RINGING, call_id="late")])
    push.hub.async_process([call_event(CallEventType.ANSWERED, call_id="late")])
    assert list(push.hub._calls) == ["late"]
    assert {key[2] for key in push.hub._seen} == {"late"}
    await hass.async_block_till_done()


async def test_unique_call_ids_keep_memory_bounded(
    hass: HomeAssistant, push: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls whose hangup never comes: the hub and the overlaid calls stay within bounds."""
    monkeypatch.setattr("custom_components.pbx_bridge.events.tracking.MAX_REMEMBERED", 50)
    for number in range(500):
        push.hub.async_process([call_event(CallEventType.RINGING, call_id=f"u{number}")])
    assert len(list(push.hub._calls)) == 50
    assert len(push.hub._seen) == 50
    assert len(push.coordinator.data.calls) == 50
    assert "u499" in push.coordinator.data.calls
    await hass.async_block_till_done()


async def test_a_hooks_last_caller_survives_a_poll_that_has_not_seen_the_call(
    hass: HomeAssistant, push: Harness
) -> None:
    await push.poll(last_caller="+420601000001")
    push.hub.async_process([call_event(CallEventType.INCOMING, call_id="h1")])
    assert push.coordinator.data.last_caller == "+420777123456"
    # The provider still names the older caller: the hook's is newer and stays.
    await push.poll(last_caller="+420601000001")
    assert push.coordinator.data.last_caller == "+420777123456"
    assert push.snapshot.calls == {}  # the polled snapshot itself is left as it came
    # Once the provider names another caller, the poll's word counts again.
    await push.poll(last_caller="+420601000002")
    assert push.coordinator.data.last_caller == "+420601000002"
    await push.poll(last_caller="+420601000001")
    assert push.coordinator.data.last_caller == "+420601000001"
