"""The Yemot (call2all) client against the simulator and the documented examples."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
import pytest

from custom_components.pbx_bridge.api.declaration import OPTION_SMS_SENDER
from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxPermissionError,
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
    SmsRequest,
    TransferRequest,
    WebhookReply,
    WebhookRequest,
)
from custom_components.pbx_bridge.api.providers.yemot import (
    OPTION_API_RETURN_FOLDER,
    OPTION_QUEUE_PATHS,
    YemotClient,
    ivr_path,
)
from custom_components.pbx_bridge.api.registry import client_class
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.providers.yemot import YemotSim
from pbx_simulator.state import CallStatus, Direction, SimState
from pbx_simulator.testing import RunningSimulator, start_simulator
from tests.api.faults import READ_FAULT_ERRORS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "yemot"
ISRAEL = ZoneInfo("Asia/Jerusalem")
QUEUE_PATHS = ["ivr2:/801", "/802"]
TOKEN = "0773137770:ym-4567-pass"
PASSWORD = "ym-4567-pass"


def is_paused(state: SimState, agent_id: str) -> bool:
    """Read through a call, so type narrowing does not outlive the actions in between."""
    return state.agents[agent_id].paused


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def make_client(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    *,
    options: Mapping[str, Any] | None = None,
    timeout: float = 5.0,
) -> YemotClient:
    return YemotClient(
        session,
        running.config["yemot"],
        options={OPTION_QUEUE_PATHS: QUEUE_PATHS} if options is None else options,
        timeout=timeout,
    )


def form(running: RunningSimulator, command: str) -> dict[str, str]:
    """The one request sent for `command`, its form body decoded."""
    (request,) = running.sim.requests_for("yemot", command)
    assert request.method == "POST"
    assert request.query == {}  # the token never travels in the URL
    return dict(parse_qsl(request.body))


def json_bodies(running: RunningSimulator, command: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in running.sim.requests_for("yemot", command)]


def yemot_sim(running: RunningSimulator) -> YemotSim:
    sim = running.sim.providers["yemot"]
    assert isinstance(sim, YemotSim)
    return sim


# --- declarations -------------------------------------------------------------------------


def test_declarations() -> None:
    assert client_class("yemot") is YemotClient
    assert YemotClient.title == "Yemot (call2all)"
    assert YemotClient.default_base_url == "https://www.call2all.co.il/ym/api"
    fields = {f.key: f for f in YemotClient.connection_fields}
    assert set(fields) == {"system_number", "token", "base_url"}
    assert fields["token"].secret
    assert not fields["system_number"].secret
    assert not fields["system_number"].required  # old entries hold number:password alone
    assert fields["base_url"].is_url
    assert not fields["base_url"].required
    assert YemotClient.webhook_methods == {"GET", "POST"}  # the API extension (api_url_post)
    assert YemotClient.default_country_code == "972"
    assert YemotClient.capabilities == {
        Capability.SIP_REGISTRATIONS,
        Capability.QUEUES,
        Capability.AGENTS,
        Capability.AGENT_PAUSE,
        Capability.QUEUE_KICK,
        Capability.ACTIVE_CALLS,
        Capability.DIAL,
        Capability.ANNOUNCE,
        Capability.SEND_SMS,
        Capability.SMS_POLLING,
        Capability.CALL_WEBHOOK,
    }
    assert {o.key for o in YemotClient.declaration.options} == {
        OPTION_QUEUE_PATHS,
        OPTION_API_RETURN_FOLDER,
    }
    assert YemotClient.declaration.webhook_setup("https://ha/api/webhook/x?secret=s") == (
        "`type=api`\n`api_link=https://ha/api/webhook/x?secret=s`\n`api_hangup_send=yes`"
    )


async def test_format_number_and_paths(session: aiohttp.ClientSession) -> None:
    client = YemotClient(session, {"token": TOKEN})
    assert client.base_url == "https://www.call2all.co.il/ym/api"
    assert client.format_number("+972501234567") == "0501234567"
    assert client.format_number("+420601123456") == "00420601123456"
    assert client.format_number("101") == "101"
    assert ivr_path("/1/100") == "ivr2:/1/100"
    assert ivr_path("ivr2:1/100/") == "ivr2:/1/100"
    assert ivr_path("") == "ivr2:/"
    assert PASSWORD not in repr(client)
    assert TOKEN not in repr(client)


# --- validate and snapshot -----------------------------------------------------------------


async def test_validate(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    info = await make_client(session, pbx_simulator).async_validate()
    assert info.account_id == "0773137770"  # the system number, never the password
    assert PASSWORD not in info.account_id + info.name
    # A request every server answers: servers without SIP refuse the SIP commands.
    assert form(pbx_simulator, "GetSession") == {"token": TOKEN}


async def test_validate_rejects_a_wrong_token(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(session, pbx_simulator)
    pbx_simulator.state.credentials["yemot"]["token"] = "0773137770:changed"  # reauth needed
    with pytest.raises(PbxAuthError) as err:
        await client.async_validate()
    # Refused as an invalid token, then one login with the stored credentials, refused too.
    assert "user name or password do not match" in str(err.value)
    assert [r.endpoint for r in pbx_simulator.sim.requests_for("yemot")] == [
        "GetSession",
        "Login",
    ]
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in caplog.text


async def test_a_session_token_without_credentials(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """A token from Login works as it is; once it expires, only reauth can help."""
    config = pbx_simulator.config["yemot"]
    token = await YemotClient(session, config)._session_token(refused=TOKEN)
    client = YemotClient(session, config | {"token": token})
    info = await client.async_validate()
    assert info.account_id == "0773137770"  # from GetSession: the token does not tell
    assert (await client.async_fetch_snapshot()).account.account_id == "0773137770"
    yemot_sim(pbx_simulator).expire_sessions()
    with pytest.raises(PbxAuthError, match="session token is invalid"):
        await client.async_validate()
    assert "Login" not in [r.endpoint for r in pbx_simulator.sim.requests_for("yemot")][1:]


async def test_snapshot_matches_the_simulator(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    lines = [line for line in state.lines.values() if line.kind == "extension"]
    state.set_registered(lines[1].id, False)
    state.agent_pause("2")
    state.agent_logout("4")
    state.agents["1"].status = state.agents["1"].status.IN_CALL
    waiting = state.incoming_call("+972541234567", queue_id="1")
    state.receive_sms("+972541111111", "+972501234567", "older")
    state.receive_sms("+972542222222", "+972501234567", "newer")

    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()

    assert snapshot.account.account_id == "0773137770"
    users = [f"0773137770={n}" for n in range(1, len(lines) + 1)]
    assert set(snapshot.registrations) == set(users)
    first = snapshot.registrations[users[0]]
    assert first.registered is True
    assert (first.user_agent, first.ip, first.port) == (
        lines[0].user_agent,
        lines[0].ip,
        lines[0].port,
    )
    assert first.contact == f"sip:0773137770=1@{lines[0].ip}:{lines[0].port}"
    assert first.expires is not None
    assert snapshot.registrations[users[1]].registered is False
    assert snapshot.registrations[users[1]].user_agent is None
    # Contexts are asked per account (=N), for the registered ones, a few a poll.
    third = snapshot.registrations[users[2]]
    assert (third.user_agent, third.ip) == (lines[2].user_agent, lines[2].ip)
    asked = [
        dict(parse_qsl(r.body)) for r in pbx_simulator.sim.requests_for("yemot", "SipGetContexts")
    ]
    assert [a.get("accountNumber") for a in asked] == ["1", "3"]
    assert snapshot.complete == {Listing.REGISTRATIONS}

    assert set(snapshot.queues) == {"ivr2:/801", "ivr2:/802"}
    sales = snapshot.queues["ivr2:/801"]
    assert sales.waiting_calls == 1
    assert sales.member_ids == tuple(
        state.agents[a].extension for a in state.queues["1"].member_ids
    )
    assert sales.agents_paused == 1
    assert sales.agents_busy == 1
    assert sales.agents_logged_in == len(sales.member_ids) - 1
    assert sales.agents_ready == 2
    assert sales.completed == 0

    assert set(snapshot.agents) == {agent.extension for agent in state.agents.values()}
    assert snapshot.agents["101"].state is AgentState.IN_CALL
    assert snapshot.agents["102"].state is AgentState.PAUSED
    assert snapshot.agents["102"].paused is True
    assert snapshot.agents["104"].state is AgentState.UNAVAILABLE
    assert snapshot.agents["104"].logged_in is False
    assert snapshot.agents["101"].queue_ids == ("ivr2:/801", "ivr2:/802")

    (call,) = snapshot.calls.values()  # in GetIncomingCalls and in the queue: one call
    assert call.call_id == yemot_sim(pbx_simulator).call_id(waiting)
    assert (call.direction, call.state) == (CallDirection.INCOMING, CallState.QUEUED)
    assert (call.caller, call.queue_id) == ("+972541234567", "ivr2:/801")
    assert call.callee is not None
    assert call.started is not None

    assert [sms.text for sms in snapshot.received_sms] == ["older", "newer"]  # newest last
    newer = snapshot.received_sms[-1]
    assert (newer.sender, newer.recipient) == ("+972542222222", "+972501234567")
    assert newer.direction is SmsDirection.INCOMING
    assert newer.timestamp is not None
    assert newer.sms_id
    assert newer.sms_id != snapshot.received_sms[0].sms_id

    assert form(pbx_simulator, "GetSmsIncomingLog") == {"token": TOKEN, "limit": "20"}
    queue_requests = pbx_simulator.sim.requests_for("yemot", "GetQueueRealTime")
    assert [dict(parse_qsl(r.body))["queuePath"] for r in queue_requests] == [
        "ivr2:/801",
        "ivr2:/802",
    ]


async def test_snapshot_without_queue_paths_or_sip_accounts(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    running, runner = await start_simulator(SimState(seed=2, lines=0, trunks=1))
    try:
        client = make_client(session, running, options={OPTION_QUEUE_PATHS: ""})
        snapshot = await client.async_fetch_snapshot()
    finally:
        await runner.cleanup()
    assert snapshot.registrations == {}
    assert snapshot.queues == {}
    assert snapshot.agents == {}
    assert running.sim.requests_for("yemot", "SipGetContexts") == []
    assert running.sim.count("yemot") == 3  # SIP accounts, calls, SMS


@pytest.mark.parametrize("size", [10, 500])
async def test_snapshot_costs_the_same_whatever_the_size(
    session: aiohttp.ClientSession, socket_enabled: None, size: int
) -> None:
    running, runner = await start_simulator(SimState(seed=1, agents=size, lines=size))
    try:
        for n in range(size // 5):
            running.state.incoming_call(f"+97254{n:07d}", queue_id="1")
        snapshot = await make_client(session, running).async_fetch_snapshot()
        requests = running.sim.count("yemot")
    finally:
        await runner.cleanup()
    assert len(snapshot.agents) == size
    assert len(snapshot.registrations) == size
    # SIP accounts, contexts of two accounts, one per watched queue, calls, received SMS.
    assert requests == 1 + 2 + len(QUEUE_PATHS) + 1 + 1


async def test_queue_paths_option_as_text(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator, options={OPTION_QUEUE_PATHS: "801, /801,802"})
    snapshot = await client.async_fetch_snapshot()
    assert list(snapshot.queues) == ["ivr2:/801", "ivr2:/802"]


# --- actions ---------------------------------------------------------------------------------


async def test_dial(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    result = await make_client(session, pbx_simulator).async_dial(
        DialRequest(
            "+972501234567",
            DialSource(DialSourceKind.EXTENSION, "/1/100"),
            caller_id="+972770770770",
            ring_timeout=35,
        )
    )
    assert result.call_id is not None
    assert result.call_id.startswith("YA-1-0770770770-Yemot-")
    assert form(pbx_simulator, "CallExtensionBridging") == {
        "token": TOKEN,
        "phones": "0501234567",
        "ivrPath": "ivr2:/1/100",
        "callerId": "0770770770",
        "callsTimeOut": "35",
    }
    (call,) = pbx_simulator.state.calls.values()
    assert (call.direction, call.callee, call.caller) == (Direction.OUT, "0501234567", "0770770770")


async def test_dial_into_the_main_extension(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    await make_client(session, pbx_simulator).async_dial(DialRequest("+972501234567"))
    assert form(pbx_simulator, "CallExtensionBridging") == {
        "token": TOKEN,
        "phones": "0501234567",
        "ivrPath": "ivr2:/",
    }


async def test_dial_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxInvalidInput):
        await client.async_dial(
            DialRequest("+972501234567", DialSource(DialSourceKind.USER, "agent1"))
        )
    # `callsTimeOut` is at most 35 seconds (Y:85): a longer ring is refused, not cut short.
    with pytest.raises(PbxInvalidInput, match="at most 35 seconds"):
        await client.async_dial(DialRequest("+972501234567", ring_timeout=36))
    assert pbx_simulator.sim.count("yemot") == 0
    with pytest.raises(PbxResponseError, match="not Vaild"):
        await client.async_dial(DialRequest("+97212"))
    # An ERROR answer keeps the provider's reason and status.
    with pytest.raises(PbxResponseError, match="ivrPath") as err:
        await client._command("CallExtensionBridging", {"phones": "0501234567"})
    assert err.value.code == "ERROR"


async def test_announce(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    result = await make_client(session, pbx_simulator).async_announce(
        AnnounceRequest(
            number="+972501234567", text="הדלת נפתחה", voice="Osnat", caller_id="+972770770770"
        )
    )
    assert result.call_id is not None
    assert form(pbx_simulator, "SendTTS") == {
        "token": TOKEN,
        "phones": "0501234567",
        "ttsMessage": "הדלת נפתחה",
        "ttsVoice": "Osnat",
        "callerId": "0770770770",
    }
    (call,) = pbx_simulator.state.calls.values()
    assert call.announcement == "הדלת נפתחה"


@pytest.mark.parametrize(
    "request_",
    [
        AnnounceRequest(number="+972501234567", recording="door.wav"),
        AnnounceRequest(call_id="abc", text="hello"),
        AnnounceRequest(number="+972501234567"),
        AnnounceRequest(text="hello"),
    ],
)
async def test_announce_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, request_: AnnounceRequest
) -> None:
    with pytest.raises(PbxInvalidInput):
        await make_client(session, pbx_simulator).async_announce(request_)
    assert pbx_simulator.sim.count("yemot") == 0


async def test_announce_to_an_invalid_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(PbxResponseError, match="not Vaild"):
        await make_client(session, pbx_simulator).async_announce(
            AnnounceRequest(number="+97212", text="hello")
        )


async def test_send_sms(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(
        session, pbx_simulator, options={OPTION_QUEUE_PATHS: QUEUE_PATHS, OPTION_SMS_SENDER: "Home"}
    )
    result = await client.async_send_sms(
        SmsRequest(("+972501234567", "+972521234567"), "Garage open")
    )
    assert result.message_ids == ()
    assert form(pbx_simulator, "SendSms") == {
        "token": TOKEN,
        "phones": "0501234567:0521234567",
        "message": "Garage open",
        "from": "Home",
    }
    sent = sorted((s.sender, s.recipient, s.text) for s in pbx_simulator.state.sms.values())
    assert sent == [("Home", "0501234567", "Garage open"), ("Home", "0521234567", "Garage open")]


async def test_send_sms_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxInvalidInput):
        await client.async_send_sms(SmsRequest((), "x"))
    with pytest.raises(PbxResponseError, match="not Vaild") as refused:
        await client.async_send_sms(SmsRequest(("+97231234567",), "x", sender="Shop"))
    assert "031234567" not in str(refused.value)  # numbers stay out of error texts
    assert form(pbx_simulator, "SendSms")["from"] == "Shop"


async def test_agent_pause_and_unpause(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    client = make_client(session, pbx_simulator)
    await client.async_fetch_snapshot()
    assert state.agents["2"].queue_ids == ["1"]  # agent 102 is in one queue

    await client.async_agent_pause("102")
    assert is_paused(state, "2")
    assert json_bodies(pbx_simulator, "QueueManagement") == [
        {"token": TOKEN, "queuePath": "ivr2:/801", "action": "pause", "agent": "102"}
    ]
    await client.async_agent_unpause("102")
    assert not is_paused(state, "2")
    assert json_bodies(pbx_simulator, "QueueManagement")[-1]["action"] == "unpause"
    with pytest.raises(PbxInvalidInput):
        await client.async_agent_pause("102", "Lunch")


async def test_agent_pause_before_any_snapshot(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    await client.async_agent_pause("102")  # tried in every watched queue; one accepts
    assert is_paused(pbx_simulator.state, "2")
    assert len(json_bodies(pbx_simulator, "QueueManagement")) == 2
    with pytest.raises(PbxResponseError, match="not a member"):
        await client.async_agent_pause("999")
    with pytest.raises(PbxInvalidInput):
        await make_client(session, pbx_simulator, options={}).async_agent_pause("102")


async def test_queue_kick(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    waiting = state.incoming_call("+972541234567", queue_id="1")
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    (call_id,) = snapshot.calls

    await client.async_queue_kick("ivr2:/801", call_id)
    assert json_bodies(pbx_simulator, "QueueManagement") == [
        {"token": TOKEN, "queuePath": "ivr2:/801", "callIds": [call_id], "action": "kick"}
    ]
    assert waiting.status is CallStatus.ENDED
    with pytest.raises(PbxResponseError, match="Call not found"):
        await client.async_queue_kick("/801", call_id)


async def test_unsupported_actions(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    attempts = [
        client.async_hangup(HangupRequest(HangupTargetKind.CALL, "1")),
        client.async_transfer(TransferRequest("1", "101")),
        client.async_agent_login("101"),
        client.async_agent_logout("101"),
        client.async_queue_login("101", "ivr2:/801"),
        client.async_queue_logout("101", "ivr2:/801"),
        client.async_register_webhook("https://example.com/hook"),
        client.async_unregister_webhook("https://example.com/hook"),
    ]
    for attempt in attempts:
        with pytest.raises(PbxUnsupportedError):
            await attempt
    assert pbx_simulator.sim.count("yemot") == 0


# --- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "error"), READ_FAULT_ERRORS)
async def test_faults_on_snapshot(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="yemot", kind=kind, retry_after=7))
    with pytest.raises(error) as raised:
        await make_client(session, pbx_simulator, timeout=0.3).async_fetch_snapshot()
    if isinstance(raised.value, PbxRateLimitError):
        assert raised.value.retry_after == 7
    for secret in (TOKEN, PASSWORD):
        assert secret not in str(raised.value)
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("kind", "error"),
    [(FaultKind.HANG, PbxOutcomeUnknownError), (FaultKind.HTML, PbxResponseError)],
)
async def test_faults_on_dial_are_not_retried(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(
        Fault(provider="yemot", kind=kind, endpoint="CallExtensionBridging")
    )
    with pytest.raises(error) as raised:
        await make_client(session, pbx_simulator, timeout=0.3).async_dial(
            DialRequest("+972501234567")
        )
    assert len(pbx_simulator.sim.requests_for("yemot", "CallExtensionBridging")) == 1
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in caplog.text


async def test_latency_fault_still_answers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.sim.faults.append(
        Fault(provider="yemot", kind=FaultKind.LATENCY, seconds=0.05, count=1)
    )
    info = await make_client(session, pbx_simulator).async_validate()
    assert info.account_id == "0773137770"


# --- documented examples, byte for byte --------------------------------------------------------


async def serve_bodies(bodies: Mapping[str, bytes]) -> tuple[str, web.AppRunner]:
    """A loopback server answering `/ym/api/<Command>` with the given bodies."""

    async def answer(request: web.Request) -> web.Response:
        body = bodies.get(request.match_info["command"], b"")
        status = 404 if not body else 200
        return web.Response(body=body, status=status, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/ym/api/{command}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return f"http://127.0.0.1:{port}/ym/api", runner


@pytest.fixture
async def doc_server(socket_enabled: None) -> AsyncGenerator[Any]:
    runners: list[web.AppRunner] = []

    async def start(bodies: Mapping[str, bytes]) -> str:
        base_url, runner = await serve_bodies(bodies)
        runners.append(runner)
        return base_url

    yield start
    for runner in runners:
        await runner.cleanup()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


async def test_documented_kick_answer(doc_server: Any, session: aiohttp.ClientSession) -> None:
    base_url = await doc_server(
        {"QueueManagement": fixture_bytes("queue_management_kick_response.json")}
    )
    client = YemotClient(session, {"token": TOKEN, "base_url": base_url})
    await client.async_queue_kick("ivr2:/5", "f6657b78a2f35d6d04dd203400828362")
    with pytest.raises(PbxResponseError, match="Call not found"):
        await client.async_queue_kick("ivr2:/5", "805c3b221d4b76bb53769aac9e2c57c1")
    with pytest.raises(PbxResponseError, match="no status"):
        await client.async_queue_kick("ivr2:/5", "0" * 32)


async def test_documented_dial_answer(doc_server: Any, session: aiohttp.ClientSession) -> None:
    base_url = await doc_server(
        {"CallExtensionBridging": fixture_bytes("call_extension_bridging_doc_values.json")}
    )
    client = YemotClient(session, {"token": TOKEN, "base_url": base_url})
    result = await client.async_dial(DialRequest("+972510000"))
    assert result.call_id == "YA-1-0770770770-Yemot-1695290243349441"


async def test_documented_snapshot_values(doc_server: Any, session: aiohttp.ClientSession) -> None:
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": fixture_bytes("sip_accounts_doc_values.json"),
            "SipGetContexts": fixture_bytes("sip_contexts_doc_values.json"),
            "GetSmsIncomingLog": fixture_bytes("sms_incoming_log_doc_values.json"),
        }
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}
    ).async_fetch_snapshot()
    (registration,) = snapshot.registrations.values()
    assert registration.registration_id == "0773137770"
    assert registration.registered is True
    assert registration.user_agent == "Yealink SIP-T29G"
    assert registration.contact == "sip:0773137770@192.168.1.99:5060"
    assert (registration.ip, registration.port) == ("192.168.1.110", 5060)
    assert registration.expires == datetime(2024, 6, 4, 15, 43, 38, tzinfo=ISRAEL)
    (sms,) = snapshot.received_sms
    assert (sms.sender, sms.recipient, sms.text) == ("+972541234567", "+972501234567", "שלום")
    assert sms.timestamp == datetime(2024, 7, 30, 22, 40, 54, tzinfo=ISRAEL)
    assert sms.raw["server_date"] == "22:40:54 2024-07-30"


@pytest.mark.parametrize("server_date", ["22:40:54 2024-07-30", "2024-07-30 22:40:54"])
async def test_sms_time_in_either_order(
    doc_server: Any, session: aiohttp.ClientSession, server_date: str
) -> None:
    """Y:150 writes `server_date` time first inside right-to-left text, which reverses
    two number runs; the page's other dates (Y:132, Y:140) are date first."""
    row = {"dest": 972501234567, "phone": 972541234567, "message": "x", "server_date": server_date}
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": ok(accounts=[]),
            "GetSmsIncomingLog": ok(rows=[row]),
        }
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}
    ).async_fetch_snapshot()
    (sms,) = snapshot.received_sms
    assert sms.timestamp == datetime(2024, 7, 30, 22, 40, 54, tzinfo=ISRAEL)


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("שלום", "שלום"),
        ("\\u05e9\\u05dc\\u05d5\\u05dd \\ud83d\\ude00", "שלום \U0001f600"),
        ('a \\u05e9 "quoted" b', 'a \\u05e9 "quoted" b'),  # not JSON: as it came
        ("C:\\users", "C:\\users"),
        ("half \\ud83d", "half \\ud83d"),  # a lone surrogate is no text
        ("\\u05e9\nline", "ש\nline"),
    ],
)
async def test_sms_text_plain_or_json_escaped(
    doc_server: Any, session: aiohttp.ClientSession, message: str, text: str
) -> None:
    """Y:150: the `message` "needs conversion to JSON format"; plain text stays."""
    row = {"phone": 972541234567, "message": message, "server_date": "22:40:54 2024-07-30"}
    base_url = await doc_server(
        {"GetSipAccountsRegisteredStatus": ok(accounts=[]), "GetSmsIncomingLog": ok(rows=[row])}
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}
    ).async_fetch_snapshot()
    (sms,) = snapshot.received_sms
    assert sms.text == text


