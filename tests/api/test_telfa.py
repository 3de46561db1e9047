"""The Telfa client against the simulator and the documented examples."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime, timedelta, timezone
import json
import logging
from pathlib import Path
import re
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
import pytest

from custom_components.pbx_bridge.api.declaration import OPTION_SMS_SENDER
from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.api.models import (
    AccountInfo,
    AgentState,
    AnnounceRequest,
    CallDirection,
    CallEvent,
    CallEventType,
    CallState,
    Capability,
    DialRequest,
    DialSource,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    Listing,
    ProblemKind,
    ProviderProblem,
    SmsDirection,
    SmsMessage,
    SmsRequest,
    TransferRequest,
    WebhookItem,
    WebhookRequest,
)
from custom_components.pbx_bridge.api.providers.telfa import (
    LOGINS_LEARNED_PER_POLL,
    MAX_XML_DEPTH,
    OPTION_DIAL_METHOD,
    OPTION_HOOK_NUMBERS,
    OPTION_SMS_POLLING,
    XML_CHUNK,
    TelfaClient,
    parse_time,
    safe_xml,
    xml_fields,
    xml_records,
)
from custom_components.pbx_bridge.api.registry import client_class
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.state import CallStatus, SimNumber, SimState
from pbx_simulator.testing import RunningSimulator, start_simulator
from tests.api.faults import READ_FAULT_ERRORS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telfa"
PRAGUE = ZoneInfo("Europe/Prague")
API_KEY = "612e90b65911f626d4609d368c34fb69"
HOOK = "https://ha.example/api/webhook/abc"
DETAILS = "GET /telfa_users/user_by_id"


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_client(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    *,
    options: Mapping[str, Any] | None = None,
    timeout: float = 5.0,
) -> TelfaClient:
    return TelfaClient(session, running.config["telfa"], options=options, timeout=timeout)


def only_request(running: RunningSimulator, endpoint: str) -> Any:
    (request,) = running.sim.requests_for("telfa", endpoint)
    assert request.headers["api_key"] == API_KEY
    assert "api_key" not in request.query  # the key never travels in a URL
    return request


def webhook(body: bytes, method: str = "POST") -> WebhookRequest:
    return WebhookRequest(method, {"Content-Type": "application/xml"}, {}, body)


# --- declarations and helpers ---------------------------------------------------------------


def test_declarations() -> None:
    assert client_class("telfa") is TelfaClient
    assert TelfaClient.title == "Telfa"
    assert TelfaClient.default_base_url == "https://telfa.cz"
    fields = {f.key: f for f in TelfaClient.connection_fields}
    assert set(fields) == {"api_key", "base_url"}
    assert fields["api_key"].secret
    assert fields["base_url"].is_url
    assert not fields["base_url"].required
    assert TelfaClient.webhook_methods == {"POST"}
    assert TelfaClient.default_country_code == "420"
    assert TelfaClient.capabilities == {
        Capability.AGENTS,
        Capability.AGENT_LOGIN,
        Capability.QUEUES,
        Capability.ACTIVE_CALLS,
        Capability.MISSED_CALLS,
        Capability.DIAL,
        Capability.HANGUP,
        Capability.TRANSFER,
        Capability.ANNOUNCE,
        Capability.SEND_SMS,
        Capability.CALL_WEBHOOK,
        Capability.SMS_WEBHOOK,
        Capability.REGISTER_WEBHOOK,
    }


async def test_format_number_and_repr(session: aiohttp.ClientSession) -> None:
    client = TelfaClient(session, {"api_key": API_KEY})
    assert client.base_url == "https://telfa.cz"
    assert client.format_number("+420777123456") == "777123456"
    assert client.format_number("+421900123456") == "00421900123456"
    assert client.format_number("101") == "101"
    assert API_KEY not in repr(client)


def test_parse_time_reads_every_documented_format() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert parse_time("2014-02-24T10:44:49Z") == datetime(2014, 2, 24, 10, 44, 49, tzinfo=UTC)
    assert parse_time("2009-10-11T13:41:59+02:00") == datetime(
        2009, 10, 11, 13, 41, 59, tzinfo=plus_two
    )
    assert parse_time("2014/06/16 23:41:08 +0000") == datetime(2014, 6, 16, 23, 41, 8, tzinfo=UTC)
    assert parse_time("2009/10/11 13:41:59+02:00") == datetime(
        2009, 10, 11, 13, 41, 59, tzinfo=plus_two
    )
    assert parse_time("2022-09-07 23:09:29") == datetime(2022, 9, 7, 23, 9, 29, tzinfo=PRAGUE)
    assert parse_time("2020-01-01T00:00:00-0130") == datetime(
        2020, 1, 1, 0, 0, tzinfo=timezone(-timedelta(hours=1, minutes=30))
    )
    assert parse_time("2020-13-01 00:00") is None
    assert parse_time("yesterday") is None
    assert parse_time(None) is None


def test_safe_xml_refuses_dtds_and_garbage() -> None:
    with pytest.raises(ValueError, match="DTD"):
        safe_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><call>&a;</call>')
    with pytest.raises(ValueError, match="DTD"):
        safe_xml(b'<!ENTITY a SYSTEM "file:///etc/passwd"><call/>')
    with pytest.raises(ValueError, match="malformed"):
        safe_xml(b"<call><id>1</call>")
    with pytest.raises(UnicodeDecodeError):
        safe_xml(b"<call>\xff</call>")


@pytest.mark.parametrize("padding", [0, XML_CHUNK], ids=["small body", "large body"])
def test_safe_xml_refuses_deep_nesting_whatever_the_size(padding: int) -> None:
    """A small body is built at once and checked after, a large one while it is read."""

    def nested(levels: int) -> bytes:
        return b"<a>" * levels + b" " * padding + b"</a>" * levels

    assert safe_xml(nested(MAX_XML_DEPTH)).tag == "a"
    with pytest.raises(ValueError, match="nested too deeply"):
        safe_xml(nested(MAX_XML_DEPTH + 1))
    with pytest.raises(ValueError, match="malformed"):
        safe_xml(b"<a>" * 3 + b" " * padding)


# --- documented examples ------------------------------------------------------------------


def test_documented_user_details_xml() -> None:
    user = xml_fields(safe_xml(fixture("user_by_id.xml")))
    assert user["id"] == 15
    assert user["user_id"] == 95
    assert user["login"] == "marek.telfa.cz"
    assert user["is_admin"] is True
    assert user["call_to_links"] is False
    assert user["daily_call_cost_limit"] is None  # nil="true"
    assert user["allow_only_from_ip"] is None  # an empty string element
    assert user["created_at"] == datetime(2009, 3, 8, 22, 33, 59, tzinfo=UTC)
    assert user["phone_number"] == "601234567"


def test_documented_xml_arrays() -> None:
    (user,) = xml_records(safe_xml(fixture("users_status.xml")))
    assert user == {
        "available": True,
        "email": "marek@livispace.cz",
        "id": 4516,
        "name": "Marek Livispace",
        "presence_changed_at": datetime(2014, 2, 24, 10, 44, 49, tzinfo=UTC),
        "present": True,
    }
    group = xml_fields(safe_xml(fixture("call_group.xml")))
    assert group["call_groups_telfa_users"] == [
        {"telfa_user_id": 2, "name": "Marek Slivanský", "sequence": 1, "mobile": False}
    ]
    (listed,) = xml_records(safe_xml(fixture("call_groups.xml")))
    assert listed["average_call_length"] == 321
    assert xml_records(safe_xml(fixture("calls_empty_page.xml"))) == []
    (call,) = xml_records(safe_xml(fixture("calls.xml")))
    assert call["id"] == "13576"
    assert call["answered_at"] is None
    assert call["group_start_at"] is None  # <group_start_at></group_start_at>
    assert call["recording_file_name"] == "/calls/13110/recording"


def test_typed_values_of_unusual_elements() -> None:
    root = safe_xml(b'<x><n type="integer">abc</n><d type="datetime">never</d><o><i>1</i></o></x>')
    assert xml_fields(root) == {"n": "abc", "d": None, "o": {"i": "1"}}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "incoming_hook.xml",
            (
                [CallEventType.INCOMING],
                CallDirection.INCOMING,
                "2009-10-11T13:41:59+02:00",
                None,
            ),
        ),
        (
            "ring_hook.xml",
            (
                [CallEventType.RINGING],
                CallDirection.INCOMING,
                "2009-10-11T13:42:05+02:00",
                "jan.kubr.livispace.cz",
            ),
        ),
        (
            "transfer_hook.xml",
            (
                [CallEventType.ANSWERED],  # "when the operator picks up" (T:1065)
                CallDirection.INCOMING,
                "2009-10-11T13:42:10+02:00",
                "jan.kubr.livispace.cz",
            ),
        ),
        (
            "group_hook.xml",
            (
                [CallEventType.QUEUED],
                CallDirection.INCOMING,
                "2009-10-11T13:42:10+02:00",
                None,
            ),
        ),
        (
            "outgoing_hook.xml",
            (
                [CallEventType.OUTGOING],
                CallDirection.OUTGOING,
                "2017-10-11T13:41:59+02:00",
                "marek.telfa.cz",  # the caller is the user's login (T:1101)
            ),
        ),
        (
            "hangup_hook.xml",
            (
                [CallEventType.HANGUP],
                CallDirection.INCOMING,
                "2009-10-11T13:42:10+02:00",
                "jan.kubr.livispace.cz",
            ),
        ),
    ],
)
async def test_documented_call_hooks(
    session: aiohttp.ClientSession,
    name: str,
    expected: tuple[list[CallEventType], CallDirection, str, str | None],
) -> None:
    event_types, direction, timestamp, agent = expected
    client = TelfaClient(session, {"api_key": API_KEY})
    events = client.parse_webhook(webhook(fixture(name)))
    assert [e.event_type for e in events if isinstance(e, CallEvent)] == event_types
    event = events[0]
    assert isinstance(event, CallEvent)
    assert event.direction is direction
    assert event.timestamp == parse_time(timestamp)
    assert event.agent_id == agent
    assert event.raw["hook_type"] == name.removesuffix(".xml")
    if direction is CallDirection.INCOMING:
        assert (event.caller, event.callee, event.line) == (
            "+420777123456",
            "+420245008328",
            "+420245008328",
        )
    else:
        assert (event.call_id, event.caller, event.callee, event.line) == (
            "345032",
            "marek.telfa.cz",
            "+420777123456",
            None,
        )


async def test_documented_sms_hook(session: aiohttp.ClientSession) -> None:
    client = TelfaClient(session, {"api_key": API_KEY})
    (message,) = client.parse_webhook(
        WebhookRequest("POST", {"Content-Type": "application/json"}, {}, fixture("sms_hook.json"))
    )
    assert message == SmsMessage(
        sms_id="1410972",
        direction=SmsDirection.INCOMING,
        sender="+420608608608",
        recipient="+420602602602",
        text="Dobrý večer, jak se máte?",
        status="received",
        timestamp=datetime(2022, 9, 7, 23, 9, 29, tzinfo=PRAGUE),
    )
    assert message.raw["number_id"] == "857"
    assert "sender_name" not in message.raw  # null


async def test_hangup_of_an_unanswered_incoming_call_is_missed(
    session: aiohttp.ClientSession,
) -> None:
    client = TelfaClient(session, {"api_key": API_KEY})
    body = fixture("hangup_hook.xml").replace(
        b"<answered_at>2009-10-11T13:42:05+02:00</answered_at>", b"<answered_at/>"
    )
    events = client.parse_webhook(webhook(body))
    assert [e.event_type for e in events if isinstance(e, CallEvent)] == [
        CallEventType.HANGUP,
        CallEventType.MISSED,
    ]
    # Without an answered_at element the payload does not tell: no MISSED.
    body = fixture("hangup_hook.xml").replace(
        b"<answered_at>2009-10-11T13:42:05+02:00</answered_at>", b""
    )
    assert len(client.parse_webhook(webhook(body))) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello",
        b"<call><hook_type>incoming_hook</hook_type>",
        b'<!DOCTYPE call [<!ENTITY x "y">]><call><hook_type>incoming_hook</hook_type></call>',
        b"<sms><hook_type>incoming_hook</hook_type><id>1</id></sms>",
        b"<call><hook_type>unknown_hook</hook_type><id>1</id></call>",
        b"<call><hook_type>incoming_hook</hook_type></call>",
        b"<call>\xff</call>",
        b"{not json",
        b'{"id": 1}',
        b'{"message": 5}',
        b"{\xff}",
    ],
)
async def test_malformed_webhooks_are_invalid_input(
    session: aiohttp.ClientSession, body: bytes
) -> None:
    client = TelfaClient(session, {"api_key": API_KEY})
    with pytest.raises(PbxInvalidInput):
        client.parse_webhook(webhook(body))


async def test_webhooks_are_posts(session: aiohttp.ClientSession) -> None:
    client = TelfaClient(session, {"api_key": API_KEY})
    with pytest.raises(PbxInvalidInput):
        client.parse_webhook(webhook(fixture("incoming_hook.xml"), method="GET"))


async def test_documented_responses_over_http(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """A snapshot built from the documented examples, served as Telfa would.

    The group's members come from its XML (T:484-498): the documented JSON of it lacks
    the comma after "name" (T:508), and no JSON parser reads it.
    """
    group_id = json.loads(fixture("call_groups.json"))["id"]
    bodies = {
        "/telfa_users/status.json": fixture("users_status.json"),
        "/call_groups.json": fixture("call_groups.json"),
        f"/call_groups/{group_id}.xml": fixture("call_group.xml"),
        f"/call_groups/{group_id}.json": fixture("call_group.json"),
        "/calls/all_current.xml": fixture("calls.xml"),
        "/calls.json": fixture("calls.json"),
    }

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=bodies[request.path])

    app = web.Application()
    app.router.add_get("/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client = TelfaClient(session, {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{port}"})
        client._account = AccountInfo("95", "Telfa 95")
        snapshot = await client.async_fetch_snapshot()
    finally:
        await runner.cleanup()
    (agent,) = snapshot.agents.values()
    assert (agent.agent_id, agent.name, agent.state) == ("744", "Marek Livispace", AgentState.IDLE)
    assert agent.state_since == datetime(2014, 6, 16, 23, 41, 8, tzinfo=UTC)
    queue = snapshot.queues["1"]
    assert (queue.name, queue.member_ids, queue.waiting_calls) == ("Operátoři", ("2",), 0)
    assert queue.average_talk_time == 321
    assert snapshot.complete == {Listing.AGENTS, Listing.QUEUES}
    assert snapshot.problems == ()
    call = snapshot.calls["13576"]
    assert (call.state, call.direction, call.caller, call.queue_id, call.agent_id) == (
        CallState.ANSWERED,  # bridged at 13:42:19
        CallDirection.INCOMING,
        "+420777123456",
        "5",
        "1",
    )
    assert call.answered == parse_time("2009-10-11T13:42:19+02:00")
    assert snapshot.missed_calls_today == 0
    assert snapshot.last_caller == "+420777123456"


# --- against the simulator ----------------------------------------------------------------


async def test_validate(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(session, pbx_simulator)
    account = await client.async_validate()
    assert account == AccountInfo(pbx_simulator.state.account_id, f"Telfa {account.account_id}")
    only_request(pbx_simulator, "GET /telfa_users/status")
    request = only_request(pbx_simulator, "GET /telfa_users/user_by_id")
    assert request.query == {"id": "1"}
    # The account id is stable: another user's key gives the same one.
    pbx_simulator.state.remove_agent("1")
    assert await client.async_validate() == account


async def test_validate_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    config = pbx_simulator.config["telfa"]
    with pytest.raises(PbxAuthError):
        await TelfaClient(session, {**config, "api_key": "wrong"}).async_validate()
    with pytest.raises(PbxInvalidInput):
        await TelfaClient(session, {**config, "api_key": " "}).async_validate()
    for agent_id in list(pbx_simulator.state.agents):
        pbx_simulator.state.remove_agent(agent_id)
    with pytest.raises(PbxResponseError, match="no users"):
        await make_client(session, pbx_simulator).async_validate()


async def test_snapshot_matches_the_state(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    state.agent_logout("4")
    queued = state.incoming_call("+420777123456", queue_id="1")
    talking = state.incoming_call("+420777123457", queue_id="2")
    state.answer(talking.id, "3")
    done = state.incoming_call("+420777123458", queue_id="2")
    state.answer(done.id, "5")
    state.hangup(done.id)
    missed = state.incoming_call("+420777123459", queue_id="1")
    state.hangup(missed.id)
    outgoing = state.originate("101", "602123456", agent_id="1")
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.account.account_id == state.account_id
    assert set(snapshot.agents) == set(state.agents)
    for agent_id, agent in snapshot.agents.items():
        sim_agent = state.agents[agent_id]
        assert agent.name == sim_agent.name
        assert agent.logged_in == sim_agent.logged_in
        assert set(agent.queue_ids) == set(sim_agent.queue_ids)
    assert snapshot.agents["4"].state is AgentState.LOGGED_OUT
    assert snapshot.agents["3"].state is AgentState.IN_CALL
    assert snapshot.agents["2"].state is AgentState.IDLE
    assert set(snapshot.queues) == set(state.queues)
    sales, support = snapshot.queues["1"], snapshot.queues["2"]
    assert sales.name == state.queues["1"].name
    assert sales.member_ids == tuple(state.queues["1"].member_ids)
    assert (sales.waiting_calls, sales.completed, sales.abandoned) == (1, 0, 1)
    assert sales.longest_wait is not None
    assert sales.longest_wait >= 0
    assert (support.waiting_calls, support.completed, support.abandoned) == (0, 1, 0)
    assert sales.agents_logged_in == sum(
        state.agents[a].logged_in for a in state.queues["1"].member_ids
    )
    assert set(snapshot.calls) == {queued.id, talking.id, outgoing.id}
    assert snapshot.calls[queued.id].state is CallState.QUEUED
    assert snapshot.calls[queued.id].caller == "+420777123456"
    assert snapshot.calls[talking.id].state is CallState.ANSWERED
    assert snapshot.calls[talking.id].agent_id == "3"
    assert snapshot.calls[outgoing.id].direction is CallDirection.OUTGOING
    assert snapshot.calls[outgoing.id].state is CallState.RINGING
    assert snapshot.calls[outgoing.id].caller == "agent1.demo.telfa.cz"
    assert snapshot.missed_calls_today == 1
    assert snapshot.last_caller == "+420777123459"
    request = only_request(pbx_simulator, "GET /calls")
    assert request.query["per_page"] == "2000"
    assert request.query["from"] == datetime.now(PRAGUE).strftime("%Y-%m-%d 00:00")
    # The account is read once, and each user's details once, for the login hooks name.
    await client.async_fetch_snapshot()
    details = pbx_simulator.sim.requests_for("telfa", "GET /telfa_users/user_by_id")
    assert sorted(request.query["id"] for request in details) == sorted(state.agents)


async def test_snapshot_pages_through_a_busy_day(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.pbx_bridge.api.providers.telfa.CALLS_PER_PAGE", 3)
    for n in range(7):
        pbx_simulator.state.hangup(pbx_simulator.state.incoming_call(f"+42077700000{n}").id)
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    assert snapshot.missed_calls_today == 7
    assert len(pbx_simulator.sim.requests_for("telfa", "GET /calls")) == 3


async def test_account_and_logins_come_from_the_documented_user_details(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """The docs show a user's details as XML only (T:355-384): the account id is its
    `user-id`, and a hook naming its `login` names the user by its `id`, with nothing asked."""
    bodies = {
        "/telfa_users/status.json": fixture("users_status.json"),
        "/telfa_users/user_by_id.xml": fixture("user_by_id.xml"),
    }
    asked: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(body=bodies[request.path], content_type="application/xml")

    app = web.Application()
    app.router.add_get("/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = TelfaClient(session, {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{port}"})
    try:
        assert await client.async_validate() == AccountInfo("95", "Telfa 95")
        body = fixture("transfer_hook.xml").replace(b"jan.kubr.livispace.cz", b"marek.telfa.cz")
        events = client.parse_webhook(webhook(body))
        asked.clear()
        (event,) = client.resolve_webhook_items(events, None)
    finally:
        await runner.cleanup()
    assert isinstance(event, CallEvent)
    assert event.agent_id == "15"
    assert asked == []


@pytest.mark.parametrize(
    ("path", "body", "match"),
    [
        ("/telfa_users/status.json", '"text"', "not a list"),
        ("/telfa_users/user_by_id.xml", "[]", "unreadable XML"),
        ("/telfa_users/user_by_id.xml", '<telfa-user type="array"/>', "user_id"),
        (
            "/telfa_users/user_by_id.xml",
            '<user><user-id type="integer">9</user-id></user>',
            "malformed",
        ),
        ("/call_groups.json", '[{"name": "x"}]', "without an id"),
        ("/telfa_users/status.json", '[{"id": 1}, {"name": "x"}]', "without an id"),
        ("/calls/all_current.xml", "<calls", "unreadable XML"),
    ],
)
async def test_snapshot_refuses_malformed_answers(
    session: aiohttp.ClientSession, socket_enabled: None, path: str, body: str, match: str
) -> None:
    good = {
        "/telfa_users/status.json": '[{"id": 1, "present": true}]',
        "/telfa_users/user_by_id.xml": fixture("user_by_id.xml").decode(),
        "/call_groups.json": '[{"id": 1}]',
        "/call_groups/1.xml": '<call-group><id type="integer">1</id></call-group>',
        "/calls/all_current.xml": '<nil-classes type="array"/>',
        "/calls.json": "[]",
    }
    good[path] = body

    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=good[request.path])

    app = web.Application()
    app.router.add_get("/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client = TelfaClient(session, {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{port}"})
        with pytest.raises(PbxResponseError, match=match):
            await client.async_fetch_snapshot()
    finally:
        await runner.cleanup()


async def test_calls_without_id_or_already_ended_are_not_active(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    bodies = {
        "/telfa_users/status.json": "[]",
        "/call_groups.json": "[]",
        "/calls/all_current.xml": (
            '<calls type="array"><call><inbound>true</inbound></call>'
            "<call><id>5</id><hungup_at>2020-01-01T00:00:00Z</hungup_at></call></calls>"
        ),
        "/calls.json": "[]",
    }

    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=bodies[request.path])

    app = web.Application()
    app.router.add_get("/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client = TelfaClient(session, {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{port}"})
        client._account = AccountInfo("95", "Telfa 95")
        snapshot = await client.async_fetch_snapshot()
    finally:
        await runner.cleanup()
    assert snapshot.calls == {}
    assert snapshot.agents == {}


async def test_numbers_are_read_page_by_page(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    for n in range(3, 33):
        pbx_simulator.state.numbers[str(n)] = SimNumber(str(n), f"2450084{n:02d}", f"Line {n}")
    client = make_client(session, pbx_simulator)
    await client.async_register_webhook(HOOK)
    assert all(number.hooks for number in pbx_simulator.state.numbers.values())
    pages = [r.query for r in pbx_simulator.sim.requests_for("telfa", "GET /recipes")]
    assert pages == [{"page": "1"}, {"page": "2"}]


@pytest.mark.parametrize("agents", [10, 500])
async def test_snapshot_costs_the_same_whatever_the_size(
    session: aiohttp.ClientSession, socket_enabled: None, agents: int
) -> None:
    running, runner = await start_simulator(SimState(seed=1, agents=agents, lines=agents))
    try:
        client = make_client(session, running)
        details = ("telfa", "GET /telfa_users/user_by_id")
        await client.async_fetch_snapshot()
        first, first_details = running.sim.count("telfa"), running.sim.counters[details]
        await client.async_fetch_snapshot()
        second_details = running.sim.counters[details] - first_details
        # status, call_groups, 2 x call group, current, calls
        assert first - first_details == 6
        assert running.sim.count("telfa") - first - second_details == 6
        # ... and user details: the account's user's once, then for their logins a bounded
        # number of users a poll, until every user's login is known.
        assert first_details == 1 + min(agents - 1, LOGINS_LEARNED_PER_POLL)
        assert second_details == min(
            max(0, agents - 1 - LOGINS_LEARNED_PER_POLL), LOGINS_LEARNED_PER_POLL
        )
    finally:
        await runner.cleanup()


async def test_dial(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(session, pbx_simulator, options={OPTION_DIAL_METHOD: "both"})
    result = await client.async_dial(
        DialRequest(
            "+420245008328",
            DialSource(DialSourceKind.USER, "agent3.demo.telfa.cz"),
            auto_answer=True,
        )
    )
    request = only_request(pbx_simulator, "POST /calls")
    assert request.query == {
        "number": "245008328",
        "telfa_user_login": "agent3.demo.telfa.cz",
        "method": "both",
        "auto_answer": "true",
    }
    call = pbx_simulator.state.calls[result.call_id or ""]
    assert (call.agent_id, call.callee) == ("3", "245008328")


async def test_dial_by_user_id_and_default_user(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    result = await client.async_dial(
        DialRequest("+421900123456", DialSource(DialSourceKind.USER, "2"))
    )
    assert pbx_simulator.state.calls[result.call_id or ""].agent_id == "2"
    result = await client.async_dial(DialRequest("+420245008328"))
    assert pbx_simulator.state.calls[result.call_id or ""].agent_id == "1"
    first, second = pbx_simulator.sim.requests_for("telfa", "POST /calls")
    assert first.query == {"number": "00421900123456", "telfa_user_id": "2"}
    assert second.query == {"number": "245008328"}


@pytest.mark.parametrize(
    ("request_", "options"),
    [
        (DialRequest("+420245008328", DialSource(DialSourceKind.EXTENSION, "101")), None),
        (DialRequest("+420245008328", caller_id="+420245008329"), None),
        (DialRequest("+420245008328", ring_timeout=20), None),
        (DialRequest("+420245008328"), {OPTION_DIAL_METHOD: "fax"}),
    ],
)
async def test_dial_refusals_send_nothing(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    request_: DialRequest,
    options: dict[str, str] | None,
) -> None:
    with pytest.raises(PbxInvalidInput):
        await make_client(session, pbx_simulator, options=options).async_dial(request_)
    assert pbx_simulator.sim.requests_for("telfa") == []


async def test_dial_refused_by_telfa(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(PbxResponseError) as err:
        await make_client(session, pbx_simulator).async_dial(
            DialRequest("+420245008328", DialSource(DialSourceKind.USER, "nobody"))
        )
    assert (err.value.reason, err.value.code) == ("Telfa user not found", "422")


async def test_announce(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(session, pbx_simulator)
    result = await client.async_announce(
        AnnounceRequest(number="+420245008328", text="ahoj pane", voice="Radka")
    )
    request = only_request(pbx_simulator, "POST /calls/announce")
    assert request.query == {"number": "245008328", "text": "ahoj pane", "voice": "2"}
    assert pbx_simulator.state.calls[result.call_id or ""].announcement == "ahoj pane"
    await client.async_announce(AnnounceRequest(number="+420245008328", text="x", voice="4"))
    await client.async_announce(AnnounceRequest(number="+420245008328", recording="10"))
    queries = [r.query for r in pbx_simulator.sim.requests_for("telfa", "POST /calls/announce")]
    assert queries[1]["voice"] == "4"
    assert queries[2] == {"number": "245008328", "recording_id": "10"}


@pytest.mark.parametrize(
    "request_",
    [
        AnnounceRequest(number="+420245008328", text="x", voice="Karel"),
        AnnounceRequest(number="+420245008328", text="x", voice="7"),
        AnnounceRequest(number="+420245008328"),
        AnnounceRequest(number="+420245008328", text="x", recording="1"),
        AnnounceRequest(text="x"),
        AnnounceRequest(number="+420245008328", recording="welcome.wav"),
        # `voice` is the synthesizer's (T:110-117); a recording plays as it was recorded.
        AnnounceRequest(number="+420245008328", recording="10", voice="2"),
        AnnounceRequest(call_id="1", text="x"),
        AnnounceRequest(call_id="1", recording="1", number="+420245008328"),
        AnnounceRequest(call_id="1"),
        AnnounceRequest(call_id="x1", recording="1"),
        AnnounceRequest(number="+420245008328", text="x", caller_id="+420245008329"),
    ],
)
async def test_announce_refusals_send_nothing(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, request_: AnnounceRequest
) -> None:
    with pytest.raises(PbxInvalidInput):
        await make_client(session, pbx_simulator).async_announce(request_)
    assert pbx_simulator.sim.requests_for("telfa") == []


async def test_hangup(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    call = pbx_simulator.state.incoming_call("+420777123456")
    client = make_client(session, pbx_simulator)
    await client.async_hangup(HangupRequest(HangupTargetKind.CALL, call.id))
    assert call.status is CallStatus.ENDED
    request = only_request(pbx_simulator, "POST /calls/interrupt")
    assert request.headers["Content-Type"] == "application/xml"
    root = safe_xml(request.body.encode())
    assert (root.tag, [(c.tag, c.text) for c in root]) == ("interrupt_call", [("id", call.id)])
    with pytest.raises(PbxResponseError) as err:
        await client.async_hangup(HangupRequest(HangupTargetKind.CALL, call.id))
    assert (err.value.reason, err.value.code) == ("Call not found", "404")
    with pytest.raises(PbxInvalidInput):
        await client.async_hangup(HangupRequest(HangupTargetKind.USER, "1"))


async def test_transfer(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    call = pbx_simulator.state.incoming_call("+420777123456")
    client = make_client(session, pbx_simulator)
    await client.async_transfer(TransferRequest(call.id, "534"))
    assert call.transferred_to == "recipe:534"
    request = only_request(pbx_simulator, "POST /calls/transfer_call")
    root = safe_xml(request.body.encode())
    assert [(c.tag, c.text) for c in root] == [
        ("call_id", call.id),
        ("continue_with_recipe_id", "534"),
    ]
    with pytest.raises(PbxInvalidInput):
        await client.async_transfer(TransferRequest(call.id, "+420777123456"))
    with pytest.raises(PbxResponseError, match="Recipe not found"):
        await client.async_transfer(TransferRequest(call.id, "1"))


async def test_agent_login_and_logout(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    await client.async_agent_logout("2")
    assert not pbx_simulator.state.agents["2"].logged_in
    only_request(pbx_simulator, "POST /telfa_users/{id}/operator_log_out")
    await client.async_agent_login("2")
    assert pbx_simulator.state.agents["2"].logged_in
    request = only_request(pbx_simulator, "POST /telfa_users/{id}/operator_log_in")
    assert request.path == "/telfa_users/2/operator_log_in.xml"
    with pytest.raises(PbxInvalidInput):
        await client.async_agent_login("agent2")
    with pytest.raises(PbxResponseError, match="Telfa user not found"):
        await client.async_agent_login("99")


async def test_unsupported_actions(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxUnsupportedError):
        await client.async_agent_pause("1")
    with pytest.raises(PbxUnsupportedError):
        await client.async_agent_unpause("1")
    with pytest.raises(PbxUnsupportedError):
        await client.async_queue_login("1", "1")
    with pytest.raises(PbxUnsupportedError):
        await client.async_queue_logout("1", "1")
    with pytest.raises(PbxUnsupportedError):
        await client.async_queue_kick("1", "1")
    assert pbx_simulator.sim.requests_for("telfa") == []


async def test_send_sms_from_the_first_gsm_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Without a sender: the first number with a GSM gateway, never the landline before it."""
    client = make_client(session, pbx_simulator)
    result = await client.async_send_sms(SmsRequest(("+420602123456",), "Ahoj"))
    assert result.message_ids == ()
    request = only_request(pbx_simulator, "POST /sms")
    assert json.loads(request.body) == {
        "sms": {"number_id": "2", "recipient": "602123456", "message": "Ahoj"}
    }
    (sms,) = pbx_simulator.state.sms.values()
    assert (sms.sender, sms.recipient, sms.text) == ("245008329", "602123456", "Ahoj")


