"""The Telfa client against the simulator and the documented examples."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime, timedelta, timezone
import json
import logging
from pathlib import Path
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
    SmsDirection,
    SmsMessage,
    SmsRequest,
    TransferRequest,
    WebhookRequest,
)
from custom_components.pbx_bridge.api.providers.telfa import (
    OPTION_DIAL_METHOD,
    OPTION_HOOK_NUMBERS,
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
                [CallEventType.TRANSFERRED, CallEventType.ANSWERED],
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
                None,
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
    """A snapshot built from the documented examples, served as Telfa would."""
    # The documented call group JSON lacks a comma after "name"; the real one has it.
    fixed_group = fixture("call_group.json").replace(
        'Slivanský"\n'.encode(), 'Slivanský",\n'.encode()
    )
    group_id = json.loads(fixture("call_groups.json"))["id"]
    bodies = {
        "/telfa_users/status.json": fixture("users_status.json"),
        "/call_groups.json": fixture("call_groups.json"),
        f"/call_groups/{group_id}.json": fixed_group,
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
        bodies[f"/call_groups/{group_id}.json"] = fixture("call_group.json")
        with pytest.raises(PbxResponseError, match="unreadable JSON"):
            await client.async_fetch_snapshot()
    finally:
        await runner.cleanup()
    (agent,) = snapshot.agents.values()
    assert (agent.agent_id, agent.name, agent.state) == ("744", "Marek Livispace", AgentState.IDLE)
    queue = snapshot.queues["1"]
    assert (queue.name, queue.member_ids, queue.waiting_calls) == ("Operátoři", ("2",), 0)
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
    # The account is read once.
    await client.async_fetch_snapshot()
    assert len(pbx_simulator.sim.requests_for("telfa", "GET /telfa_users/user_by_id")) == 1


async def test_snapshot_pages_through_a_busy_day(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.pbx_bridge.api.providers.telfa.CALLS_PER_PAGE", 3)
    for n in range(7):
        pbx_simulator.state.hangup(pbx_simulator.state.incoming_call(f"+42077700000{n}").id)
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    assert snapshot.missed_calls_today == 7
    assert len(pbx_simulator.sim.requests_for("telfa", "GET /calls")) == 3


@pytest.mark.parametrize(
    ("path", "body", "match"),
    [
        ("/telfa_users/status.json", '"text"', "not a list"),
        ("/telfa_users/user_by_id.json", "[]", "not an object"),
        ("/telfa_users/user_by_id.json", '{"id": 1}', "user_id"),
        ("/call_groups.json", '[{"name": "x"}]', "without an id"),
        ("/call_groups/1.json", '{"id": 1, "call_groups_telfa_users": 5}', "members"),
        ("/telfa_users/status.json", '[{"id": 1}, {"name": "x"}]', "without an id"),
        ("/calls/all_current.xml", "<calls", "unreadable XML"),
    ],
)
async def test_snapshot_refuses_malformed_answers(
    session: aiohttp.ClientSession, socket_enabled: None, path: str, body: str, match: str
) -> None:
    good = {
        "/telfa_users/status.json": '[{"id": 1, "present": true}]',
        "/telfa_users/user_by_id.json": '{"id": 1, "user_id": 95}',
        "/call_groups.json": '[{"id": 1}]',
        "/call_groups/1.json": '{"id": 1}',
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
        await client.async_fetch_snapshot()
        first = running.sim.count("telfa")
        await client.async_fetch_snapshot()
        assert first == 7  # status, user_by_id, call_groups, 2 x call group, current, calls
        assert running.sim.count("telfa") - first == 6
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
        AnnounceRequest(call_id="1", recording="1"),
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


async def test_send_sms_from_the_first_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    result = await client.async_send_sms(SmsRequest(("+420602123456",), "Ahoj"))
    assert result.message_ids == ()
    request = only_request(pbx_simulator, "POST /sms")
    assert json.loads(request.body) == {
        "sms": {"number_id": "1", "recipient": "602123456", "message": "Ahoj"}
    }
    (sms,) = pbx_simulator.state.sms.values()
    assert (sms.sender, sms.recipient, sms.text) == ("245008328", "602123456", "Ahoj")


async def test_send_sms_from_a_chosen_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator, options={OPTION_SMS_SENDER: "2"})
    await client.async_send_sms(SmsRequest(("+420602123456", "+420602123457"), "Ahoj"))
    bodies = [json.loads(r.body) for r in pbx_simulator.sim.requests_for("telfa", "POST /sms")]
    assert [b["sms"]["number_id"] for b in bodies] == ["2", "2"]
    assert [b["sms"]["recipient"] for b in bodies] == ["602123456", "602123457"]
    # A sender given as a number of the account is looked up.
    await client.async_send_sms(SmsRequest(("+420602123456",), "x", sender="+420245008329"))
    await client.async_send_sms(SmsRequest(("+420602123456",), "x", sender="245008328"))
    bodies = [json.loads(r.body) for r in pbx_simulator.sim.requests_for("telfa", "POST /sms")]
    assert [b["sms"]["number_id"] for b in bodies[2:]] == ["2", "1"]
    with pytest.raises(PbxInvalidInput):
        await client.async_send_sms(SmsRequest(("+420602123456",), "x", sender="+420111111111"))
    with pytest.raises(PbxInvalidInput):
        await client.async_send_sms(SmsRequest((), "x"))


async def test_send_sms_without_numbers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.state.numbers.clear()
    with pytest.raises(PbxResponseError, match="no numbers"):
        await make_client(session, pbx_simulator).async_send_sms(
            SmsRequest(("+420602123456",), "x")
        )


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
    client = make_client(session, pbx_simulator, options={OPTION_SMS_SENDER: sender or "1"})
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
        (CallEventType.TRANSFERRED, ringing.id),
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
        (FaultKind.HTML, PbxResponseError),
        (FaultKind.TRUNCATED, PbxResponseError),
        (FaultKind.SERVER_ERROR, PbxConnectionError),
        (FaultKind.DISCONNECT, PbxOutcomeUnknownError),
    ],
)
async def test_dial_faults_are_never_retried(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="telfa", kind=kind, endpoint="POST /calls"))
    client = make_client(session, pbx_simulator, timeout=0.3)
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


async def test_hook_logins_resolve_to_user_ids_once(
    session: aiohttp.ClientSession, pbx_simulator: RunningSimulator
) -> None:
    """transfer_hook names the operator by login; the agent is keyed by user id."""
    client = make_client(session, pbx_simulator)
    agent = pbx_simulator.state.agents["2"]
    sim = pbx_simulator.sim.providers["telfa"]
    login = sim.login_of(agent)  # type: ignore[attr-defined]
    body = fixture("transfer_hook.xml").replace(b"jan.kubr.livispace.cz", login.encode())
    items = client.parse_webhook(webhook(body))
    assert {item.agent_id for item in items} == {login}  # type: ignore[union-attr]
    for _ in range(2):
        await client.async_look_up_webhook_names(client.webhook_names_to_look_up(items))
        resolved = client.resolve_webhook_items(items, None)
        assert {item.agent_id for item in resolved} == {agent.id}  # type: ignore[union-attr]
    assert len(pbx_simulator.sim.requests_for("telfa", "GET /telfa_users/user_by_login")) == 1
    # An unknown login stays as the hook said it; an SMS passes through untouched.
    unknown = client.parse_webhook(webhook(fixture("transfer_hook.xml")))
    sms = client.parse_webhook(webhook(fixture("sms_hook.json")))
    await client.async_look_up_webhook_names(client.webhook_names_to_look_up(unknown + sms))
    assert client.resolve_webhook_items(unknown + sms, None) == unknown + sms