def ok(**fields: Any) -> bytes:
    return json.dumps({"responseStatus": "OK", **fields}).encode()


NO_ACCOUNTS = ok(accounts=[])
NO_SMS = ok(rows=[])


@pytest.mark.parametrize(
    "bodies",
    [
        {"GetSipAccountsRegisteredStatus": ok(accounts={"a": 1})},
        {"GetSipAccountsRegisteredStatus": ok(accounts=[{"registered": True}])},
        {"GetSipAccountsRegisteredStatus": ok(accounts=["0773137770"])},
        {"GetSipAccountsRegisteredStatus": NO_ACCOUNTS, "GetQueueRealTime": ok(members=[{}])},
        {
            "GetSipAccountsRegisteredStatus": NO_ACCOUNTS,
            "GetQueueRealTime": ok(members=[], entries=[{"phone": "0501234567"}]),
        },
        {"GetSipAccountsRegisteredStatus": b"[]"},
        {"GetSipAccountsRegisteredStatus": b'{"responseStatus": "OK", "accounts": [{"userN'},
        {"GetSipAccountsRegisteredStatus": b""},  # HTTP 404 from a wrong base URL
    ],
)
async def test_malformed_answers_are_response_errors(
    doc_server: Any, session: aiohttp.ClientSession, bodies: dict[str, bytes]
) -> None:
    base_url = await doc_server(bodies)
    client = YemotClient(
        session, {"token": TOKEN, "base_url": base_url}, options={OPTION_QUEUE_PATHS: ["/5"]}
    )
    with pytest.raises(PbxResponseError):
        await client.async_fetch_snapshot()


