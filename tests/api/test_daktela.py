"""The Daktela client against the simulator and the documented examples."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import datetime
import hashlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
import pytest

from custom_components.pbx_bridge.api.client import read_json
from custom_components.pbx_bridge.api.declaration import OPTION_SMS_SENDER
from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.api.models import (
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
    WebhookRequest,
)
from custom_components.pbx_bridge.api.providers.daktela import (
    OPTION_AGENT_EXTENSIONS,
    OPTION_ANNOUNCEMENT_ROUTE,
    STRAY_AFTER_JSON,
    DaktelaClient,
)
from custom_components.pbx_bridge.api.registry import client_class
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.providers.daktela import DaktelaSim, to_ascii
from pbx_simulator.state import AgentStatus, CallStatus, SimCall, SimState
from pbx_simulator.testing import RunningSimulator, start_simulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "daktela"
PRAGUE = ZoneInfo("Europe/Prague")
HOOK = "http://ha.example/api/webhook/abc"
DOC_TOKEN = "1234567890123456789012345678901234567890"
DOC_ANSWERS = {
    "GetUser": "get_user",
    "GetUsers": "get_users_all",
    "StatsCalls": "stats_calls",
    "GetPauses": "get_pauses_3_3",
    "RTUsersState": "rt_users_state",
    "GetQueues": "get_queues_one",
    "RTStatsQueues": "rt_stats_queues",
    "DeviceStates": "device_states",
    "RTStatsCalls": "rt_stats_calls",
}


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def make_client(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    *,
    config: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    timeout: float = 5.0,
) -> DaktelaClient:
    return DaktelaClient(
        session, config or running.config["daktela"], options=options, timeout=timeout
    )


def sent(running: RunningSimulator, action: str) -> tuple[str, dict[str, str]]:
    """The one request sent for `action`: its path and query (the token is not in it)."""
    (request,) = running.sim.requests_for("daktela", action)
    assert request.method == "GET"
    assert "access_token" not in request.query
    assert f"access_token={running.config['daktela']['access_token']}" in request.headers["Cookie"]
    return request.path, request.query


def daktela(running: RunningSimulator) -> DaktelaSim:
    sim = running.sim.providers["daktela"]
    assert isinstance(sim, DaktelaSim)
    return sim


def is_logged_in(state: SimState, agent_id: str) -> bool:
    """Read through a call, so type narrowing does not outlive the actions in between."""
    return state.agents[agent_id].logged_in


def callback_of(sim: DaktelaSim) -> str | None:
    return sim.sms_settings["incoming_callback"]


def answered_call(state: SimState, agent_id: str = "1") -> SimCall:
    call = state.incoming_call("+420601222333", queue_id="1", agent_id=agent_id)
    state.answer(call.id)
    return call


# --- declarations and pure helpers --------------------------------------------------------


def test_declarations() -> None:
    assert client_class("daktela") is DaktelaClient
    assert DaktelaClient.title == "Daktela"
    fields = {f.key: f for f in DaktelaClient.connection_fields}
    assert set(fields) == {"base_url", "access_token", "login", "password"}
    assert fields["access_token"].secret
    assert fields["password"].secret
    assert not fields["login"].secret
    assert fields["base_url"].is_url
    assert fields["base_url"].required
    assert DaktelaClient.webhook_methods == {"GET", "POST"}  # the method is undocumented
    assert DaktelaClient.default_country_code == "420"
    assert DaktelaClient.capabilities == {
        Capability.AGENTS,
        Capability.AGENT_LOGIN,
        Capability.AGENT_PAUSE,
        Capability.PAUSE_REASONS,
        Capability.QUEUES,
        Capability.QUEUE_LOGIN,
        Capability.SIP_REGISTRATIONS,
        Capability.ACTIVE_CALLS,
        Capability.MISSED_CALLS,
        Capability.DIAL,
        Capability.HANGUP,
        Capability.TRANSFER,
        Capability.TRANSFER_TO_AGENT,
        Capability.TRANSFER_TO_QUEUE,
        Capability.ANNOUNCE,
        Capability.SEND_SMS,
        Capability.CALL_WEBHOOK,
        Capability.SMS_WEBHOOK,
        Capability.REGISTER_WEBHOOK,
    }


async def test_token_and_secrets(session: aiohttp.ClientSession) -> None:
    client = DaktelaClient(
        session,
        {"base_url": "https://MojeVU.daktela.com/api/", "login": "jana", "password": "tajne-heslo"},
    )
    token = hashlib.sha1(b"janatajne-heslo", usedforsecurity=False).hexdigest()
    assert client.base_url == "https://MojeVU.daktela.com"
    assert client.redact(f"x {token} tajne-heslo") == "x **REDACTED** **REDACTED**"
    assert token not in repr(client)
    given = DaktelaClient(
        session, {"base_url": "https://a.daktela.com", "access_token": "abc", "login": "x"}
    )
    assert given.redact("abc") == "**REDACTED**"
    assert client.format_number("+420603927227") == "603927227"
    assert client.format_number("+491701234567") == "00491701234567"
    assert client.format_number("101") == "101"


def test_read_json_tolerates_the_documented_extra_brace() -> None:
    body = (FIXTURES / "create_call_user_response.json").read_bytes()
    assert body.rstrip().endswith(b"}}}")
    assert read_json(body, ignore_after=STRAY_AFTER_JSON) == {
        "error": None,
        "status": 1,
        "result": {"id_call": "123456789.1234SJ"},
    }
    assert read_json(b"\xef\xbb\xbf[1]]\n", ignore_after=STRAY_AFTER_JSON) == [1]
    for bad in (b'{"status":1', b"<html></html>", b'{"a":1} trailing', b"\xff\xfe"):
        with pytest.raises(ValueError):  # noqa: PT011 - every unreadable kind
            read_json(bad, ignore_after=STRAY_AFTER_JSON)


# --- against the simulator ------------------------------------------------------------------


async def test_validate(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    info = await make_client(session, pbx_simulator).async_validate()
    host = urlsplit(pbx_simulator.origin).netloc
    assert (info.account_id, info.name) == (host, f"Daktela {host}")
    path, query = sent(pbx_simulator, "GetUser")
    assert (path, query) == ("/api/4.0/GetUser/json", {})
    # Login and password alone give the same token.
    config = dict(pbx_simulator.config["daktela"])
    del config["access_token"]
    assert (await make_client(session, pbx_simulator, config=config).async_validate()) == info


async def test_validate_rejected(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    base = pbx_simulator.config["daktela"]["base_url"]
    client = make_client(session, pbx_simulator, config={"base_url": base, "access_token": "bad"})
    with pytest.raises(PbxAuthError, match="Uživatel neexistuje"):
        await client.async_validate()
    empty = make_client(session, pbx_simulator, config={"base_url": base})
    with pytest.raises(PbxAuthError, match="access token"):
        await empty.async_validate()
    # The password changed at Daktela: the old token stops working everywhere.
    client = make_client(session, pbx_simulator)
    pbx_simulator.state.credentials["daktela"]["password"] = "changed"
    with pytest.raises(PbxAuthError):
        await client.async_fetch_snapshot()


async def test_snapshot(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    call = answered_call(state, "2")
    waiting = state.incoming_call("+420777000111", queue_id="2")
    state.agent_pause("3", "Meeting")
    state.set_registered("4", False)
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    # GetUser (once: which version the server is), GetPauses, GetUsers (now and then),
    # RTUsersState, GetQueues, RTStatsQueues, DeviceStates, RTStatsCalls, StatsCalls twice
    # (missed calls, last caller).
    assert pbx_simulator.sim.count("daktela") == 10
    assert snapshot.pause_reasons == ("Lunch", "Break", "Meeting", "Training")
    assert set(snapshot.agents) == {a.login for a in state.agents.values()}
    agent2 = snapshot.agents["agent2"]
    assert agent2.state is AgentState.IN_CALL
    assert agent2.name == state.agents["2"].name
    assert (agent2.extension, agent2.call_partner) == ("102", "+420601222333")
    assert agent2.queue_ids == ("1",)
    agent3 = snapshot.agents["agent3"]
    assert (agent3.state, agent3.paused, agent3.pause_reason) == (
        AgentState.PAUSED,
        True,
        "Meeting",
    )
    sales = snapshot.queues["1"]
    assert sales.name == "Sales"
    assert (sales.agents_logged_in, sales.agents_busy, sales.agents_paused) == (5, 1, 1)
    assert sales.member_ids == ("agent1", "agent2", "agent3", "agent4", "agent5")
    support = snapshot.queues["2"]
    assert (support.waiting_calls, support.agents_ready) == (1, 2)
    assert support.longest_wait is not None
    assert set(snapshot.registrations) == {"101", "102", "103", "104", "105", "206"}
    line4 = snapshot.registrations["104"]
    assert (line4.registered, line4.status, line4.ip, line4.port) == (
        False,
        "UNAVAILABLE",
        None,
        None,
    )
    line1 = snapshot.registrations["101"]
    assert (line1.registered, line1.ip, line1.port) == (
        True,
        state.lines["1"].ip,
        state.lines["1"].port,
    )
    assert snapshot.registrations["102"].status == "INUSE"
    sim = daktela(pbx_simulator)
    live = snapshot.calls[sim.call_id(call)]
    assert (live.direction, live.state, live.caller, live.agent_id, live.queue_id) == (
        CallDirection.INCOMING,
        CallState.ANSWERED,
        "+420601222333",
        "agent2",
        "1",
    )
    assert live.started == call.created.astimezone(PRAGUE)
    assert live.answered == call.answered
    assert snapshot.calls[sim.call_id(waiting)].state is CallState.QUEUED
    # Logged out: gone from RTUsersState, still listed.
    state.agent_logout("5")
    snapshot = await client.async_fetch_snapshot()
    agent5 = snapshot.agents["agent5"]
    assert (agent5.state, agent5.logged_in) == (AgentState.LOGGED_OUT, False)


@pytest.mark.parametrize("size", [10, 500])
async def test_snapshot_costs_the_same_whatever_the_size(
    socket_enabled: None, session: aiohttp.ClientSession, size: int
) -> None:
    running, runner = await start_simulator(SimState(seed=1, agents=size, lines=size))
    try:
        snapshot = await make_client(session, running).async_fetch_snapshot()
        assert len(snapshot.agents) == size
        assert len(snapshot.registrations) == size
        assert running.sim.count("daktela") == 10  # as in test_snapshot
    finally:
        await runner.cleanup()


async def test_dial(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client, state = make_client(session, pbx_simulator), pbx_simulator.state
    result = await client.async_dial(
        DialRequest(
            "+420800123456",
            DialSource(DialSourceKind.USER, "agent1"),
            auto_answer=True,
            ring_timeout=25,
        )
    )
    assert sent(pbx_simulator, "CreateCall") == (
        "/api/3.1/CreateCall/json",
        {"user": "agent1", "number": "800123456", "autoanswer": "yes", "waitingtime": "25"},
    )
    (call,) = state.active_calls()
    assert result.call_id == daktela(pbx_simulator).call_id(call)
    assert (call.agent_id, call.callee) == ("1", "800123456")


async def test_dial_other_sources(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    await client.async_dial(
        DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, "102"))
    )
    assert sent(pbx_simulator, "CreateCall") == (
        "/api/3.0/CreateCall/json",
        {"extension": "102", "number": "800123456"},
    )
    remote = await client.async_dial(
        DialRequest(
            "+420468008585", DialSource(DialSourceKind.LINE, "+420226211245"), ring_timeout=40
        )
    )
    assert sent(pbx_simulator, "CreateRemoteCall") == (
        "/api/3.8/CreateRemoteCall/json",
        {"primarynumber": "226211245", "secondarynumber": "468008585", "dialingtime": "40"},
    )
    assert remote.call_id
    await client.async_dial(DialRequest("+420226211245", DialSource(DialSourceKind.LINE, "2001")))
    assert sent(pbx_simulator, "ClickToCall") == (
        "/api/3.9/ClickToCall/json",
        {"queue": "2001", "number": "226211245"},
    )
    assert len(pbx_simulator.state.active_calls()) == 3


async def test_dial_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxInvalidInput, match="user, an extension or a line"):
        await client.async_dial(DialRequest("+420800123456"))
    with pytest.raises(PbxInvalidInput, match="caller id"):
        await client.async_dial(
            DialRequest(
                "+420800123456", DialSource(DialSourceKind.USER, "agent1"), caller_id="+4202"
            )
        )
    # CreateRemoteCall and ClickToCall take no `autoanswer` (D:1149-1171, D:955-975);
    # ClickToCall's `waitingtime` is the wait in its queue, not a ring time (D:971).
    for line, field, match in (
        ("+420226211245", {"auto_answer": True}, "answers automatically"),
        ("2001", {"auto_answer": True}, "answers automatically"),
        ("2001", {"ring_timeout": 30}, "no ring time"),
    ):
        request = DialRequest("+420800123456", DialSource(DialSourceKind.LINE, line), **field)
        with pytest.raises(PbxInvalidInput, match=match):
            await client.async_dial(request)
    assert pbx_simulator.sim.requests == []
    pbx_simulator.state.agent_logout("1")
    with pytest.raises(PbxResponseError) as err:
        await client.async_dial(DialRequest("+420800", DialSource(DialSourceKind.USER, "agent1")))
    assert err.value.reason == "Agent není přihlášen do odchozí kampaně/fronty"


async def test_hangup(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client, state = make_client(session, pbx_simulator), pbx_simulator.state
    call = answered_call(state)
    id_call = daktela(pbx_simulator).call_id(call)
    await client.async_hangup(HangupRequest(HangupTargetKind.CALL, id_call))
    assert sent(pbx_simulator, "Hangup") == ("/api/3.0/Hangup/json", {"call": id_call})
    assert call.status is CallStatus.ENDED
    for kind, value, key in (
        (HangupTargetKind.USER, "agent2", "user"),
        (HangupTargetKind.EXTENSION, "103", "extension"),
    ):
        pbx_simulator.sim.requests.clear()
        call = answered_call(state, value[-1] if kind is HangupTargetKind.USER else "3")
        await client.async_hangup(HangupRequest(kind, value))
        assert sent(pbx_simulator, "Hangup") == ("/api/3.0/Hangup/json", {key: value})
        assert call.status is CallStatus.ENDED
    with pytest.raises(PbxInvalidInput):
        await client.async_hangup(HangupRequest(HangupTargetKind.CHANNEL, "SIP/101-1"))
    with pytest.raises(PbxResponseError, match="neprobíhá"):
        await client.async_hangup(HangupRequest(HangupTargetKind.USER, "agent4"))


async def test_transfer(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client, state = make_client(session, pbx_simulator), pbx_simulator.state
    call = answered_call(state, "2")
    id_call = daktela(pbx_simulator).call_id(call)
    # Not in a snapshot yet: RTUsersState finds the agent on the call.
    await client.async_transfer(TransferRequest(id_call, "+420777123456"))
    assert sent(pbx_simulator, "Transfer") == (
        "/api/3.0/Transfer/json",
        {"user": "agent2", "type": "blind", "number": "777123456"},
    )
    assert call.transferred_to == "777123456"
    assert len(pbx_simulator.sim.requests_for("daktela", "RTUsersState")) == 1
    with pytest.raises(PbxInvalidInput, match="live call"):
        await client.async_transfer(TransferRequest("1.2WS", "101"))


async def test_announce(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client, state = make_client(session, pbx_simulator), pbx_simulator.state
    call = answered_call(state, "3")
    id_call = daktela(pbx_simulator).call_id(call)
    await client.async_fetch_snapshot()
    result = await client.async_announce(AnnounceRequest(call_id=id_call, recording="hlaska.wav"))
    assert result.call_id == id_call
    assert sent(pbx_simulator, "ControlPlayback") == (
        "/api/3.6/ControlPlayback/json",
        {"user": "agent3", "command": "play", "recording": "hlaska.wav"},
    )
    assert call.announcement == "hlaska.wav"
    assert len(pbx_simulator.sim.requests_for("daktela", "RTUsersState")) == 1
    with pytest.raises(PbxInvalidInput, match="recordings only"):
        await client.async_announce(AnnounceRequest(number="+420601", text="Dobrý den"))
    with pytest.raises(PbxInvalidInput, match="call_id"):
        await client.async_announce(AnnounceRequest(number="+420601", recording="a.wav"))


async def test_send_sms(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client, state = make_client(session, pbx_simulator), pbx_simulator.state
    result = await client.async_send_sms(SmsRequest(("+420601111222",), "Ahoj"))
    assert sent(pbx_simulator, "SendSMS") == (
        "/api/3.1/SendSMS/json",
        {"number": "601111222", "message": "Ahoj"},
    )
    (sms,) = state.sms.values()
    assert result.message_ids == (sms.id,)
    connect = make_client(session, pbx_simulator, options={OPTION_SMS_SENDER: "Firma"})
    result = await connect.async_send_sms(SmsRequest(("+420601111222", "+491701234567"), "Hi"))
    requests = pbx_simulator.sim.requests_for("daktela", "SendSMSConnect")
    assert [(r.path, r.query) for r in requests] == [
        (
            "/api/4.1/SendSMSConnect/json",
            {"number": "+420601111222", "message": "Hi", "sender": "Firma"},
        ),
        (
            "/api/4.1/SendSMSConnect/json",
            {"number": "+491701234567", "message": "Hi", "sender": "Firma"},
        ),
    ]
    assert len(result.message_ids) == 2
    assert [s.sender for s in state.sms.values()][1:] == ["Firma", "Firma"]
    with pytest.raises(PbxInvalidInput):
        await client.async_send_sms(SmsRequest((), "x"))


async def test_agent_controls(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client, state = make_client(session, pbx_simulator), pbx_simulator.state
    await client.async_agent_logout("agent1")
    assert sent(pbx_simulator, "Logout") == ("/api/3.4/Logout/json", {"user": "agent1"})
    assert not is_logged_in(state, "1")
    await client.async_agent_login("agent1")
    assert sent(pbx_simulator, "Login") == ("/api/3.4/Login/json", {"user": "agent1"})
    assert is_logged_in(state, "1")
    await client.async_agent_pause("agent1", "break")
    assert sent(pbx_simulator, "PauseOn") == (
        "/api/3.0/PauseOn/json",
        {"user": "agent1", "pause": "2"},
    )
    assert state.agents["1"].pause_reason == "Break"
    assert len(pbx_simulator.sim.requests_for("daktela", "GetPauses")) == 1
    await client.async_agent_unpause("agent1")
    assert sent(pbx_simulator, "PauseOff") == ("/api/3.0/PauseOff/json", {"user": "agent1"})
    assert not state.agents["1"].paused
    await client.async_agent_pause("agent2")  # no reason: the first pause
    assert state.agents["2"].pause_reason == "Lunch"
    with pytest.raises(PbxInvalidInput, match="Lunch, Break, Meeting, Training"):
        await client.async_agent_pause("agent2", "Coffee")
    with pytest.raises(PbxResponseError, match="nebyl nalezen"):
        await client.async_agent_login("nobody")


async def test_no_pauses(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    pbx_simulator.state.pause_reasons.clear()
    with pytest.raises(PbxInvalidInput, match="no pause"):
        await make_client(session, pbx_simulator).async_agent_pause("agent1")


async def test_queue_controls(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client, state = make_client(session, pbx_simulator), pbx_simulator.state
    # Without a snapshot the queue's number is read first.
    await client.async_queue_logout("agent1", "2")
    assert sent(pbx_simulator, "LogoutQueue") == (
        "/api/3.0/LogoutQueue/json",
        {"user": "agent1", "queue": "2001"},
    )
    assert sent(pbx_simulator, "GetQueues")[0] == "/api/3.0/GetQueues/2/json"
    assert "2" not in state.agents["1"].queue_ids
    await client.async_queue_login("agent1", "2")
    assert sent(pbx_simulator, "LoginQueue") == (
        "/api/3.0/LoginQueue/json",
        {"user": "agent1", "queue": "2001"},
    )
    assert "2" in state.agents["1"].queue_ids
    pbx_simulator.sim.requests.clear()
    await client.async_queue_logout("agent1", "2001")  # the number itself works too
    assert pbx_simulator.sim.requests_for("daktela", "GetQueues") == []
    answered_call(state, "2")
    with pytest.raises(PbxResponseError) as err:
        await client.async_queue_logout("agent2", "1")
    assert err.value.reason == (
        "Nelze se odhlasit z fronty/kampaně, ve které probíhá hovor s číslem 601222333"
    )
    with pytest.raises(PbxResponseError, match="Fronta s ID 9"):
        await client.async_queue_login("agent1", "9")
    with pytest.raises(PbxUnsupportedError):
        await client.async_queue_kick("1", "x")


async def test_register_sms_webhook(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client, sim = make_client(session, pbx_simulator), daktela(pbx_simulator)
    callback = HOOK + "?number=$number&message=$message&id=$id&direction=$direction"
    await client.async_register_webhook(HOOK)
    assert sent(pbx_simulator, "SetSMSSettings") == (
        "/api/3.1/SetSMSSettings/json",
        {"incoming_callback": callback},
    )
    assert sim.sms_settings["incoming_callback"] == callback
    await client.async_register_webhook(HOOK)  # already ours: nothing to change
    assert len(pbx_simulator.sim.requests_for("daktela", "SetSMSSettings")) == 1
    await client.async_unregister_webhook("http://other.example/")
    assert sim.sms_settings["incoming_callback"] == callback
    await client.async_unregister_webhook(HOOK)
    assert callback_of(sim) is None
    # Somebody else's callback is never replaced nor removed.
    sim.sms_settings["incoming_callback"] = "https://crm.example/sms"
    with pytest.raises(PbxResponseError, match="another URL"):
        await client.async_register_webhook(HOOK)
    await client.async_unregister_webhook(HOOK)
    assert sim.sms_settings["incoming_callback"] == "https://crm.example/sms"
    sim.sms_settings["incoming_callback"] = HOOK  # set by hand, without placeholders
    await client.async_unregister_webhook(HOOK)
    assert sim.sms_settings["incoming_callback"] is None


async def test_webhook_url_stays_out_of_the_log(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The callback URL carries the webhook id, a secret (brief: never in logs)."""
    caplog.set_level(logging.DEBUG)
    client = make_client(session, pbx_simulator)
    await client.async_register_webhook(HOOK)
    await client.async_unregister_webhook(HOOK)
    assert "SetSMSSettings" in caplog.text
    assert "webhook/abc" not in caplog.text
    assert "webhook%2Fabc" not in caplog.text