async def test_send_sms_from_a_chosen_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator, options={OPTION_SMS_SENDER: "2"})
    await client.async_send_sms(SmsRequest(("+420602123456", "+420602123457"), "Ahoj"))
    bodies = [json.loads(r.body) for r in pbx_simulator.sim.requests_for("telfa", "POST /sms")]
    assert [b["sms"]["number_id"] for b in bodies] == ["2", "2"]
    assert [b["sms"]["recipient"] for b in bodies] == ["602123456", "602123457"]
    # A sender given as a number of the account is looked up.
    pbx_simulator.state.numbers["1"].gsm_gateway = True
    await client.async_send_sms(SmsRequest(("+420602123456",), "x", sender="+420245008329"))
    await client.async_send_sms(SmsRequest(("+420602123456",), "x", sender="245008328"))
    bodies = [json.loads(r.body) for r in pbx_simulator.sim.requests_for("telfa", "POST /sms")]
    assert [b["sms"]["number_id"] for b in bodies[2:]] == ["2", "1"]
    # A landline is refused before anything is sent.
    pbx_simulator.state.numbers["1"].gsm_gateway = False
    with pytest.raises(PbxInvalidInput) as err:
        await client.async_send_sms(SmsRequest(("+420602123456",), "x", sender="245008328"))
    assert err.value.translation_key == "sms_invalid_sender"
    assert len(pbx_simulator.sim.requests_for("telfa", "POST /sms")) == 4
    with pytest.raises(PbxInvalidInput):
        await client.async_send_sms(SmsRequest(("+420602123456",), "x", sender="+420111111111"))
    with pytest.raises(PbxInvalidInput):
        await client.async_send_sms(SmsRequest((), "x"))