async def test_loose_answers_are_read(doc_server: Any, session: aiohttp.ClientSession) -> None:
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": ok(
                accounts=[{"userName": "0773137770", "registered": "false"}]
            ),
            "SipGetContexts": ok(),  # no contexts at all
            "GetQueueRealTime": ok(
                queueData="n/a",
                members=[{"agent": "0501234567", "Status": "Something new", "Paused": "1"}],
                entries=[
                    {"CallId": "x1", "Wait": "12", "phone": ""},
                    {"CallId": "x2", "Wait": True, "phone": "00420601000001"},
                    {"CallId": "x3", "phone": "+972541234567"},
                    {"CallId": "x4", "phone": "101"},
                ],
            ),
            "GetSmsIncomingLog": ok(
                rows=[
                    {"phone": "972541234567", "message": "hi", "server_date": "yesterday"},
                    {"phone": 972541234567, "message": "hi", "server_date": 20240730},
                ]
            ),
        }
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}, options={OPTION_QUEUE_PATHS: ["/5"]}
    ).async_fetch_snapshot()
    assert snapshot.registrations["0773137770"].registered is False
    assert snapshot.registrations["0773137770"].user_agent is None
    agent = snapshot.agents["0501234567"]
    assert (agent.state, agent.paused) == (AgentState.UNKNOWN, True)
    queue = snapshot.queues["ivr2:/5"]
    assert (queue.waiting_calls, queue.longest_wait, queue.completed) == (4, 12.0, None)
    callers = [call.caller for call in snapshot.calls.values()]
    assert callers == [None, "+420601000001", "+972541234567", "101"]
    for sms in snapshot.received_sms:
        assert (sms.sender, sms.recipient, sms.timestamp) == ("+972541234567", None, None)


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ({"responseStatus": "ERROR", "message": "no credit"}, PbxResponseError, "ERROR"),
        (
            {"responseStatus": "EXCEPTION", "message": "NullPointerException"},
            PbxResponseError,
            "EXCEPTION",
        ),
        ({"responseStatus": "EXCEPTION", "message": "session is expired"}, PbxAuthError, None),
        ({"message": "what?"}, PbxResponseError, None),
    ],
)
async def test_error_answers(
    doc_server: Any,
    session: aiohttp.ClientSession,
    answer: dict[str, str],
    error: type[PbxError],
    code: str | None,
) -> None:
    base_url = await doc_server(
        {
            "GetSession": json.dumps(answer).encode(),
            "Login": fixture_bytes("login_forbidden_response.json"),
        }
    )
    with pytest.raises(error) as raised:
        await YemotClient(session, {"token": TOKEN, "base_url": base_url}).async_validate()
    if isinstance(raised.value, PbxResponseError):
        assert raised.value.code == code