async def test_pushes_end_to_end(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """What the simulator sends is what the parser reads."""
    client, state, sim = (
        make_client(session, pbx_simulator),
        pbx_simulator.state,
        daktela(pbx_simulator),
    )
    hook = pbx_simulator.origin + "/_sim/state"
    await client.async_register_webhook(hook)
    sim.set_dialplan_hook(hook)
    state.receive_sms("+420601000111", "245008328", "Ahoj & čau")
    call = state.incoming_call("+420601000222", agent_id="1")
    state.answer(call.id)
    state.hangup(call.id)
    await pbx_simulator.sim.webhooks.drain()
    items = []
    for delivery in pbx_simulator.sim.webhooks.deliveries:
        query = dict(parse_qsl(urlsplit(delivery.url).query, keep_blank_values=True))
        items += client.parse_webhook(WebhookRequest("GET", {}, query, b""))
    sms, incoming, ringing, answered, hangup = items
    assert isinstance(sms, SmsMessage)
    assert (sms.direction, sms.sender, sms.text) == (
        SmsDirection.INCOMING,
        "+420601000111",
        "Ahoj & čau",
    )
    assert all(isinstance(i, CallEvent) for i in (incoming, ringing, answered, hangup))
    assert isinstance(incoming, CallEvent)
    assert (incoming.event_type, incoming.caller, incoming.callee) == (
        CallEventType.INCOMING,
        "+420601000222",
        "+420245008328",
    )
    id_call = sim.call_id(call)
    for event, kind in ((ringing, CallEventType.RINGING), (answered, CallEventType.ANSWERED)):
        assert isinstance(event, CallEvent)
        assert (event.event_type, event.call_id, event.line) == (kind, id_call, "101")
        assert event.direction is CallDirection.INCOMING
    assert isinstance(hangup, CallEvent)
    assert hangup.event_type is CallEventType.HANGUP


def test_parse_documented_hooks(session: aiohttp.ClientSession) -> None:
    """The dialplan lines of the documentation, with Asterisk's variables filled in."""
    client = DaktelaClient(session, {"base_url": "https://a.daktela.com", "access_token": "t"})
    values = {
        "${CALLERID(num)}": "603927227",
        "${FROM_DID}": "226211245",
        "${REAL_EXTEN}": "200",
        "${ID_CALL}": "1332333840.98",
    }
    events = []
    for line in (FIXTURES / "dialplan_hooks.txt").read_text().splitlines():
        url = line.split('"')[1]
        for variable, value in values.items():
            url = url.replace(variable, value)
        query = dict(parse_qsl(urlsplit(url).query))
        (event,) = client.parse_webhook(WebhookRequest("GET", {}, query, b""))
        assert isinstance(event, CallEvent)
        events.append(event)
    assert [e.event_type for e in events] == [
        CallEventType.INCOMING,
        CallEventType.RINGING,
        CallEventType.ANSWERED,
        CallEventType.HANGUP,
    ]
    assert events[0].call_id is None  # `callid` is the caller's number
    assert (events[0].caller, events[0].callee) == ("+420603927227", "+420226211245")
    ringing = events[1]
    assert (ringing.call_id, ringing.caller, ringing.callee, ringing.line) == (
        "1332333840.98",
        "+420603927227",
        "+420226211245",
        "200",
    )
    assert ringing.raw["action"] == "ringing"
    outgoing = client.parse_webhook(
        WebhookRequest(
            "GET",
            {},
            {"callerId": "200", "calleeId": "", "idcall": "1.2", "action": "ringing"},
            b"",
        )
    )
    assert isinstance(outgoing[0], CallEvent)
    assert outgoing[0].direction is CallDirection.OUTGOING
    outgoing_sms = client.parse_webhook(
        WebhookRequest("GET", {}, {"number": "603927227", "message": "x", "direction": "out"}, b"")
    )
    assert isinstance(outgoing_sms[0], SmsMessage)
    assert (outgoing_sms[0].direction, outgoing_sms[0].recipient) == (
        SmsDirection.OUTGOING,
        "+420603927227",
    )


@pytest.mark.parametrize(
    ("method", "query"),
    [
        ("PUT", {"action": "ringing"}),
        ("GET", {}),
        ("GET", {"action": "explode", "callerId": "1"}),
        ("GET", {"message": "x", "number": "1", "direction": "sideways"}),
    ],
)
def test_parse_refuses(session: aiohttp.ClientSession, method: str, query: dict[str, str]) -> None:
    client = DaktelaClient(session, {"base_url": "https://a.daktela.com", "access_token": "t"})
    with pytest.raises(PbxInvalidInput):
        client.parse_webhook(WebhookRequest(method, {}, query, b"<!DOCTYPE x>"))


# --- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "endpoint", "error"),
    [
        (FaultKind.SERVER_ERROR, "GetUser", PbxConnectionError),
        (FaultKind.UNAUTHORIZED, "GetUser", PbxAuthError),
        (FaultKind.FORBIDDEN, "GetUser", PbxAuthError),
        (FaultKind.RATE_LIMIT, "GetUser", PbxRateLimitError),
        (FaultKind.TRUNCATED, "GetUser", PbxResponseError),
        (FaultKind.MALFORMED, "GetUser", PbxResponseError),
        (FaultKind.HTML, "GetUser", PbxResponseError),
        (FaultKind.DISCONNECT, "GetUser", PbxConnectionError),
        (FaultKind.HANG, "GetUser", PbxConnectionError),
        (FaultKind.HANG, "CreateCall", PbxOutcomeUnknownError),
        (FaultKind.DISCONNECT, "CreateCall", PbxOutcomeUnknownError),
        (FaultKind.TRUNCATED, "CreateCall", PbxResponseError),
    ],
)
async def test_faults(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    *,
    kind: FaultKind,
    endpoint: str,
    error: type[Exception],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="daktela", kind=kind, endpoint=endpoint))
    client = make_client(session, pbx_simulator, timeout=0.3)
    dial = DialRequest("+420800123456", DialSource(DialSourceKind.USER, "agent1"))
    action = client.async_validate() if endpoint == "GetUser" else client.async_dial(dial)
    with pytest.raises(error) as err:
        await action
    if isinstance(err.value, PbxRateLimitError):
        assert err.value.retry_after == 30
    config = pbx_simulator.config["daktela"]
    for secret in (config["access_token"], config["password"]):
        assert secret not in str(err.value)
        assert secret not in caplog.text