@pytest.mark.parametrize("numbers", ["landlines", "none"])
async def test_send_sms_without_a_gsm_number_asks_for_the_sender(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, numbers: str
) -> None:
    if numbers == "none":
        pbx_simulator.state.numbers.clear()
    else:
        pbx_simulator.state.numbers["2"].gsm_gateway = False
    with pytest.raises(PbxInvalidInput, match="sms_sender") as err:
        await make_client(session, pbx_simulator).async_send_sms(
            SmsRequest(("+420602123456",), "x")
        )
    assert err.value.translation_key == "sms_sender_needed"
    assert pbx_simulator.sim.requests_for("telfa", "POST /sms") == []


@pytest.mark.parametrize(
    ("sms", "error"),
    [
        (("", "x", None), ("901", "EMPTY_RECIPIENT")),
        (("abc", "x", None), ("400", "INVALID_RECIPIENT")),
        (("+420602123456", "x", "99"), ("902", "INCORRECT_NUMBER_ID")),
        (("+420602123456", "x" * 1001, None), ("413", "TOO_LONG")),
    ],
)
async def test_sms_error_codes(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    sms: tuple[str, str, str | None],
    error: tuple[str, str],
) -> None:
    recipient, message, sender = sms
    code, reason = error
    client = make_client(session, pbx_simulator, options={OPTION_SMS_SENDER: sender or "2"})
    with pytest.raises(PbxResponseError) as err:
        await client.async_send_sms(SmsRequest((recipient,), message))
    assert (err.value.code, err.value.reason) == (code, reason)
    assert len(pbx_simulator.sim.requests_for("telfa", "POST /sms")) == 1