async def test_campaign_answers_without_errors_list(
    doc_server: Any, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server({"SendSms": ok(sendCount=0), "SendTTS": ok(OKCalls="many")})
    client = YemotClient(session, {"token": TOKEN, "base_url": base_url})
    with pytest.raises(PbxResponseError, match="no number was accepted"):
        await client.async_send_sms(SmsRequest(("+972501234567",), "x"))
    result = await client.async_announce(AnnounceRequest(number="+972501234567", text="x"))
    assert result.call_id is None


async def test_the_password_is_redacted_from_provider_messages(
    doc_server: Any, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server(
        {
            "GetSession": json.dumps(
                {"responseStatus": "ERROR", "message": f"bad request token={TOKEN}"}
            ).encode()
        }
    )
    with pytest.raises(PbxResponseError) as raised:
        await YemotClient(session, {"token": TOKEN, "base_url": base_url}).async_validate()
    assert PASSWORD not in str(raised.value)
    assert TOKEN not in str(raised.value)


# --- login tokens --------------------------------------------------------------------------

CREDENTIALS = {"system_number": "0773137770", "token": PASSWORD}


def login_client(
    session: aiohttp.ClientSession, running: RunningSimulator, **kwargs: Any
) -> YemotClient:
    config = {"base_url": running.config["yemot"]["base_url"], **CREDENTIALS}
    return YemotClient(session, config, options={OPTION_QUEUE_PATHS: QUEUE_PATHS}, **kwargs)


async def test_login_then_the_session_token(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = login_client(session, pbx_simulator)
    assert (await client.async_validate()).account_id == "0773137770"
    login, get_session = pbx_simulator.sim.requests_for("yemot")
    assert (login.endpoint, dict(parse_qsl(login.body))) == (
        "Login",
        {"username": "0773137770", "password": PASSWORD},
    )
    (token,) = yemot_sim(pbx_simulator).sessions
    assert dict(parse_qsl(get_session.body)) == {"token": token}
    await client.async_fetch_snapshot()
    assert len(pbx_simulator.sim.requests_for("yemot", "Login")) == 1  # the session lasts


async def test_an_expired_session_logs_in_once_more(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = login_client(session, pbx_simulator)
    await client.async_validate()
    sim = yemot_sim(pbx_simulator)
    (old,) = sim.sessions
    sim.expire_sessions()
    await client.async_send_sms(SmsRequest(("+972501234567",), "hi"))
    sent = pbx_simulator.sim.requests_for("yemot", "SendSms")
    assert dict(parse_qsl(sent[0].body))["token"] == old  # refused, not carried out
    (new,) = sim.sessions
    assert dict(parse_qsl(sent[1].body))["token"] == new
    assert len(pbx_simulator.state.sms) == 1  # carried out once
    assert len(pbx_simulator.sim.requests_for("yemot", "Login")) == 2
    # Credentials changed meanwhile: one more login is refused, then reauth.
    sim.expire_sessions()
    pbx_simulator.state.credentials["yemot"]["token"] = "0773137770:changed-pass"
    with pytest.raises(PbxAuthError, match="do not match"):
        await client.async_fetch_snapshot()
    assert len(pbx_simulator.sim.requests_for("yemot", "Login")) == 3
    for secret in (PASSWORD, old, new):
        assert secret not in caplog.text


async def test_a_command_refused_after_a_fresh_login_is_no_auth_failure(
    doc_server: Any, session: aiohttp.ClientSession
) -> None:
    """Login has just accepted the credentials: a FORBIDDEN command is no reason to ask
    for them again (reauth), but a missing right."""
    forbidden = json.dumps({"responseStatus": "FORBIDDEN", "message": "no access"}).encode()
    base_url = await doc_server(
        {"Login": fixture_bytes("login_response.json"), "SendSms": forbidden}
    )
    client = YemotClient(session, {"base_url": base_url, **CREDENTIALS})
    with pytest.raises(PbxPermissionError, match="no access") as raised:
        await client.async_send_sms(SmsRequest(("+972501234567",), "hi"))
    assert raised.value.permission == "SendSms"
    assert PASSWORD not in str(raised.value)


async def test_concurrent_commands_share_one_login(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = login_client(session, pbx_simulator)
    await asyncio.gather(*(client.async_validate() for _ in range(5)))
    assert len(pbx_simulator.sim.requests_for("yemot", "Login")) == 1


async def test_documented_login_answers(doc_server: Any, session: aiohttp.ClientSession) -> None:
    """The *pub* Login and GetSession answers as a public client records them."""
    base_url = await doc_server(
        {
            "Login": fixture_bytes("login_response.json"),
            "GetSession": fixture_bytes("get_session_response.json"),
        }
    )
    client = YemotClient(session, {"base_url": base_url, **CREDENTIALS})
    info = await client.async_validate()
    assert info.account_id == "0773137770"
    assert "1234" not in info.name  # GetSession's access passwords stay out
    assert client.redact("N1eBwpAyJ6qtuVPS") == "**REDACTED**"  # the session token too
    refused = await doc_server({"Login": fixture_bytes("login_forbidden_response.json")})
    with pytest.raises(PbxAuthError, match="do not match"):
        await YemotClient(session, {"base_url": refused, **CREDENTIALS}).async_validate()
    expired = await doc_server({"GetSession": fixture_bytes("session_invalid_response.json")})
    with pytest.raises(PbxAuthError, match="session token is invalid"):
        await YemotClient(session, {"base_url": expired, "token": "abc"}).async_validate()
    empty = await doc_server({"Login": ok(token="")})
    with pytest.raises(PbxResponseError, match="no session token"):
        await YemotClient(session, {"base_url": empty, **CREDENTIALS}).async_validate()
    unreadable = await doc_server({"Login": b"<html>"})
    with pytest.raises(PbxResponseError, match="unreadable answer to Login"):
        await YemotClient(session, {"base_url": unreadable, **CREDENTIALS}).async_validate()
    nameless = await doc_server({"GetSession": ok()})
    with pytest.raises(PbxResponseError, match="which system"):
        await YemotClient(session, {"base_url": nameless, "token": "abc"}).async_validate()


# --- servers without SIP, SIP contexts per account -----------------------------------------


async def test_a_server_without_sip_has_no_registrations(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    yemot_sim(pbx_simulator).sip_supported = False
    client = make_client(session, pbx_simulator)
    assert (await client.async_validate()).account_id == "0773137770"
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.registrations == {}
    assert snapshot.complete == {Listing.REGISTRATIONS}  # none: any SIP devices are gone
    assert set(snapshot.queues) == {"ivr2:/801", "ivr2:/802"}
    assert pbx_simulator.sim.requests_for("yemot", "SipGetContexts") == []


@pytest.mark.parametrize(
    "body", ["sip_not_supported_response.json", "sip_not_supported_as_posted.txt"]
)
async def test_documented_no_sip_answer(
    doc_server: Any, session: aiohttp.ClientSession, body: str
) -> None:
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": fixture_bytes(body),
            "GetSmsIncomingLog": NO_SMS,
            "GetIncomingCalls": ok(calls=[]),
        }
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}
    ).async_fetch_snapshot()
    assert snapshot.registrations == {}


async def test_contexts_are_read_a_few_accounts_a_poll(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    lines = [line for line in pbx_simulator.state.lines.values() if line.kind == "extension"]
    client = make_client(session, pbx_simulator)
    await client.async_fetch_snapshot()
    snapshot = await client.async_fetch_snapshot()
    asked = [
        dict(parse_qsl(r.body))["accountNumber"]
        for r in pbx_simulator.sim.requests_for("yemot", "SipGetContexts")
    ]
    assert asked == ["1", "2", "3", "4"]  # the longest unread first
    for number in range(1, 5):
        registration = snapshot.registrations[f"0773137770={number}"]
        assert registration.user_agent == lines[number - 1].user_agent
    assert snapshot.registrations["0773137770=5"].user_agent is None  # not read yet
    pbx_simulator.state.set_registered(lines[0].id, False)
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.registrations["0773137770=1"].user_agent is None  # forgotten at once
    assert snapshot.registrations["0773137770=5"].user_agent == lines[4].user_agent


async def test_accounts_without_a_suffix(doc_server: Any, session: aiohttp.ClientSession) -> None:
    """Among several, an account named without `=N` cannot be asked for (no guess)."""
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": ok(
                accounts=[
                    {"userName": "0773137770", "registered": True},
                    {"userName": "0773137770=2", "registered": True},
                ]
            ),
            "SipGetContexts": fixture_bytes("sip_contexts_doc_values.json"),
            "GetSmsIncomingLog": NO_SMS,
            "GetIncomingCalls": ok(calls=[]),
        }
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}
    ).async_fetch_snapshot()
    assert snapshot.registrations["0773137770"].user_agent is None
    assert snapshot.registrations["0773137770=2"].user_agent == "Yealink SIP-T29G"