async def test_latency_is_only_slower(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.sim.faults.append(Fault(provider="daktela", kind=FaultKind.LATENCY, seconds=0.05))
    assert (await make_client(session, pbx_simulator).async_validate()).account_id


# --- the documented answers, byte for byte ---------------------------------------------------


@pytest.fixture
async def doc_server(socket_enabled: None) -> AsyncGenerator[tuple[str, dict[str, str]]]:
    """A server answering each action with a documented body; tests pick the fixtures."""
    answers = dict(DOC_ANSWERS)

    async def handle(request: web.Request) -> web.Response:
        body = (FIXTURES / f"{answers[request.match_info['action']]}_response.json").read_bytes()
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/{version}/{action}/json", handle)
    app.router.add_get("/api/{version}/{action}/{item}/json", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", answers
    finally:
        await runner.cleanup()


async def test_documented_snapshot(
    doc_server: tuple[str, dict[str, str]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    client = DaktelaClient(session, {"base_url": url, "access_token": DOC_TOKEN})
    snapshot = await client.async_fetch_snapshot()
    # Wrap and Lajdak are the PBX's own pauses.
    assert snapshot.pause_reasons == ("Backoffice", "Prestavka", "Obed", "Email", "Obed22")
    # admin is logged in (RTUsersState); hajekhu only listed by GetUsers.
    admin = snapshot.agents["admin"]
    hajek = snapshot.agents["hajekhu"]
    assert (hajek.name, hajek.state, hajek.logged_in) == (
        "Hajek Hugo",
        AgentState.LOGGED_OUT,
        False,
    )
    assert (admin.agent_id, admin.name, admin.state, admin.extension, admin.queue_ids) == (
        "admin",
        "Administrator",
        AgentState.IDLE,
        "500",
        ("4",),
    )
    assert set(snapshot.queues) == {"3", "4", "6"}
    assert snapshot.queues["3"].name == "Outbounder"
    assert snapshot.queues["4"].member_ids == ("admin",)
    assert (snapshot.queues["4"].agents_busy, snapshot.queues["4"].longest_wait) == (1, None)
    assert snapshot.queues["6"].longest_wait == 0.0
    assert list(snapshot.registrations) == ["100", "200", "300", "500"]
    assert snapshot.registrations["100"].ip == "172.22.254.254"
    assert snapshot.registrations["100"].port == 5064
    assert not snapshot.registrations["500"].registered
    call = snapshot.calls["1332333840.98"]
    assert (call.direction, call.state, call.caller, call.agent_id, call.queue_id) == (
        CallDirection.INCOMING,
        CallState.ANSWERED,
        "100",
        "hajekhu",  # user 3 of GetUsers
        "6",
    )
    assert call.started == datetime(2012, 3, 21, 13, 44, 2, tzinfo=PRAGUE)
    assert call.answered == datetime(2012, 3, 21, 13, 44, 7, tzinfo=PRAGUE)
    answers["GetPauses"] = "get_pauses_3_0"  # the older shape reads the same way
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.pause_reasons == ("Lajdak", "Wrap", "Backoffice", "Email", "Prestavka", "Obed")


async def test_documented_actions(
    doc_server: tuple[str, dict[str, str]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    answers.update(
        CreateCall="create_call_user",
        ClickToCall="click_to_call",
        CreateRemoteCall="create_remote_call",
        SendSMS="send_sms",
        SendSMSConnect="send_sms_connect",
        Hangup="hangup_user",
        GetUser="get_user",
        GetSMSSettings="get_sms_settings",
        SetSMSSettings="set_sms_settings_callback",
        PauseOn="pause_on_unknown",
        LogoutQueue="logout_queue_busy",
        GetQueues="get_queues_one",
    )
    client = DaktelaClient(session, {"base_url": url, "access_token": DOC_TOKEN})
    user = DialSource(DialSourceKind.USER, "michalhajek")
    assert (await client.async_dial(DialRequest("+420800123456", user))).call_id == (
        "123456789.1234SJ"
    )
    ctc = DialSource(DialSourceKind.LINE, "2006")
    assert (await client.async_dial(DialRequest("+420226211245", ctc))).call_id == (
        "1358860092.8131WS"
    )
    remote = DialSource(DialSourceKind.LINE, "+420226211245")
    assert (await client.async_dial(DialRequest("+420468008585", remote))).call_id == (
        "1346154802.5542WS"
    )
    assert (await client.async_send_sms(SmsRequest(("+420123456789",), "Ahoj"))).message_ids == (
        "2222",
    )
    assert (
        await client.async_send_sms(SmsRequest(("+420123456789",), "Ahoj", sender="Info"))
    ).message_ids == ("2222",)
    await client.async_hangup(HangupRequest(HangupTargetKind.USER, "michalhajek"))
    assert (await client.async_validate()).account_id == urlsplit(url).netloc
    await client.async_register_webhook(HOOK)  # the documented settings: no callback yet
    client._pauses = {"Obed": "100"}
    with pytest.raises(PbxResponseError) as refused:
        await client.async_agent_pause("michalhajek", "Obed")
    assert refused.value.reason == "Tato pauza nebyla nalezena"
    with pytest.raises(PbxResponseError) as busy:
        await client.async_queue_logout("michalhajek", "3")
    assert busy.value.reason == (
        "Nelze se odhlasit z fronty/kampaně, ve které probíhá hovor s číslem 468008585"
    )
    answers["GetUser"] = "get_user_wrong_token"
    with pytest.raises(PbxAuthError, match="Uživatel neexistuje"):
        await client.async_validate()


async def test_unreadable_records(
    doc_server: tuple[str, dict[str, str]], session: aiohttp.ClientSession
) -> None:
    """Answers of the wrong shape for an action are response errors, not crashes."""
    url, answers = doc_server
    client = DaktelaClient(session, {"base_url": url, "access_token": DOC_TOKEN})
    answers.update(GetPauses="get_user", RTUsersState="get_user")  # result: ""
    with pytest.raises(PbxResponseError, match="malformed"):
        await client.async_fetch_snapshot()
    answers.update(GetPauses="get_pauses_3_3", RTUsersState="device_states")
    with pytest.raises(PbxResponseError, match="agent_name"):
        await client.async_fetch_snapshot()
    answers.update(RTUsersState="rt_users_state", GetQueues="get_queues_one")
    answers.update(RTStatsQueues="device_states")
    with pytest.raises(PbxResponseError, match="without an id"):
        await client.async_fetch_snapshot()
    answers.update(RTStatsQueues="rt_stats_queues", DeviceStates="rt_stats_queues")
    with pytest.raises(PbxResponseError, match="without exten"):
        await client.async_fetch_snapshot()
    answers.update(DeviceStates="device_states", RTStatsCalls="device_states")
    with pytest.raises(PbxResponseError, match="call without an id"):
        await client.async_fetch_snapshot()
    answers.update(GetSMSSettings="get_user", GetQueues="get_user")
    with pytest.raises(PbxResponseError, match="settings"):
        await client.async_register_webhook(HOOK)
    with pytest.raises(PbxResponseError, match="no number"):
        await client.async_queue_login("agent", "77")


# --- issue 12: what the documentation asks of the client -------------------------------------


def legacy(running: RunningSimulator) -> RunningSimulator:
    """Make the simulator a 3.9 server: no GetUser 4.0, RTUsersState 4.1, StatsCalls 4.1."""
    daktela(running).set_max_version("3.9")
    return running


async def test_every_user_is_an_agent(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """GetUsers lists the logged-out too: a fresh client (after a restart) keeps them."""
    state = pbx_simulator.state
    state.agent_logout("5")
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    agent5 = snapshot.agents["agent5"]
    assert (agent5.state, agent5.logged_in, agent5.name) == (
        AgentState.LOGGED_OUT,
        False,
        state.agents["5"].name,
    )
    assert snapshot.complete == {Listing.AGENTS, Listing.QUEUES, Listing.REGISTRATIONS}
    # GetUsers is read now and then, not at every poll.
    client = make_client(session, pbx_simulator)
    await client.async_fetch_snapshot()
    await client.async_fetch_snapshot()
    assert len(pbx_simulator.sim.requests_for("daktela", "GetUsers")) == 2  # one per client
    # Someone RTUsersState names but GetUsers did not list yet: read again at the next poll.
    state.add_agent("Nová Agentka")
    await client.async_fetch_snapshot()
    await client.async_fetch_snapshot()
    assert len(pbx_simulator.sim.requests_for("daktela", "GetUsers")) == 3


async def test_wrap_up_system_pauses_and_not_in_queue(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    state.agents["1"].status = AgentStatus.WRAP_UP
    for queue_id in list(state.agents["2"].queue_ids):
        state.queue_logout("2", queue_id)
    state.agent_pause("3", "Lunch")
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    agent1 = snapshot.agents["agent1"]
    assert (agent1.state, agent1.paused, agent1.pause_reason) == (
        AgentState.WRAP_UP,
        True,
        "Wrap",
    )
    assert snapshot.agents["agent2"].state is AgentState.NOT_IN_QUEUE
    assert snapshot.agents["agent3"].state is AgentState.PAUSED
    assert snapshot.agents["agent3"].pause_reason == "Lunch"
    # The PBX's own pauses are listed by GetPauses, but are not for choosing.
    assert snapshot.pause_reasons == ("Lunch", "Break", "Meeting", "Training")
    with pytest.raises(PbxInvalidInput, match="Wrap"):
        await client.async_agent_pause("agent4", "Wrap")


def test_documented_wrap_pause(session: aiohttp.ClientSession) -> None:
    """The documented RTUsersState agent on the documented Wrap pause (GetPauses 3.3 id 2)."""
    body = (FIXTURES / "rt_users_state_response.json").read_bytes()
    paused = body.replace(b'"agent_state":"Idle"', b'"agent_state":"Paused"').replace(
        b'"id_pause":null', b'"id_pause":"2"'
    )
    client = DaktelaClient(session, {"base_url": "https://a.daktela.com", "access_token": "t"})
    pauses = read_json((FIXTURES / "get_pauses_3_3_response.json").read_bytes())["result"]
    client._read_pauses(list(pauses.values()))
    live = client._read_users_state(list(read_json(paused)["result"].values()))
    admin = client._agents(live)["admin"]
    assert (admin.state, admin.pause_reason) == (AgentState.WRAP_UP, "Wrap")


async def test_login_with_the_extension(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    lineless = state.add_agent("Bez Linky")  # no bound line: Login needs the extension
    state.agent_logout(lineless.id)
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxResponseError, match="extension"):
        await client.async_agent_login(lineless.login)
    pbx_simulator.sim.requests.clear()
    await client.async_agent_login(lineless.login, "150")
    assert sent(pbx_simulator, "Login")[1] == {"user": lineless.login, "extension": "150"}
    # Seen at 150 by the poll: later logins use it without being told.
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.agents[lineless.login].extension == "150"
    await client.async_agent_logout(lineless.login)
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.agents[lineless.login].extension == "150"  # still known, logged out
    pbx_simulator.sim.requests.clear()
    await client.async_queue_login(lineless.login, "1")  # in no queue: needs it too
    assert sent(pbx_simulator, "LoginQueue")[1] == {
        "user": lineless.login,
        "queue": "2000",
        "extension": "150",
    }
    # The options name an agent's extension for a client that has seen nothing yet.
    state.agent_logout(lineless.login.removeprefix("agent"))
    configured = make_client(
        session, pbx_simulator, options={OPTION_AGENT_EXTENSIONS: {lineless.login: "151"}}
    )
    pbx_simulator.sim.requests.clear()
    await configured.async_agent_login(lineless.login)
    assert sent(pbx_simulator, "Login")[1] == {"user": lineless.login, "extension": "151"}


async def test_bad_token_on_a_refresh_starts_reauth(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """No HTTP 401: a refused read is checked with GetUser, which names a dead token."""
    client = make_client(session, pbx_simulator)
    await client.async_fetch_snapshot()
    credentials = pbx_simulator.state.credentials["daktela"]
    token, credentials["access_token"] = credentials["access_token"], "changed"
    with pytest.raises(PbxAuthError, match="Uživatel neexistuje"):
        await client.async_fetch_snapshot()
    statuses = {r.status for r in pbx_simulator.sim.requests_for("daktela")}
    assert 401 not in statuses
    # A refusal with a good token stays what it was.
    credentials["access_token"] = token
    pbx_simulator.sim.faults.append(
        Fault(provider="daktela", kind=FaultKind.HTML, endpoint="DeviceStates")
    )
    with pytest.raises(PbxResponseError, match="unreadable"):
        await client.async_fetch_snapshot()


async def test_documented_bad_token_and_users(
    doc_server: tuple[str, dict[str, str]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    client = DaktelaClient(session, {"base_url": url, "access_token": DOC_TOKEN})
    await client.async_fetch_snapshot()
    answers["RTStatsQueues"] = "pause_on_unknown"  # a status:0 on a refresh…
    answers["GetUser"] = "get_user_wrong_token"  # …and GetUser says nobody has the token
    with pytest.raises(PbxAuthError):
        await client.async_fetch_snapshot()
    answers["GetUser"] = "get_user"
    with pytest.raises(PbxResponseError, match="Tato pauza nebyla nalezena"):
        await client.async_fetch_snapshot()
    answers["GetUsers"] = "get_users_one"  # one user, written as the record itself
    client._users_read_at = None
    answers["RTStatsQueues"] = "rt_stats_queues"
    snapshot = await client.async_fetch_snapshot()
    assert set(snapshot.agents) == {"admin", "hajekhu"}


async def test_a_3x_server(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    """RTStatsSessions 3.5 and GetUsers 3.0 instead of RTUsersState 4.1 and GetUser 4.0."""
    running, state = legacy(pbx_simulator), pbx_simulator.state
    call = answered_call(state, "2")
    state.agent_pause("3", "Meeting")
    state.agent_logout("5")
    client = make_client(session, running)
    assert (await client.async_validate()).account_id
    snapshot = await client.async_fetch_snapshot()
    assert running.sim.requests_for("daktela", "RTUsersState") == []
    assert running.sim.requests_for("daktela", "StatsCalls") == []
    agent2 = snapshot.agents["agent2"]
    assert (agent2.state, agent2.extension, agent2.call_partner, agent2.name) == (
        AgentState.IN_CALL,
        "102",
        "+420601222333",
        state.agents["2"].name,
    )
    assert snapshot.agents["agent3"].pause_reason == "Meeting"
    assert snapshot.agents["agent5"].state is AgentState.LOGGED_OUT
    assert snapshot.missed_calls_today is None  # StatsCalls needs 4.1
    assert snapshot.calls[daktela(running).call_id(call)].agent_id == "agent2"
    # Actions on a live call find its agent through RTStatsCalls.
    fresh = make_client(session, running)
    await fresh.async_validate()
    await fresh.async_hangup(HangupRequest(HangupTargetKind.USER, "agent2"))
    other = answered_call(state, "1")
    await fresh.async_transfer(TransferRequest(daktela(running).call_id(other), "+420601999888"))
    assert other.transferred_to == "601999888"
    # Someone new in RTStatsSessions: GetUsers is read again in the same poll, once.
    newcomer = state.add_agent("Nový Operátor")
    before = len(running.sim.requests_for("daktela", "GetUsers"))
    snapshot = await client.async_fetch_snapshot()
    await client.async_fetch_snapshot()
    assert snapshot.agents[newcomer.login].name == "Nový Operátor"
    assert len(running.sim.requests_for("daktela", "GetUsers")) == before + 1
    # A wrong token on 3.x: GetUsers refuses it.
    wrong = {"base_url": running.config["daktela"]["base_url"], "access_token": "wrong"}
    with pytest.raises(PbxAuthError):
        await make_client(session, running, config=wrong).async_validate()


async def test_missed_calls_and_last_caller(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    client = make_client(session, pbx_simulator)
    assert (await client.async_fetch_snapshot()).missed_calls_today == 0
    missed = state.incoming_call("+420777111222", queue_id="1")
    state.hangup(missed.id)  # never answered, never seen by a poll
    answered = state.incoming_call("+420777333444", queue_id="2", agent_id="1")
    state.answer(answered.id)
    state.hangup(answered.id)
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.missed_calls_today == 1
    (missed_request,) = [
        r.query
        for r in pbx_simulator.sim.requests_for("daktela", "StatsCalls")
        if r.query.get("answered") == "false"
    ][-1:]
    assert missed_request["take"] == "1"
    assert {missed_request["queues[0]"], missed_request["queues[1]"]} == {"1", "2"}
    # Both calls ended between polls: the newer one is the last caller.
    assert snapshot.last_caller in ("+420777111222", "+420777333444")
    newest = max((missed, answered), key=lambda c: (c.created, int(c.id)))
    assert snapshot.last_caller == "+420" + national_of(newest.caller)
    # No new call: the next poll keeps the last caller.
    assert (await client.async_fetch_snapshot()).last_caller == snapshot.last_caller


def national_of(number: str) -> str:
    return number.removeprefix("+420")


async def test_announce_to_a_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator, options={OPTION_ANNOUNCEMENT_ROUTE: "9999"})
    result = await client.async_announce(
        AnnounceRequest(number="+420226211245", recording="zprava")
    )
    path, query = sent(pbx_simulator, "CreateRemoteCall")
    assert (path, query) == (
        "/api/3.8/CreateRemoteCall/json",
        {
            "primarynumber": "226211245",
            "secondarynumber": "9999",
            "directdid": "true",
            "variables[recording]": "zprava",
        },
    )
    (call,) = pbx_simulator.state.calls.values()
    assert call.announcement == "9999"
    assert result.call_id == daktela(pbx_simulator).call_id(call)
    assert daktela(pbx_simulator).remote_call_variables[call.id] == {"recording": "zprava"}
    with pytest.raises(PbxInvalidInput, match="no text to speech"):
        await client.async_announce(AnnounceRequest(number="+420226211245", text="Dobrý den"))


@pytest.mark.parametrize(
    "text",
    ["Dobrý den, volá Žluťoučký kůň", "שלום, יש שיחה שלא נענתה"],
    ids=["czech", "hebrew"],
)
async def test_sms_not_ascii_goes_with_unicode(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, text: str
) -> None:
    state = pbx_simulator.state
    await make_client(session, pbx_simulator).async_send_sms(SmsRequest(("+420601111222",), text))
    assert sent(pbx_simulator, "SendSMS")[1]["unicode"] == "yes"
    (sms,) = state.sms.values()
    assert sms.text == text  # intact
    # Without `unicode` Daktela sends ASCII, as documented (the simulator does the same).
    pbx_simulator.sim.requests.clear()
    await make_client(session, pbx_simulator, options={OPTION_SMS_SENDER: "Firma"}).async_send_sms(
        SmsRequest(("+420601111222",), "Ahoj")
    )
    assert "unicode" not in sent(pbx_simulator, "SendSMSConnect")[1]


@pytest.mark.parametrize(("text", "limit"), [("a", 1377), ("č", 603), ("ש", 603)])
async def test_sms_longer_than_documented_is_refused_before_sending(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, text: str, limit: int
) -> None:
    """At most 1377 characters, "utf8 603" (D:2920, D:3208): the longest text goes out
    intact, one more character is refused here and nothing reaches Daktela."""
    client = make_client(session, pbx_simulator)
    await client.async_send_sms(SmsRequest(("+420601111222",), text * limit))
    (sms,) = pbx_simulator.state.sms.values()
    assert sms.text == text * limit
    pbx_simulator.sim.requests.clear()
    with pytest.raises(PbxInvalidInput, match=f"at most {limit} characters"):
        await client.async_send_sms(SmsRequest(("+420601111222",), text * (limit + 1)))
    assert not pbx_simulator.sim.requests_for("daktela", "SendSMS")


async def test_more_calls_today_than_stats_calls_returns(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """StatsCalls refuses more than 1000 matching calls (D:2548): the refresh still
    succeeds, with the missed-call count unknown rather than wrong."""
    state = pbx_simulator.state
    daktela(pbx_simulator).stats_calls_limit = 1
    for number in ("+420777000001", "+420777000002"):
        state.hangup(state.incoming_call(number, queue_id="1").id)
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    assert snapshot.missed_calls_today is None
    assert snapshot.agents


def test_simulator_converts_to_ascii_without_unicode() -> None:
    assert to_ascii("Žluťoučký kůň") == "Zlutoucky kun"
    assert to_ascii("שלום") == "????"


async def test_sms_connect_only_account(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """`enabled_sms: CONNECT` (D:2787): SendSMSConnect, never SendSMS, which it refuses."""
    sim = daktela(pbx_simulator)
    sim.enabled_sms = "CONNECT"
    client = make_client(session, pbx_simulator)
    result = await client.async_send_sms(SmsRequest(("+420601111222",), "Přijďte"))
    assert sent(pbx_simulator, "SendSMSConnect")[1] == {
        "number": "+420601111222",
        "message": "Přijďte",
        "unicode": "yes",
    }
    assert pbx_simulator.sim.requests_for("daktela", "SendSMS") == []
    assert result.message_ids
    (sms,) = pbx_simulator.state.sms.values()
    assert sms.text == "Přijďte"
    # The simulator refuses SendSMS on such an account.
    sms_gateway = DaktelaClient(session, pbx_simulator.config["daktela"])
    sms_gateway._sms_connect = False
    with pytest.raises(PbxResponseError, match="SMS bránu"):
        await sms_gateway.async_send_sms(SmsRequest(("+420601111222",), "x"))
    # On a 3.x server: SendGroupSMSConnect 3.1, one number a request.
    legacy(pbx_simulator)
    old = make_client(session, pbx_simulator)
    await old.async_validate()
    pbx_simulator.sim.requests.clear()
    result = await old.async_send_sms(SmsRequest(("+420601111222",), "Ahoj"))
    assert sent(pbx_simulator, "SendGroupSMSConnect")[1] == {
        "number[0]": "+420601111222",
        "message[0]": "Ahoj",
    }
    assert result.message_ids == (list(pbx_simulator.state.sms)[-1],)


async def test_documented_group_sms_answer(
    doc_server: tuple[str, dict[str, str]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    answers.update(SendGroupSMSConnect="send_group_sms_connect", GetUser="device_states")
    client = DaktelaClient(session, {"base_url": url, "access_token": DOC_TOKEN})
    client._legacy = True
    result = await client.async_send_sms(SmsRequest(("+420123456789",), "Ahoj", sender="Info"))
    assert result.message_ids == ("2446",)  # 2445 is the group


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_hooks_by_get_or_post(session: aiohttp.ClientSession, method: str) -> None:
    client = DaktelaClient(session, {"base_url": "https://a.daktela.com", "access_token": "t"})
    hook = "callerId=603927227&calleeId=226211245&line=101&idcall=1.2&action=answer"
    sms = "number=603927227&message=Dobr%C3%BD+den&id=7&direction=in"
    for query in (hook, sms):
        request = (
            WebhookRequest("GET", {}, dict(parse_qsl(query)), b"")
            if method == "GET"
            else WebhookRequest(
                "POST",
                {"Content-Type": "application/x-www-form-urlencoded"},
                {},
                query.encode(),
            )
        )
        (item,) = client.parse_webhook(request)
        if isinstance(item, SmsMessage):
            assert item.text == "Dobrý den"
        else:
            assert (item.event_type, item.line) == (CallEventType.ANSWERED, "101")
    with pytest.raises(PbxInvalidInput):
        client.parse_webhook(WebhookRequest("POST", {}, {}, b"\xff\xfe"))


async def test_hook_line_names_the_agent(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """`line=${REAL_EXTEN}` is resolved through RTUsersState's `exten`, without a request."""
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    requests = len(pbx_simulator.sim.requests)
    query = {"callerId": "603927227", "calleeId": "", "line": "103", "action": "ringing"}
    items = client.parse_webhook(WebhookRequest("GET", {}, query, b""))
    (event,) = client.resolve_webhook_items(items, snapshot)
    assert isinstance(event, CallEvent)
    assert event.agent_id == "agent3"
    assert len(pbx_simulator.sim.requests) == requests
    unknown = client.parse_webhook(WebhookRequest("GET", {}, {**query, "line": "999"}, b""))
    assert client.resolve_webhook_items(unknown, snapshot) == unknown
    assert client.resolve_webhook_items(items, None) == items


@pytest.mark.parametrize(
    ("endpoint", "action"),
    [
        ("Transfer", "transfer"),
        ("Hangup", "hangup"),
        ("Login", "login"),
        ("Logout", "logout"),
        ("PauseOn", "pause"),
        ("PauseOff", "unpause"),
        ("LoginQueue", "queue_login"),
        ("LogoutQueue", "queue_logout"),
        ("ControlPlayback", "announce"),
        ("CreateRemoteCall", "announce_number"),
        ("SetSMSSettings", "register"),
    ],
)
async def test_changing_actions_go_out_once(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, endpoint: str, action: str
) -> None:
    """A dropped connection after sending: one request, and 'may have been carried out'."""
    state = pbx_simulator.state
    call = answered_call(state, "1")
    client = make_client(session, pbx_simulator, options={OPTION_ANNOUNCEMENT_ROUTE: "9999"})
    await client.async_fetch_snapshot()
    id_call = daktela(pbx_simulator).call_id(call)
    pbx_simulator.sim.faults.append(
        Fault(provider="daktela", kind=FaultKind.DISCONNECT, endpoint=endpoint)
    )
    pbx_simulator.sim.requests.clear()
    run = {
        "transfer": lambda: client.async_transfer(TransferRequest(id_call, "102")),
        "hangup": lambda: client.async_hangup(HangupRequest(HangupTargetKind.CALL, id_call)),
        "login": lambda: client.async_agent_login("agent2"),
        "logout": lambda: client.async_agent_logout("agent2"),
        "pause": lambda: client.async_agent_pause("agent2", "Lunch"),
        "unpause": lambda: client.async_agent_unpause("agent2"),
        "queue_login": lambda: client.async_queue_login("agent2", "2"),
        "queue_logout": lambda: client.async_queue_logout("agent2", "1"),
        "announce": lambda: client.async_announce(AnnounceRequest(call_id=id_call, recording="a")),
        "announce_number": lambda: client.async_announce(
            AnnounceRequest(number="+420601222333", recording="a")
        ),
        "register": lambda: client.async_register_webhook(HOOK),
    }[action]
    with pytest.raises(PbxOutcomeUnknownError, match="may have been carried out"):
        await run()
    assert len(pbx_simulator.sim.requests_for("daktela", endpoint)) == 1


async def test_a_live_agent_getusers_never_lists_is_asked_about_once(
    doc_server: tuple[str, dict[str, str]], session: aiohttp.ClientSession
) -> None:
    """RTUsersState's admin is not in this GetUsers answer: one more GetUsers, not one a poll."""
    url, answers = doc_server
    answers["GetUsers"] = "get_users_one"  # hajekhu only
    client = DaktelaClient(session, {"base_url": url, "access_token": DOC_TOKEN})
    await client.async_fetch_snapshot()
    assert client._users_read_at is None  # admin is new: GetUsers again at the next poll
    await client.async_fetch_snapshot()
    read_at = client._users_read_at
    snapshot = await client.async_fetch_snapshot()
    assert client._users_read_at == read_at
    assert set(snapshot.agents) == {"admin", "hajekhu"}


async def test_getusers_refused_keeps_the_logged_in_agents(
    doc_server: tuple[str, dict[str, str]], session: aiohttp.ClientSession
) -> None:
    """A user without the right to list users: the snapshot still comes, agents not complete."""
    url, answers = doc_server
    answers["GetUsers"] = "pause_on_unknown"  # status 0
    client = DaktelaClient(session, {"base_url": url, "access_token": DOC_TOKEN})
    snapshot = await client.async_fetch_snapshot()
    assert set(snapshot.agents) == {"admin"}
    assert Listing.AGENTS not in snapshot.complete
    assert snapshot.problems == (ProviderProblem(ProblemKind.MISSING_PERMISSION, "GetUsers"),)
    answers["GetUsers"] = "get_users_all"
    client._users_read_at = None  # an hour later
    snapshot = await client.async_fetch_snapshot()
    assert Listing.AGENTS in snapshot.complete
    assert snapshot.problems == ()