async def test_register_and_unregister_webhook(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    numbers = pbx_simulator.state.numbers
    numbers["1"].hooks = {"incoming_hook": "https://user.cz,https://backup.cz"}
    client = make_client(session, pbx_simulator)
    await client.async_register_webhook(HOOK)
    assert numbers["1"].hooks["incoming_hook"] == f"https://user.cz,https://backup.cz,{HOOK}"
    assert numbers["1"].hooks["sms_hook"] == HOOK
    assert len(numbers["2"].hooks) == 7
    assert len(pbx_simulator.sim.requests_for("telfa", "PUT /numbers/{id}")) == 2
    # Registering again changes nothing and sends no update.
    await client.async_register_webhook(HOOK)
    assert len(pbx_simulator.sim.requests_for("telfa", "PUT /numbers/{id}")) == 2
    await client.async_unregister_webhook(HOOK)
    assert numbers["1"].hooks == {"incoming_hook": "https://user.cz,https://backup.cz"}
    assert numbers["2"].hooks == {}
    update = json.loads(pbx_simulator.sim.requests_for("telfa", "PUT /numbers/{id}")[2].body)
    assert update["number"]["incoming_hook_url"] == "https://user.cz,https://backup.cz"
    assert update["number"]["sms_hook_url"] == "null"


async def test_hook_refusals_read_the_error_list_and_hide_our_url(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """PUT /numbers answers 422 with a list of errors (T:1168); one quoting our URL must not
    carry the webhook id into the error (a repair issue, a log line)."""
    number = json.loads(fixture("number.json"))
    number["incoming_hook_url"] = HOOK  # registered before: the unregister sends a change
    new_hook = "https://ha.example/api/webhook/def"
    refusals = iter(
        [
            json.dumps([f"Incoming hook url {new_hook} is invalid", "Ring hook url is invalid"]),
            json.dumps({"errors": [f"{HOOK} is not reachable"]}),
        ]
    )

    async def answer(request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response(number)
        return web.Response(status=422, text=next(refusals), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = TelfaClient(
        session,
        {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{port}"},
        options={OPTION_HOOK_NUMBERS: [number["id"]]},
    )
    try:
        with pytest.raises(PbxResponseError) as err:
            await client.async_register_webhook(new_hook)
        assert err.value.reason == (
            "Incoming hook url **REDACTED** is invalid; Ring hook url is invalid"
        )
        with pytest.raises(PbxResponseError) as err:
            await client.async_unregister_webhook(HOOK)
        assert err.value.reason == "**REDACTED** is not reachable"
        assert "webhook/abc" not in str(err.value)
    finally:
        await runner.cleanup()


async def test_documented_numbers_and_request_bodies(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """The documented call plans (T:920-926: one landline, no GSM gateway) give the webhook
    targets and no SMS sender; the SMS and transfer bodies sent are the documented ones
    (T:729, T:149-152)."""
    sent: list[tuple[str, bytes]] = []

    async def answer(request: web.Request) -> web.Response:
        if request.path == "/recipes.json":
            return web.Response(body=fixture("recipes.json"), content_type="application/json")
        sent.append((request.path, await request.read()))
        return web.Response(body=b"")

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = TelfaClient(session, {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{port}"})
    try:
        assert await client.async_webhook_targets() == {"10": "212212212"}
        with pytest.raises(PbxInvalidInput) as err:
            await client.async_send_sms(SmsRequest(("+420602123456",), "Ahoj"))
        assert err.value.translation_key == "sms_sender_needed"  # never the landline
        with pytest.raises(PbxInvalidInput) as err:
            await client.async_send_sms(SmsRequest(("+420602123456",), "Ahoj", "212212212"))
        assert err.value.translation_key == "sms_invalid_sender"
        assert sent == []
        documented = json.loads(fixture("sms_request.json"))
        sms = documented["sms"]
        await client.async_send_sms(
            SmsRequest(("+420" + sms["recipient"],), sms["message"], sms["number_id"])
        )
        await client.async_transfer(TransferRequest("1", "6"))
    finally:
        await runner.cleanup()
    (sms_path, sms_body), (transfer_path, transfer_body) = sent
    assert (sms_path, json.loads(sms_body)) == ("/sms.json", documented)
    doc_xml = ET.fromstring(fixture("transfer_call_request.xml"))  # noqa: S314
    sent_xml = ET.fromstring(transfer_body)  # noqa: S314
    assert transfer_path == "/calls/transfer_call.xml"
    assert sent_xml.tag == doc_xml.tag
    assert {e.tag: e.text for e in sent_xml} == {e.tag: e.text for e in doc_xml}


async def test_register_webhook_on_chosen_numbers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator, options={OPTION_HOOK_NUMBERS: ["2"]})
    await client.async_register_webhook(HOOK)
    assert pbx_simulator.state.numbers["1"].hooks == {}
    assert pbx_simulator.state.numbers["2"].hooks["hangup_hook"] == HOOK
    assert pbx_simulator.sim.requests_for("telfa", "GET /recipes") == []
    bad = make_client(session, pbx_simulator, options={OPTION_HOOK_NUMBERS: ["main"]})
    with pytest.raises(PbxInvalidInput):
        await bad.async_register_webhook(HOOK)
    missing = make_client(session, pbx_simulator, options={OPTION_HOOK_NUMBERS: ["9"]})
    with pytest.raises(PbxResponseError, match="Number not found"):
        await missing.async_register_webhook(HOOK)


async def test_hooks_the_simulator_sends_parse_back(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    client = make_client(session, pbx_simulator)
    await client.async_register_webhook(f"{pbx_simulator.origin}/hook-sink")
    ringing = state.incoming_call("+420777123456", agent_id="2")
    state.answer(ringing.id)
    state.hangup(ringing.id)
    queued = state.incoming_call("+420777123457", queue_id="1")
    state.hangup(queued.id)
    state.originate("101", "602123456", agent_id="1")
    state.receive_sms("+420608608608", "245008328", "Ahoj")
    await pbx_simulator.sim.webhooks.drain()
    items = []
    for delivery in pbx_simulator.sim.webhooks.deliveries:
        items += client.parse_webhook(
            WebhookRequest("POST", delivery.headers, {}, delivery.body.encode())
        )
    calls = [(i.event_type, i.call_id) for i in items if isinstance(i, CallEvent)]
    assert calls == [
        (CallEventType.INCOMING, ringing.id),
        (CallEventType.RINGING, ringing.id),
        (CallEventType.ANSWERED, ringing.id),
        (CallEventType.HANGUP, ringing.id),
        (CallEventType.INCOMING, queued.id),
        (CallEventType.QUEUED, queued.id),
        (CallEventType.HANGUP, queued.id),
        (CallEventType.MISSED, queued.id),
        (CallEventType.OUTGOING, calls[-1][1]),
    ]
    ring = next(
        i for i in items if isinstance(i, CallEvent) and i.event_type is CallEventType.RINGING
    )
    assert (ring.caller, ring.agent_id) == ("+420777123456", "agent2.demo.telfa.cz")
    (sms,) = [i for i in items if isinstance(i, SmsMessage)]
    assert (sms.sender, sms.recipient, sms.text) == ("+420608608608", "+420245008328", "Ahoj")


# --- errors and secrets -------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "error"), READ_FAULT_ERRORS)
async def test_faults_map_to_errors_without_secrets(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="telfa", kind=kind, retry_after=7))
    client = make_client(session, pbx_simulator, timeout=0.3)
    for action in (client.async_validate, client.async_fetch_snapshot):
        with pytest.raises(error) as err:
            await action()
        assert API_KEY not in str(err.value)
        assert API_KEY not in repr(err.value)
    if kind is FaultKind.RATE_LIMIT:
        assert isinstance(err.value, PbxRateLimitError)
        assert err.value.retry_after == 7
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        (FaultKind.HANG, PbxOutcomeUnknownError),
        # A 2xx means the call went out, whatever its body (T:87-117 document none).
        (FaultKind.HTML, None),
        (FaultKind.TRUNCATED, None),
        (FaultKind.SERVER_ERROR, PbxOutcomeUnknownError),
        (FaultKind.DISCONNECT, PbxOutcomeUnknownError),
    ],
)
async def test_dial_faults_are_never_retried(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError] | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="telfa", kind=kind, endpoint="POST /calls"))
    client = make_client(session, pbx_simulator, timeout=0.3)
    if error is None:
        assert (await client.async_dial(DialRequest("+420245008328"))).call_id is None
    else:
        with pytest.raises(error) as err:
            await client.async_dial(DialRequest("+420245008328"))
        assert API_KEY not in str(err.value)
    assert len(pbx_simulator.sim.requests_for("telfa", "POST /calls")) == 1
    assert API_KEY not in caplog.text


async def test_latency_is_tolerated(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.sim.faults.append(
        Fault(provider="telfa", kind=FaultKind.LATENCY, seconds=0.05, count=1)
    )
    assert await make_client(session, pbx_simulator).async_validate()


async def test_refusal_bodies(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    """Redirects, plain-text and XML refusals become response errors with Telfa's reason."""
    answers = {
        "/calls/interrupt.xml": web.Response(
            status=422,
            text=f"<errors><error>Bad {API_KEY}</error><error>Worse</error></errors>",
        ),
        "/telfa_users/1/operator_log_in.xml": web.Response(status=404, text="Not Found"),
        "/telfa_users/2/operator_log_in.xml": web.Response(status=200, text="<user"),
        "/telfa_users/status.json": web.Response(
            status=302, headers={"Location": "https://www4.telfa.cz/"}
        ),
        "/calls/transfer_call.xml": web.Response(status=422, text='{"error": "Nope"}'),
        "/calls.xml": web.Response(status=200, text=""),
        "/calls/announce.xml": web.Response(status=200, text="<nil-classes/>"),
    }

    async def answer(request: web.Request) -> web.Response:
        return answers[request.path]

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client = TelfaClient(session, {"api_key": API_KEY, "base_url": f"http://127.0.0.1:{port}"})
        with pytest.raises(PbxResponseError) as err:
            await client.async_hangup(HangupRequest(HangupTargetKind.CALL, "1"))
        assert (err.value.reason, err.value.code) == ("Bad **REDACTED**; Worse", "422")
        with pytest.raises(PbxResponseError) as err:
            await client.async_agent_login("1")
        assert (err.value.reason, err.value.code) == (
            "Telfa refused the request (HTTP 404)",
            "404",
        )
        with pytest.raises(PbxResponseError, match="unreadable XML"):
            await client.async_agent_login("2")
        with pytest.raises(PbxResponseError, match="base URL") as err:
            await client.async_validate()
        assert "www4" not in str(err.value)
        with pytest.raises(PbxResponseError, match="Nope"):
            await client.async_transfer(TransferRequest("1", "534"))
        assert (await client.async_dial(DialRequest("+420245008328"))).call_id is None
        announced = await client.async_announce(AnnounceRequest(number="+420245008328", text="x"))
        assert announced.call_id is None
    finally:
        await runner.cleanup()


def test_fixture_documents_are_unchanged() -> None:
    """The fixtures are verbatim copies of the documentation's examples."""
    doc_path = Path(__file__).parents[3] / "shared" / "provider-docs" / "telfa.txt"
    if not doc_path.exists():
        pytest.skip("the provider documentation is not beside this checkout")
    doc = doc_path.read_text(encoding="utf-8")
    for path in FIXTURES.iterdir():
        assert path.read_text(encoding="utf-8").rstrip("\n") in doc, path.name
    assert ET.fromstring(fixture("interrupt_call_request.xml")).tag == "interrupt_call"  # noqa: S314


def hook_naming(login: str, fixture_name: str = "transfer_hook.xml") -> list[WebhookItem]:
    """A documented hook (T:1059-1123) naming `login` where the docs name their example's."""
    body = fixture(fixture_name)
    for documented in (b"jan.kubr.livispace.cz", b"marek.telfa.cz"):
        body = body.replace(documented, login.encode())
    return TelfaClient(None, {}).parse_webhook(webhook(body))  # type: ignore[arg-type]


def agents_named(client: TelfaClient, items: list[WebhookItem]) -> list[str | None]:
    """The agent of each event, as `resolve_webhook_items` gives it."""
    resolved = client.resolve_webhook_items(items, None)
    return [item.agent_id if isinstance(item, CallEvent) else None for item in resolved]


async def test_logins_are_learned_over_polls_a_few_users_a_poll(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """Hooks name agents by login, which the user list lacks (T:314-338): each poll reads
    the details (T:343-390) of at most LOGINS_LEARNED_PER_POLL users not known yet."""
    running, runner = await start_simulator(SimState(seed=1, agents=25))
    sim = running.sim
    telfa_sim: Any = sim.providers["telfa"]
    logins = {agent.id: telfa_sim.login_of(agent) for agent in running.state.agents.values()}
    try:
        client = make_client(session, running)
        per_poll: list[list[str]] = []
        for _ in range(4):
            sim.requests.clear()
            await client.async_fetch_snapshot()
            per_poll.append([r.query["id"] for r in sim.requests_for("telfa", DETAILS)])
    finally:
        await runner.cleanup()
    # The account's user's details count (the first poll reads them for the account id).
    assert [len(ids) for ids in per_poll] == [1 + LOGINS_LEARNED_PER_POLL, 10, 4, 0]
    asked = [user_id for ids in per_poll for user_id in ids]
    assert sorted(asked, key=int) == sorted(logins, key=int)  # each user once
    before = sim.count("telfa")
    for user_id, login in logins.items():
        assert agents_named(client, hook_naming(login)) == [user_id]
    assert sim.count("telfa") == before


async def test_hooks_resolve_learned_logins_and_keep_unknown_ones_without_asking(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every documented hook that names a user: transfer_hook (`answered_by_login`),
    ring_hook (`transferred_to`), hangup_hook (`answered_by_user`) and outgoing_hook (the
    login as `caller_number`, which stays the caller)."""
    monkeypatch.setattr(
        "custom_components.pbx_bridge.api.providers.telfa.LOGINS_LEARNED_PER_POLL", 1
    )
    client = make_client(session, pbx_simulator)
    telfa_sim: Any = pbx_simulator.sim.providers["telfa"]
    await client.async_fetch_snapshot()  # the account's user (1) and one more (2)
    learned = telfa_sim.login_of(pbx_simulator.state.agents["2"])
    not_yet = telfa_sim.login_of(pbx_simulator.state.agents["3"])
    before = pbx_simulator.sim.count("telfa")
    for name in ("transfer_hook.xml", "ring_hook.xml", "hangup_hook.xml"):
        assert agents_named(client, hook_naming(learned, name)) == ["2"]
    (outgoing,) = client.resolve_webhook_items(hook_naming(learned, "outgoing_hook.xml"), None)
    assert isinstance(outgoing, CallEvent)
    assert (outgoing.agent_id, outgoing.caller) == ("2", learned)
    # Not learned yet, or nobody's: the hook keeps the login; an SMS passes untouched.
    assert agents_named(client, hook_naming(not_yet)) == [not_yet]
    unknown = hook_naming("jan.kubr.livispace.cz") + client.parse_webhook(
        webhook(fixture("sms_hook.json"))
    )
    assert client.resolve_webhook_items(unknown, None) == unknown
    assert pbx_simulator.sim.count("telfa") == before  # nothing was asked
    await client.async_fetch_snapshot()
    assert agents_named(client, hook_naming(not_yet)) == ["3"]


async def test_a_user_whose_details_fail_does_not_block_the_others(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """User 2's details are always refused, user 3's once fail with a server error: the
    poll still succeeds, the others are learned first, the failures are tried again later."""
    monkeypatch.setattr(
        "custom_components.pbx_bridge.api.providers.telfa.LOGINS_LEARNED_PER_POLL", 2
    )
    telfa_sim: Any = pbx_simulator.sim.providers["telfa"]
    documented, formats = telfa_sim.routes[DETAILS]
    server_errors = {"3"}

    async def failing(context: Any) -> web.Response:
        if context.query.get("id") == "2":
            return web.Response(status=404, text="Not Found")
        if context.query.get("id") in server_errors:
            server_errors.clear()
            return web.Response(status=500, text="Internal Server Error")
        return await documented(context)

    telfa_sim.routes[DETAILS] = (failing, formats)
    logins = {a.id: telfa_sim.login_of(a) for a in pbx_simulator.state.agents.values()}
    client = make_client(session, pbx_simulator)
    asked: list[list[str]] = []
    for _ in range(4):
        pbx_simulator.sim.requests.clear()
        snapshot = await client.async_fetch_snapshot()
        assert set(snapshot.agents) == set(logins)
        asked.append([r.query["id"] for r in pbx_simulator.sim.requests_for("telfa", DETAILS)])
    # 1 for the account; 2 refused, skipped; 3's server error ends that poll's round; then
    # 4 and 5 before 3 again; 2 waits for its retry time.
    assert asked == [["1", "2", "3"], ["4", "5"], ["3"], []]
    named = {user_id: agents_named(client, hook_naming(login)) for user_id, login in logins.items()}
    assert named == {"1": ["1"], "2": [logins["2"]], "3": ["3"], "4": ["4"], "5": ["5"]}
    monkeypatch.setattr("custom_components.pbx_bridge.api.providers.telfa.LOGIN_RETRY_SECONDS", 0)
    pbx_simulator.sim.requests.clear()
    await client.async_fetch_snapshot()
    assert [r.query["id"] for r in pbx_simulator.sim.requests_for("telfa", DETAILS)] == ["2"]
    # Once user 2 leaves the list, nothing is kept of them, nor asked.
    pbx_simulator.state.remove_agent("2")
    pbx_simulator.sim.requests.clear()
    await client.async_fetch_snapshot()
    assert pbx_simulator.sim.requests_for("telfa", DETAILS) == []
    assert client._unreadable_details == {}


async def test_details_without_a_login_are_tried_again_later(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Details that carry no `<login>` teach nothing: the user is tried again after the
    others, not on every poll."""
    telfa_sim: Any = pbx_simulator.sim.providers["telfa"]
    documented, formats = telfa_sim.routes[DETAILS]

    async def without_login(context: Any) -> web.Response:
        response = await documented(context)
        if context.query.get("id") == "2":
            response.text = re.sub(r"<login>[^<]*</login>", "", response.text or "")
        return response

    telfa_sim.routes[DETAILS] = (without_login, formats)
    client = make_client(session, pbx_simulator)
    for _ in range(3):
        await client.async_fetch_snapshot()
    asked = [r.query["id"] for r in pbx_simulator.sim.requests_for("telfa", DETAILS)]
    assert asked == ["1", "2", "3", "4", "5"]
    login = telfa_sim.login_of(pbx_simulator.state.agents["2"])
    assert agents_named(client, hook_naming(login)) == [login]


async def test_a_user_who_leaves_the_list_is_forgotten(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    telfa_sim: Any = pbx_simulator.sim.providers["telfa"]
    leaving = telfa_sim.login_of(state.agents["3"])
    client = make_client(session, pbx_simulator)
    await client.async_fetch_snapshot()
    assert agents_named(client, hook_naming(leaving)) == ["3"]
    state.remove_agent("3")
    await client.async_fetch_snapshot()
    assert agents_named(client, hook_naming(leaving)) == [leaving]
    assert set(client._logins) == set(state.agents)  # memory bounded by the listed users
    # A new user is learned by the next poll; nobody else's details are read again.
    newcomer = state.add_agent("Nová Kolegyně")
    pbx_simulator.sim.requests.clear()
    await client.async_fetch_snapshot()
    assert [r.query["id"] for r in pbx_simulator.sim.requests_for("telfa", DETAILS)] == [
        newcomer.id
    ]
    assert agents_named(client, hook_naming(telfa_sim.login_of(newcomer))) == [newcomer.id]


async def test_operator_answers_teach_the_login_at_no_cost(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Logging an operator in or out answers the user's details (T:397-408): its login."""
    client = make_client(session, pbx_simulator)
    telfa_sim: Any = pbx_simulator.sim.providers["telfa"]
    await client.async_agent_logout("4")
    login = telfa_sim.login_of(pbx_simulator.state.agents["4"])
    assert agents_named(client, hook_naming(login)) == ["4"]
    assert pbx_simulator.sim.requests_for("telfa", DETAILS) == []


# --- issue 11: what the documentation says, read to the letter -----------------------------


async def serve(bodies: Mapping[str, web.Response]) -> tuple[str, web.AppRunner]:
    """A stub Telfa on loopback answering each path with its response."""

    async def answer(request: web.Request) -> web.Response:
        template = bodies[request.path]  # a response is sent once: answer with a copy
        return web.Response(
            body=template.body, status=template.status, content_type=template.content_type
        )

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}", runner


def documented_sms_errors() -> list[tuple[int, str]]:
    """The error list of T:743-750, read from its verbatim copy."""
    rows = []
    for line in fixture("sms_error_codes.txt").decode().splitlines():
        code, name, _ = (part.strip() for part in line.split(" - ", 2))
        rows.append((int(code), name))
    return rows


@pytest.mark.parametrize("status", [200, 422, 500, 550, 503])
async def test_sms_refusals_are_read_before_the_status(
    session: aiohttp.ClientSession, socket_enabled: None, status: int
) -> None:
    """Each documented SMS error, in a 2xx, 4xx or 5xx answer, reaches the user with its
    code, its text and a translated message of its own; nothing is sent twice."""
    for code, name in documented_sms_errors():
        body = json.dumps({"error_code": code, "error_text": name})
        origin, runner = await serve({"/sms.json": web.json_response(text=body, status=status)})
        try:
            client = TelfaClient(
                session,
                {"api_key": API_KEY, "base_url": origin},
                options={OPTION_SMS_SENDER: "1799"},
            )
            with pytest.raises(PbxResponseError) as err:
                await client.async_send_sms(SmsRequest(("+420602123456",), "x"))
        finally:
            await runner.cleanup()
        assert not isinstance(err.value, PbxConnectionError)
        assert (err.value.code, err.value.reason) == (str(code), name)
        expected = {
            400: "sms_invalid_recipient",
            413: "sms_too_long",
            500: None,  # OTHER_ERROR: Telfa's words under the generic refusal
            550: "sms_limit_or_sim",
            900: "sms_gateway_error",
            901: "sms_empty_recipient",
            902: "sms_invalid_sender",
        }[code]
        assert err.value.translation_key == expected


async def test_sms_answers_without_a_refusal(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """An empty 2xx is a sent SMS (T:734); an XML refusal is read too; a 5xx without a
    refusal is a server error, a 401 still the credentials."""
    answers = {
        "/sms.json": web.Response(status=200, body=b""),
    }
    origin, runner = await serve(answers)
    try:
        client = TelfaClient(
            session, {"api_key": API_KEY, "base_url": origin}, options={OPTION_SMS_SENDER: "1"}
        )
        assert await client.async_send_sms(SmsRequest(("+420602123456",), "x"))
        answers["/sms.json"] = web.Response(
            status=200,
            text="<error><error_code>901</error_code><error_text>EMPTY_RECIPIENT</error_text>"
            "</error>",
        )
        with pytest.raises(PbxResponseError) as err:
            await client.async_send_sms(SmsRequest(("+420602123456",), "x"))
        assert (err.value.code, err.value.translation_key) == ("901", "sms_empty_recipient")
        answers["/sms.json"] = web.Response(status=502, text="<html>Bad gateway</html>")
        with pytest.raises(PbxOutcomeUnknownError, match="may have been carried out"):
            await client.async_send_sms(SmsRequest(("+420602123456",), "x"))
        answers["/sms.json"] = web.Response(status=401, text="HTTP Basic: Access denied.")
        with pytest.raises(PbxAuthError):
            await client.async_send_sms(SmsRequest(("+420602123456",), "x"))
        answers["/sms.json"] = web.Response(status=200, text='{"error_text": "no code"}')
        assert await client.async_send_sms(SmsRequest(("+420602123456",), "x"))
    finally:
        await runner.cleanup()


async def test_sms_limit_from_the_simulator_is_a_refusal(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """The simulator sends 550 as the HTTP status too: a refusal, not a server error."""
    telfa = pbx_simulator.sim.providers["telfa"]
    telfa.sms_limit = 0  # type: ignore[attr-defined]
    with pytest.raises(PbxResponseError) as err:
        await make_client(session, pbx_simulator).async_send_sms(
            SmsRequest(("+420602123456",), "x")
        )
    assert (err.value.code, err.value.translation_key) == ("550", "sms_limit_or_sim")
    assert len(pbx_simulator.sim.requests_for("telfa", "POST /sms")) == 1


@pytest.mark.parametrize("caller", [b"", b"anonymous", b"Anonymous"])
async def test_hidden_callers_are_incoming(session: aiohttp.ClientSession, caller: bytes) -> None:
    """An incoming_hook without a caller number keeps its line and can be missed."""
    client = TelfaClient(session, {"api_key": API_KEY})
    incoming = fixture("incoming_hook.xml").replace(b"777123456", caller)
    (event,) = client.parse_webhook(webhook(incoming))
    assert isinstance(event, CallEvent)
    assert (event.event_type, event.direction, event.caller, event.line) == (
        CallEventType.INCOMING,
        CallDirection.INCOMING,
        None,
        "+420245008328",
    )
    hangup = (
        fixture("hangup_hook.xml")
        .replace(b"<caller_number>777123456", b"<caller_number>" + caller)
        .replace(b"<answered_at>2009-10-11T13:42:05+02:00</answered_at>", b"<answered_at/>")
    )
    events = client.parse_webhook(webhook(hangup))
    assert [e.event_type for e in events if isinstance(e, CallEvent)] == [
        CallEventType.HANGUP,
        CallEventType.MISSED,
    ]
    assert all(isinstance(e, CallEvent) and e.line == "+420245008328" for e in events)


async def test_ring_hook_to_an_external_number_is_a_forward(
    session: aiohttp.ClientSession,
) -> None:
    """A dial step that forwards the call out (T:1049): the target is no agent."""
    client = TelfaClient(session, {"api_key": API_KEY})
    body = fixture("ring_hook.xml").replace(b"jan.kubr.livispace.cz", b"602123456")
    (event,) = client.parse_webhook(webhook(body))
    assert isinstance(event, CallEvent)
    assert (event.event_type, event.agent_id, event.callee, event.line, event.caller) == (
        CallEventType.TRANSFERRED,
        None,
        "+420602123456",
        "+420245008328",
        "+420777123456",
    )
    assert client.resolve_webhook_items([event], None) == [event]


async def test_hangup_of_an_outgoing_call(session: aiohttp.ClientSession) -> None:
    """The caller is the user's login: an outgoing call of that agent, never missed."""
    client = TelfaClient(session, {"api_key": API_KEY})
    body = (
        fixture("hangup_hook.xml")
        .replace(b"<caller_number>777123456", b"<caller_number>marek.telfa.cz")
        .replace(b"<answered_at>2009-10-11T13:42:05+02:00</answered_at>", b"<answered_at/>")
        .replace(b"<answered_by_user>jan.kubr.livispace.cz</answered_by_user>", b"")
    )
    (event,) = client.parse_webhook(webhook(body))
    assert isinstance(event, CallEvent)
    assert (event.direction, event.agent_id, event.caller, event.line) == (
        CallDirection.OUTGOING,
        "marek.telfa.cz",
        "marek.telfa.cz",
        None,
    )


async def test_sms_hook_sender_name(session: aiohttp.ClientSession) -> None:
    client = TelfaClient(session, {"api_key": API_KEY})
    (message,) = client.parse_webhook(webhook(fixture("sms_hook.json")))
    assert isinstance(message, SmsMessage)
    assert message.sender_name is None  # null in the documented example
    named = fixture("sms_hook.json").replace(b'"sender_name":null', b'"sender_name":"Banka"')
    (message,) = client.parse_webhook(webhook(named))
    assert isinstance(message, SmsMessage)
    assert (message.sender_name, message.raw["sender_name"]) == ("Banka", "Banka")


async def test_play_a_recording_into_a_live_call(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """announce with a call id and a recording: POST /calls/play_recording.xml (T:124-134)."""
    call = pbx_simulator.state.incoming_call("+420777123456")
    client = make_client(session, pbx_simulator)
    result = await client.async_announce(AnnounceRequest(call_id=call.id, recording="6"))
    assert result.call_id == call.id
    request = only_request(pbx_simulator, "POST /calls/play_recording")
    assert request.headers["Content-Type"] == "application/xml"
    sent = safe_xml(request.body.encode())
    documented = safe_xml(fixture("play_recording_request.xml"))
    assert sent.tag == documented.tag == "play_recording"
    assert [c.tag for c in sent] == [c.tag for c in documented if c.tag != "side"]  # optional
    assert [(c.tag, c.text) for c in sent] == [("call_id", call.id), ("recording_id", "6")]
    telfa = pbx_simulator.sim.providers["telfa"]
    assert telfa.played == [(call.id, "6", "both")]  # type: ignore[attr-defined]
    pbx_simulator.state.hangup(call.id)
    with pytest.raises(PbxResponseError, match="Call not found"):
        await client.async_announce(AnnounceRequest(call_id=call.id, recording="6"))


async def test_one_unreadable_call_group_is_left_out(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The other groups and the agents stay; the group is a problem, logged once."""
    state = pbx_simulator.state
    name = state.queues["1"].name
    client = make_client(session, pbx_simulator)
    for _ in range(2):
        pbx_simulator.sim.faults.append(
            Fault(
                provider="telfa",
                kind=FaultKind.MALFORMED,
                endpoint="GET /call_groups/{id}",
                count=1,
            )
        )
        snapshot = await client.async_fetch_snapshot()
        assert set(snapshot.queues) == {"2"}
        assert set(snapshot.agents) == set(state.agents)
        assert snapshot.problems == (ProviderProblem(ProblemKind.UNKNOWN_QUEUE, name),)
        # Not a full listing now: the group's device must stay.
        assert snapshot.complete == {Listing.AGENTS}
    assert caplog.text.count("cannot be read") == 1
    snapshot = await client.async_fetch_snapshot()
    assert set(snapshot.queues) == {"1", "2"}
    assert snapshot.problems == ()
    assert snapshot.complete == {Listing.AGENTS, Listing.QUEUES}
    # A server error is no unreadable group: the refresh fails, as for any other request.
    pbx_simulator.sim.faults.append(
        Fault(
            provider="telfa", kind=FaultKind.SERVER_ERROR, endpoint="GET /call_groups/{id}", count=1
        )
    )
    with pytest.raises(PbxConnectionError):
        await client.async_fetch_snapshot()


async def test_snapshot_fields_the_documentation_gives(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """presence_changed_at is the agent's "since"; a group's average_call_length its
    average talk time."""
    state = pbx_simulator.state
    call = state.incoming_call("+420777123456", queue_id="1")
    state.answer(call.id, state.queues["1"].member_ids[0])
    state.now_offset = timedelta(seconds=90)
    state.hangup(call.id)
    state.agent_logout("4")
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    telfa = pbx_simulator.sim.providers["telfa"]
    assert snapshot.agents["4"].state_since == telfa.presence_time(state.agents["4"])  # type: ignore[attr-defined]
    assert snapshot.queues["1"].average_talk_time == 90
    assert snapshot.queues["2"].average_talk_time is None  # null: no call yet


async def test_received_sms_polling(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Turned on: today's received SMS from GET /sms.json?inbound=true (T:753-777)."""
    state = pbx_simulator.state
    plain = make_client(session, pbx_simulator)
    assert not plain.supports(Capability.SMS_POLLING)
    assert (await plain.async_fetch_snapshot()).received_sms == ()
    assert pbx_simulator.sim.requests_for("telfa", "GET /sms") == []
    state.receive_sms("+420608608608", "245008329", "Ahoj")
    state.send_sms("245008329", "602123456", "Odchozí")
    state.receive_sms("+421900123456", "245008329", "Druhá")
    client = make_client(session, pbx_simulator, options={OPTION_SMS_POLLING: True})
    assert client.supports(Capability.SMS_POLLING)
    snapshot = await client.async_fetch_snapshot()
    assert [(m.sender, m.recipient, m.text) for m in snapshot.received_sms] == [
        ("+420608608608", "+420245008329", "Ahoj"),
        ("+421900123456", "+420245008329", "Druhá"),
    ]
    assert all(m.direction is SmsDirection.INCOMING and m.sms_id for m in snapshot.received_sms)
    (request,) = pbx_simulator.sim.requests_for("telfa", "GET /sms")
    assert request.path == "/sms.json"
    assert request.query["inbound"] == "true"
    assert request.query["from"] == datetime.now(PRAGUE).strftime("%Y-%m-%d 00:00")


async def test_documented_sms_list(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    """The documented /sms.json row is a sent SMS: not received. As received, it is read."""
    received = fixture("sms_list.json").replace(b'"inbound":false', b'"inbound":true')
    answers = {"/sms.json": web.Response(body=fixture("sms_list.json"))}
    for path in ("/telfa_users/status.json", "/call_groups.json", "/calls.json"):
        answers[path] = web.Response(text="[]")
    answers["/calls/all_current.xml"] = web.Response(text='<nil-classes type="array"/>')
    origin, runner = await serve(answers)
    try:
        client = TelfaClient(
            session,
            {"api_key": API_KEY, "base_url": origin},
            options={OPTION_SMS_POLLING: True},
        )
        client._account = AccountInfo("95", "Telfa 95")
        assert (await client.async_fetch_snapshot()).received_sms == ()
        answers["/sms.json"] = web.Response(body=received)
        (message,) = (await client.async_fetch_snapshot()).received_sms
    finally:
        await runner.cleanup()
    assert message == SmsMessage(
        sms_id="11",
        direction=SmsDirection.INCOMING,
        sender="+420603603603",
        recipient="+420602123456",
        text="Ahoj, jak se máš?",
        status="received",
        timestamp=datetime(2014, 2, 9, 9, 43, 32, tzinfo=UTC),  # created_at: no received_at
    )
    (row,) = xml_records(safe_xml(fixture("sms_list.xml")))
    assert (row["id"], row["inbound"], row["received_at"]) == (205, False, None)


ACTIONS_THAT_CHANGE_TELFA = [
    ("POST /calls", lambda c, call: c.async_dial(DialRequest("+420245008328"))),
    (
        "POST /calls/announce",
        lambda c, call: c.async_announce(AnnounceRequest(number="+420245008328", text="x")),
    ),
    (
        "POST /calls/play_recording",
        lambda c, call: c.async_announce(AnnounceRequest(call_id=call, recording="6")),
    ),
    (
        "POST /calls/interrupt",
        lambda c, call: c.async_hangup(HangupRequest(HangupTargetKind.CALL, call)),
    ),
    ("POST /calls/transfer_call", lambda c, call: c.async_transfer(TransferRequest(call, "534"))),
    ("POST /telfa_users/{id}/operator_log_in", lambda c, call: c.async_agent_login("2")),
    ("POST /telfa_users/{id}/operator_log_out", lambda c, call: c.async_agent_logout("2")),
    ("POST /sms", lambda c, call: c.async_send_sms(SmsRequest(("+420602123456",), "x"))),
    ("PUT /numbers/{id}", lambda c, call: c.async_register_webhook(HOOK)),
]


@pytest.mark.parametrize(("endpoint", "action"), ACTIONS_THAT_CHANGE_TELFA)
async def test_changes_go_out_once_and_a_drop_may_have_been_carried_out(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    endpoint: str,
    action: Any,
) -> None:
    """The connection drops once the request arrived: "may have been carried out", and
    the request reached Telfa exactly once (aiohttp resends a dropped PUT otherwise)."""
    call = pbx_simulator.state.incoming_call("+420777123456")
    pbx_simulator.sim.faults.append(
        Fault(provider="telfa", kind=FaultKind.DISCONNECT, endpoint=endpoint)
    )
    client = make_client(session, pbx_simulator, options={OPTION_HOOK_NUMBERS: ["1"]})
    with pytest.raises(PbxOutcomeUnknownError, match="may have been carried out"):
        await action(client, call.id)
    assert len(pbx_simulator.sim.requests_for("telfa", endpoint)) == 1