# --- one bad queue path, active calls ------------------------------------------------------


async def test_a_bad_queue_path_is_skipped_and_reported(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator, options={OPTION_QUEUE_PATHS: ["/801", "/999"]})
    snapshot = await client.async_fetch_snapshot()
    assert list(snapshot.queues) == ["ivr2:/801"]
    assert snapshot.agents
    assert snapshot.problems == (ProviderProblem(ProblemKind.UNKNOWN_QUEUE, "ivr2:/999"),)
    fixed = make_client(session, pbx_simulator, options={OPTION_QUEUE_PATHS: ["/801"]})
    assert (await fixed.async_fetch_snapshot()).problems == ()


async def test_active_calls_from_get_incoming_calls(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    ringing = state.incoming_call("+972541234567", agent_id="1")
    queued = state.incoming_call("+972541234568", queue_id="1")
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    sim = yemot_sim(pbx_simulator)
    direct = snapshot.calls[sim.call_id(ringing)]
    assert (direct.state, direct.caller, direct.queue_id) == (
        CallState.ANSWERED,  # the IVR answered it
        "+972541234567",
        None,
    )
    assert snapshot.calls[sim.call_id(queued)].state is CallState.QUEUED
    assert len(snapshot.calls) == 2


async def test_documented_incoming_calls(doc_server: Any, session: aiohttp.ClientSession) -> None:
    """The *pub* shape `calls[{did, callerIdNum, duration, transferFrom, id, path}]`."""
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": NO_ACCOUNTS,
            "GetQueueRealTime": ok(members=[], entries=[]),
            "GetIncomingCalls": fixture_bytes("get_incoming_calls_response.json"),
            "GetSmsIncomingLog": NO_SMS,
        }
    )
    client = YemotClient(
        session, {"token": TOKEN, "base_url": base_url}, options={OPTION_QUEUE_PATHS: ["/5"]}
    )
    before = datetime.now(ISRAEL)
    (call,) = (await client.async_fetch_snapshot()).calls.values()
    assert call.call_id == "f6657b78a2f35d6d04dd203400828362"
    assert (call.caller, call.callee) == ("+972541234567", "+972773137770")
    assert call.queue_id == "ivr2:/5"  # it is in a watched queue's extension
    assert call.started is not None
    assert call.started <= before


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps({"responseStatus": "EXCEPTION", "message": "unknown api command"}).encode(),
        ok(calls=[{"did": "0773137770"}]),
    ],
)
async def test_incoming_calls_refused_or_malformed(
    doc_server: Any, session: aiohttp.ClientSession, answer: bytes
) -> None:
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": NO_ACCOUNTS,
            "GetQueueRealTime": ok(members=[], entries=[{"CallId": "q1", "phone": "0541"}]),
            "GetIncomingCalls": answer,
            "GetSmsIncomingLog": NO_SMS,
        }
    )
    client = YemotClient(
        session, {"token": TOKEN, "base_url": base_url}, options={OPTION_QUEUE_PATHS: ["/5"]}
    )
    if b"EXCEPTION" in answer:  # a server without the command: the queued callers stay
        assert list((await client.async_fetch_snapshot()).calls) == ["q1"]
    else:
        with pytest.raises(PbxResponseError, match="call without id"):
            await client.async_fetch_snapshot()


# --- received SMS ----------------------------------------------------------------------------


async def test_sms_polls_read_on_when_every_row_is_new(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    client = make_client(session, pbx_simulator)
    state.receive_sms("+972541111111", "+972501234567", "before")
    first = await client.async_fetch_snapshot()
    assert [sms.text for sms in first.received_sms] == ["before"]
    for n in range(45):
        state.receive_sms("+972541111111", "+972501234567", f"burst {n}")
    snapshot = await client.async_fetch_snapshot()
    limits = [
        dict(parse_qsl(r.body))["limit"]
        for r in pbx_simulator.sim.requests_for("yemot", "GetSmsIncomingLog")
    ]
    assert limits == ["20", "20", "40", "80"]
    texts = [sms.text for sms in snapshot.received_sms]
    assert texts[0] == "before"
    assert texts[-1] == "burst 44"
    assert len(texts) == 46
    await client.async_fetch_snapshot()  # nothing new: one page
    assert len(pbx_simulator.sim.requests_for("yemot", "GetSmsIncomingLog")) == 5


async def test_identical_sms_rows_stay_apart(
    doc_server: Any, session: aiohttp.ClientSession
) -> None:
    row = json.loads(fixture_bytes("sms_incoming_log_doc_values.json"))["rows"][0]
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": NO_ACCOUNTS,
            "GetIncomingCalls": ok(calls=[]),
            "GetSmsIncomingLog": ok(rows=[row, row]),
        }
    )
    client = YemotClient(session, {"token": TOKEN, "base_url": base_url})
    ids = [sms.sms_id for sms in (await client.async_fetch_snapshot()).received_sms]
    assert len(set(ids)) == 2
    again = [sms.sms_id for sms in (await client.async_fetch_snapshot()).received_sms]
    assert again == ids  # stable from poll to poll


# --- ring once and announce fields -----------------------------------------------------------


async def test_dial_ring_once(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    result = await client.async_dial(
        DialRequest("+972501234567", caller_id="+972770770770", ring_timeout=16, ring_once=True)
    )
    assert result.call_id is not None
    assert form(pbx_simulator, "RunTzintuk") == {
        "token": TOKEN,
        "phones": "0501234567",
        "callerId": "0770770770",
        "TzintukTimeOut": "16",
    }
    (call,) = pbx_simulator.state.calls.values()
    assert call.status is CallStatus.ENDED  # it only rang
    assert pbx_simulator.sim.requests_for("yemot", "CallExtensionBridging") == []
    for refused in (
        DialRequest("+972501234567", ring_timeout=17, ring_once=True),
        DialRequest("+972501234567", DialSource(DialSourceKind.EXTENSION, "/1"), ring_once=True),
    ):
        with pytest.raises(PbxInvalidInput):
            await client.async_dial(refused)
    await client.async_dial(DialRequest("+972501234567", ring_once=True))
    assert "TzintukTimeOut" not in dict(
        parse_qsl(pbx_simulator.sim.requests_for("yemot", "RunTzintuk")[-1].body)
    )
    with pytest.raises(PbxResponseError, match="not Vaild"):
        await client.async_dial(DialRequest("+97212", ring_once=True))


async def test_announce_rate_and_repeat(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    await make_client(session, pbx_simulator).async_announce(
        AnnounceRequest(number="+972501234567", text="שלום", speech_rate=-3, repeat=1)
    )
    assert form(pbx_simulator, "SendTTS") == {
        "token": TOKEN,
        "phones": "0501234567",
        "ttsMessage": "שלום",
        "ttsRate": "-3",
        "repeatFile": "1",
    }


# --- exactly once --------------------------------------------------------------------------


async def _paused_agent_client(
    session: aiohttp.ClientSession, running: RunningSimulator
) -> YemotClient:
    client = make_client(session, running, timeout=1.0)
    await client.async_fetch_snapshot()
    return client


ACTIONS: dict[str, tuple[str, Any]] = {
    "dial": ("CallExtensionBridging", lambda c: c.async_dial(DialRequest("+972501234567"))),
    "ring once": (
        "RunTzintuk",
        lambda c: c.async_dial(DialRequest("+972501234567", ring_once=True)),
    ),
    "announce": (
        "SendTTS",
        lambda c: c.async_announce(AnnounceRequest(number="+972501234567", text="x")),
    ),
    "sms": ("SendSms", lambda c: c.async_send_sms(SmsRequest(("+972501234567",), "x"))),
    "pause": ("QueueManagement", lambda c: c.async_agent_pause("102")),
    "unpause": ("QueueManagement", lambda c: c.async_agent_unpause("102")),
    "kick": ("QueueManagement", lambda c: c.async_queue_kick("/801", "0" * 32)),
}


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_a_dropped_connection_may_have_been_carried_out(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, action: str
) -> None:
    command, run = ACTIONS[action]
    client = await _paused_agent_client(session, pbx_simulator)
    pbx_simulator.sim.faults.append(
        Fault(provider="yemot", kind=FaultKind.DISCONNECT, endpoint=command)
    )
    with pytest.raises(PbxOutcomeUnknownError, match="may have been carried out"):
        await run(client)
    assert len(pbx_simulator.sim.requests_for("yemot", command)) == 1  # never sent again


# --- the API extension ---------------------------------------------------------------------


def extension_request(query: str, method: str = "GET") -> WebhookRequest:
    if method == "GET":
        return WebhookRequest("GET", {}, dict(parse_qsl(query)), b"")
    return WebhookRequest(
        "POST", {"Content-Type": "application/x-www-form-urlencoded"}, {}, query.encode()
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_api_extension_incoming_and_hangup(
    session: aiohttp.ClientSession, method: str
) -> None:
    client = YemotClient(session, {"token": TOKEN})
    query = fixture_bytes("api_extension_request_query.txt").decode()
    request = extension_request(query, method)
    incoming, answered = client.parse_webhook(request)
    assert isinstance(incoming, CallEvent)
    assert isinstance(answered, CallEvent)
    # The IVR answered a call that reached the extension: its hangup is no missed call.
    assert answered.event_type is CallEventType.ANSWERED
    assert answered.call_id == incoming.call_id
    assert incoming.event_type is CallEventType.INCOMING
    assert incoming.call_id == "f6657b78a2f35d6d04dd203400828362"
    assert incoming.direction is CallDirection.INCOMING
    assert (incoming.caller, incoming.callee) == ("+972541234567", "+972773137771")
    assert incoming.timestamp == datetime(2023, 12, 1, 10, 0, tzinfo=UTC)
    assert incoming.raw["ApiExtension"] == "5/1"
    reply = client.webhook_reply(request, [incoming, answered])
    assert reply == WebhookReply("go_to_folder=/5")  # back where the call came from
    assert reply.content_type == "text/plain"

    hangup_request = extension_request(query + "&hangup=yes", method)
    (hangup,) = client.parse_webhook(hangup_request)
    assert isinstance(hangup, CallEvent)
    assert hangup.event_type is CallEventType.HANGUP
    assert hangup.call_id == incoming.call_id
    assert client.webhook_reply(hangup_request, [hangup]) is None


@pytest.mark.parametrize(
    ("extension", "option", "reply"),
    [
        ("5", None, "go_to_folder=/"),
        ("1/2/3", None, "go_to_folder=/1/2"),
        ("", None, "go_to_folder=hangup"),  # the main extension: nowhere above it
        ("5/1", "/7", "go_to_folder=/7"),
        ("5/1", "hangup", "go_to_folder=hangup"),
        ("5/1", "/7&read=x", "go_to_folder=/5"),  # never a second command
    ],
)
async def test_api_extension_reply(
    session: aiohttp.ClientSession, extension: str, option: str | None, reply: str
) -> None:
    options = {OPTION_API_RETURN_FOLDER: option} if option else {}
    client = YemotClient(session, {"token": TOKEN}, options=options)
    request = extension_request(f"ApiCallId=abc&ApiPhone=0541234567&ApiExtension={extension}")
    assert client.webhook_reply(request, client.parse_webhook(request)) == WebhookReply(reply)
    assert client.webhook_reply(request, []) is None


@pytest.mark.parametrize(
    "request_",
    [
        extension_request("ApiPhone=0541234567"),
        extension_request("ApiCallId=a%20b"),
        extension_request("ApiCallId=" + "a" * 65),
        extension_request("ApiCallId=abc&ApiPhone=" + "5" * 65),
        WebhookRequest("POST", {}, {}, b"ApiCallId=abc&&="),
        WebhookRequest("POST", {}, {}, b"\xff\xfe"),
    ],
)
async def test_api_extension_refuses_malformed_requests(
    session: aiohttp.ClientSession, request_: WebhookRequest
) -> None:
    with pytest.raises(PbxInvalidInput):
        YemotClient(session, {"token": TOKEN}).parse_webhook(request_)


async def test_api_extension_time_and_missing_fields(session: aiohttp.ClientSession) -> None:
    client = YemotClient(session, {"token": TOKEN})
    for value, expected in (
        ("1701424800000", datetime(2023, 12, 1, 10, 0, tzinfo=UTC)),  # milliseconds
        ("-5", None),
        ("9" * 18, None),
        ("soon", None),
    ):
        event, _ = client.parse_webhook(extension_request(f"ApiCallId=abc&ApiTime={value}"))
        assert isinstance(event, CallEvent)
        assert event.timestamp == expected
        assert (event.caller, event.callee) == (None, None)
    event, _ = client.parse_webhook(extension_request("ApiCallId=abc&ApiDID=0773137770&x=1"))
    assert isinstance(event, CallEvent)
    assert event.callee == "+972773137770"
    assert event.raw == {"ApiCallId": "abc", "ApiDID": "0773137770"}  # only Yemot's fields


async def test_no_token_and_no_credentials(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = YemotClient(session, {"base_url": pbx_simulator.config["yemot"]["base_url"]})
    with pytest.raises(PbxAuthError, match="needs the system number"):
        await client.async_validate()
    assert pbx_simulator.sim.count("yemot") == 0


async def test_queue_exceptions_and_empty_contexts(
    doc_server: Any, session: aiohttp.ClientSession
) -> None:
    """Only an ERROR for a path is the user's to fix; an EXCEPTION fails the refresh."""
    accounts = ok(accounts=[{"userName": "0773137770=1", "registered": True}])
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": accounts,
            "SipGetContexts": ok(contexts=[]),
            "GetQueueRealTime": json.dumps(
                {"responseStatus": "EXCEPTION", "message": "NullPointerException"}
            ).encode(),
        }
    )
    client = YemotClient(
        session, {"token": TOKEN, "base_url": base_url}, options={OPTION_QUEUE_PATHS: ["/5"]}
    )
    with pytest.raises(PbxResponseError, match="NullPointerException"):
        await client.async_fetch_snapshot()
    registration = (await client._registrations())["0773137770=1"]
    assert (registration.registered, registration.user_agent) == (True, None)


async def test_an_account_the_contexts_command_refuses_keeps_the_refresh(
    doc_server: Any, session: aiohttp.ClientSession
) -> None:
    """SipGetContexts takes an account number (Y:128) that we read from the user name;
    one the server refuses costs that account its user agent, not the whole refresh."""
    accounts = ok(accounts=[{"userName": "0773137770=7", "registered": True}])
    refused = json.dumps({"responseStatus": "ERROR", "message": "account not found"}).encode()
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": accounts,
            "SipGetContexts": refused,
            "GetSmsIncomingLog": NO_SMS,
        }
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}
    ).async_fetch_snapshot()
    registration = snapshot.registrations["0773137770=7"]
    assert (registration.registered, registration.user_agent) == (True, None)
    # An EXCEPTION is the server's failure, not a refused account: the refresh fails.
    broken = json.dumps({"responseStatus": "EXCEPTION", "message": "NullPointerException"})
    base_url = await doc_server(
        {"GetSipAccountsRegisteredStatus": accounts, "SipGetContexts": broken.encode()}
    )
    with pytest.raises(PbxResponseError, match="NullPointerException"):
        await YemotClient(session, {"token": TOKEN, "base_url": base_url}).async_fetch_snapshot()


@pytest.mark.parametrize("newest_first", [True, False])
async def test_of_several_contexts_the_one_expiring_last_counts(
    doc_server: Any, session: aiohttp.ClientSession, newest_first: bool
) -> None:
    """Y:131: "not more than one active registration" should exist, in no stated order;
    the live one is the one whose expiration keep-alives pushed furthest (Y:132)."""
    documented = json.loads(fixture_bytes("sip_contexts_doc_values.json"))["contexts"][0]
    stale = documented | {"expiration_time": "2024-06-04 14:00:00", "user_agent": "Old phone"}
    contexts = [documented, stale] if newest_first else [stale, documented]
    base_url = await doc_server(
        {
            "GetSipAccountsRegisteredStatus": fixture_bytes("sip_accounts_doc_values.json"),
            "SipGetContexts": ok(contexts=contexts),
            "GetSmsIncomingLog": NO_SMS,
        }
    )
    snapshot = await YemotClient(
        session, {"token": TOKEN, "base_url": base_url}
    ).async_fetch_snapshot()
    (registration,) = snapshot.registrations.values()
    assert registration.user_agent == "Yealink SIP-T29G"
    assert registration.expires == datetime(2024, 6, 4, 15, 43, 38, tzinfo=ISRAEL)


async def test_sms_rows_in_either_order(doc_server: Any, session: aiohttp.ClientSession) -> None:
    """Y:147 asks for the latest `limit` SMS, in no stated order: newest last either way."""
    documented = json.loads(fixture_bytes("sms_incoming_log_doc_values.json"))["rows"][0]
    older = documented | {"message": "older", "server_date": "22:39:00 2024-07-30"}
    snapshots = []
    for rows in ([documented, older], [older, documented]):
        base_url = await doc_server(
            {"GetSipAccountsRegisteredStatus": NO_ACCOUNTS, "GetSmsIncomingLog": ok(rows=rows)}
        )
        client = YemotClient(session, {"token": TOKEN, "base_url": base_url})
        snapshots.append(await client.async_fetch_snapshot())
    newest_first, oldest_first = (snapshot.received_sms for snapshot in snapshots)
    assert [sms.text for sms in newest_first] == ["older", "שלום"]
    assert newest_first == oldest_first


async def test_incoming_calls_without_the_right_keep_the_refresh(
    doc_server: Any, session: aiohttp.ClientSession
) -> None:
    """GetIncomingCalls (*pub*) refused again after a fresh Login: the account lacks the
    right. The refresh keeps the rest and names the command for a repair issue."""
    forbidden = json.dumps({"responseStatus": "FORBIDDEN", "message": "no access"}).encode()
    base_url = await doc_server(
        {
            "Login": fixture_bytes("login_response.json"),
            "GetSession": fixture_bytes("get_session_response.json"),
            "GetSipAccountsRegisteredStatus": NO_ACCOUNTS,
            "GetIncomingCalls": forbidden,
            "GetSmsIncomingLog": fixture_bytes("sms_incoming_log_doc_values.json"),
        }
    )
    client = YemotClient(session, {"base_url": base_url, **CREDENTIALS})
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.problems == (
        ProviderProblem(ProblemKind.MISSING_PERMISSION, "GetIncomingCalls"),
    )
    assert len(snapshot.received_sms) == 1
