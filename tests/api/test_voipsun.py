"""The VoIPSUN PBX client against the simulator and the documented examples."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import timedelta
import json
import logging
from pathlib import Path
import re
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.pbx_bridge.api.client import REDACTED
from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxPermissionError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.api.models import (
    AgentState,
    AnnounceRequest,
    CallDirection,
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
    SipKind,
    SmsRequest,
    TransferRequest,
    WebhookRequest,
)
from custom_components.pbx_bridge.api.providers.voipsun import (
    OPTION_AGENT_LINES,
    OPTION_AGENT_PINS,
    OPTION_QUEUE_NAMES,
    OPTION_QUEUE_PENALTY,
    VoipsunClient,
    line_params,
    parse_answer,
)
from custom_components.pbx_bridge.api.registry import client_class
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.providers.voipsun import VoipsunSim
from pbx_simulator.state import AgentStatus, CallStatus, SimCall, SimState
from pbx_simulator.testing import RunningSimulator, start_simulator
from tests.api.faults import READ_FAULT_ERRORS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "voipsun"
PASSWORD = "secretpwd"
# Agent number -> PIN of the simulator's agents 1..5 (numbers 1000..1004, PINs 1001..1005).
PINS = {str(999 + n): str(1000 + n) for n in range(1, 6)}
# The simulator's queues: no action lists them, the user names them.
QUEUES = ["Sales", "Support"]
OPTIONS = {OPTION_AGENT_PINS: PINS, OPTION_QUEUE_NAMES: QUEUES}

EXTENSION_101 = DialSource(DialSourceKind.EXTENSION, "101")
ROUTE = DialSource(DialSourceKind.LINE, "odchozi@pospojeni")

type DocServer = Callable[[Mapping[str, bytes]], Awaitable[str]]


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
) -> VoipsunClient:
    return VoipsunClient(
        session,
        running.config["voipsun"],
        options=OPTIONS if options is None else options,
        timeout=timeout,
    )


def sent(running: RunningSimulator, action: str) -> dict[str, str]:
    """The query of the one request sent for `action` (a GET, as documented), without the login."""
    (request,) = running.sim.requests_for("voipsun", action)
    assert (request.method, request.path, request.body) == ("GET", "/api/api.php", "")
    assert request.query["username"] == "voipsun"
    assert request.query["password"] == PASSWORD
    return {k: v for k, v in request.query.items() if k not in ("username", "password")}


def voipsun(running: RunningSimulator) -> VoipsunSim:
    sim = running.sim.providers["voipsun"]
    assert isinstance(sim, VoipsunSim)
    return sim


def is_logged_in(state: SimState, agent_id: str) -> bool:
    """Read through a call, so type narrowing does not outlive the actions in between."""
    return state.agents[agent_id].logged_in


def is_paused(state: SimState, agent_id: str) -> bool:
    return state.agents[agent_id].paused


# --- declarations -----------------------------------------------------------------------------


def test_declarations() -> None:
    assert client_class("voipsun") is VoipsunClient
    assert VoipsunClient.title == "VoIPSUN PBX"
    fields = {f.key: f for f in VoipsunClient.connection_fields}
    assert set(fields) == {"base_url", "username", "password"}
    assert fields["password"].secret
    assert not fields["username"].secret
    assert fields["base_url"].is_url
    assert fields["base_url"].required
    assert VoipsunClient.webhook_methods == frozenset()
    assert VoipsunClient.default_country_code == "420"
    assert VoipsunClient.capabilities == {
        Capability.DIAL,
        Capability.HANGUP,
        Capability.ACTIVE_CALLS,
        Capability.SIP_REGISTRATIONS,
        Capability.QUEUES,
        Capability.AGENTS,
        Capability.AGENT_LOGIN,
        Capability.AGENT_PAUSE,
        Capability.QUEUE_LOGIN,
    }


async def test_numbers_and_account(session: aiohttp.ClientSession) -> None:
    client = VoipsunClient(
        session, {"base_url": "http://pbx.example.com/", "username": "u", "password": "p4ss"}
    )
    assert client.format_number("+420800123456") == "800123456"
    assert client.format_number("+421900123456") == "00421900123456"
    assert client.format_number("100") == "100"
    assert client.base_url == "http://pbx.example.com"
    assert client._account().account_id == "pbx.example.com"
    assert "p4ss" not in repr(client)


@pytest.mark.parametrize("base_url", ["", "http://", "http://host:port"])
async def test_validate_needs_the_pbx_address(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    client = VoipsunClient(session, {"base_url": base_url, "username": "u", "password": "p"})
    with pytest.raises(PbxInvalidInput, match="needs the PBX address"):
        await client.async_validate()


# --- validate and snapshot ---------------------------------------------------------------------


async def test_validate(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    info = await make_client(session, pbx_simulator).async_validate()
    host = pbx_simulator.origin.removeprefix("http://")
    assert (info.account_id, info.name) == (host, f"VoIPSUN PBX {host}")
    assert sent(pbx_simulator, "listcalls") == {"action": "listcalls"}


async def test_validate_rejects_a_wrong_password(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(session, pbx_simulator)
    pbx_simulator.state.credentials["voipsun"]["password"] = "changed-on-the-pbx"
    with pytest.raises(PbxAuthError, match="Unauthorized user or bad permissions") as raised:
        await client.async_validate()
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in caplog.text
    assert f"password={REDACTED}" in caplog.text


async def test_snapshot_matches_the_simulator(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state, sim = pbx_simulator.state, voipsun(pbx_simulator)
    state.freeze_clock()
    queued = state.incoming_call("+420601111222", queue_id="1")
    state.now_offset += timedelta(seconds=12)
    answered = state.incoming_call("+421900111222", agent_id="2")
    state.answer(answered.id)
    outgoing = state.originate("103", "+420800123456", agent_id="3", line_id="3")
    state.agent_pause("4")
    state.agent_logout("5")
    state.set_registered("6", False)
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()

    assert set(snapshot.registrations) == {sim.sip_user(line) for line in state.lines.values()}
    line = state.lines["1"]
    registration = snapshot.registrations["sip101"]
    assert registration.kind is SipKind.EXTENSION
    assert registration.registered
    assert (registration.user_agent, registration.contact) == (
        line.user_agent,
        f"sip:sip101@{line.ip}:{line.port}",
    )
    assert (registration.ip, registration.port) == (line.ip, line.port)
    assert registration.status is not None
    assert registration.status.startswith("OK (")
    unregistered = snapshot.registrations[sim.sip_user(state.lines["6"])]
    assert not unregistered.registered
    assert (unregistered.ip, unregistered.port, unregistered.user_agent) == (None, None, None)
    trunk = sim.first_trunk()
    assert trunk is not None
    assert snapshot.registrations[trunk.name].kind is SipKind.TRUNK

    assert set(snapshot.calls) == {sim.channel_name(call) for call in (queued, answered, outgoing)}
    waiting = snapshot.calls[sim.channel_name(queued)]
    assert (waiting.state, waiting.direction, waiting.queue_id) == (
        CallState.QUEUED,
        CallDirection.INCOMING,
        "Sales",
    )
    assert (waiting.caller, waiting.callee, waiting.line) == (
        "+420601111222",
        "+420" + state.queues["1"].number,
        trunk.name,
    )
    talking = snapshot.calls[sim.channel_name(answered)]
    assert (talking.state, talking.caller, talking.line) == (
        CallState.ANSWERED,
        "+421900111222",
        "sip102",
    )
    dialled = snapshot.calls[sim.channel_name(outgoing)]
    assert (dialled.state, dialled.direction, dialled.callee) == (
        CallState.RINGING,
        CallDirection.OUTGOING,
        "+420800123456",
    )
    assert waiting.started is not None
    assert dialled.started is not None
    assert 11 <= (dialled.started - waiting.started).total_seconds() <= 13

    assert set(snapshot.queues) == {"Sales", "Support"}
    sales = snapshot.queues["Sales"]
    assert (sales.waiting_calls, sales.longest_wait) == (1, 12.0)
    assert sales.member_ids == ("1000", "1001", "1002", "1003")  # 1004 logged out
    assert (sales.agents_logged_in, sales.agents_ready, sales.agents_busy) == (4, 1, 2)
    assert (sales.agents_paused, sales.completed, sales.abandoned) == (1, 0, 0)
    assert sales.service_level == 0.0
    support = snapshot.queues["Support"]
    assert (support.waiting_calls, support.longest_wait, support.member_ids) == (
        0,
        None,
        ("1000", "1002"),
    )

    agents = snapshot.agents
    assert set(agents) == set(PINS)
    assert agents["1000"].name == state.agents["1"].name
    assert (agents["1000"].state, agents["1000"].extension) == (AgentState.IDLE, "sip101")
    assert agents["1000"].queue_ids == ("Sales", "Support")
    assert agents["1001"].state is AgentState.IN_CALL
    assert agents["1002"].state is AgentState.RINGING
    assert (agents["1003"].state, agents["1003"].paused) == (AgentState.PAUSED, True)
    assert (agents["1004"].state, agents["1004"].logged_in) == (AgentState.LOGGED_OUT, False)
    assert agents["1004"].name == "Agent 1004"
    assert [r.endpoint for r in pbx_simulator.sim.requests_for("voipsun")] == [
        "sipstatus",
        "listcalls",
        "queuestatus",
        "queuestatus",
        "agentstatus",  # 1004 is in no queue: logged out, as agentstatus says
    ]
    assert [
        r.query["queueName"] for r in pbx_simulator.sim.requests_for("voipsun", "queuestatus")
    ] == QUEUES
    assert snapshot.complete == {Listing.REGISTRATIONS}
    assert snapshot.problems == ()


@pytest.mark.parametrize("size", [10, 500])
async def test_snapshot_costs_the_same_whatever_the_size(
    session: aiohttp.ClientSession, socket_enabled: None, size: int
) -> None:
    running, runner = await start_simulator(SimState(seed=1, agents=size, lines=size))
    try:
        snapshot = await make_client(session, running).async_fetch_snapshot()
        assert running.sim.count("voipsun") == 4  # sipstatus, listcalls, 2 queuestatus
        assert len(snapshot.agents) == size
        assert len(snapshot.registrations) == size + 1
    finally:
        await runner.cleanup()


# --- dial ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "param", "value", "line_id"),
    [
        (DialSource(DialSourceKind.EXTENSION, "102"), "srcExtenInternalNum", "102", "2"),
        (DialSource(DialSourceKind.EXTENSION, "id:3"), "srcExtenId", "3", "3"),
        (DialSource(DialSourceKind.USER, "sip104"), "srcSipUsername", "sip104", "4"),
        (DialSource(DialSourceKind.LINE, "+420299299004"), "srcExtenPublicNum", "299299004", "5"),
        (DialSource(DialSourceKind.LINE, "299299005"), "srcExtenPublicNum", "299299005", "6"),
    ],
)
async def test_dial_originates_from_one_source(  # noqa: PLR0917 - pytest passes them so
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    source: DialSource,
    param: str,
    value: str,
    line_id: str,
) -> None:
    result = await make_client(session, pbx_simulator).async_dial(
        DialRequest("+420800123456", source, caller_id="+420245008328", ring_timeout=20)
    )
    assert result.call_id is None  # the PBX answers no id
    assert sent(pbx_simulator, "originate") == {
        "action": "originate",
        "dstNum": "800123456",
        param: value,
        "overrideCallerId": "245008328",
        "srcRingTimeout": "20",
    }
    (call,) = pbx_simulator.state.active_calls()
    assert (call.callee, call.line_id) == ("+420800123456", line_id)


@pytest.mark.parametrize(
    ("route", "route_param"),
    [("odchozi", {"outrouteName": "odchozi"}), ("id:1", {"outrouteId": "1"})],
)
async def test_dial_through_an_outgoing_route(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    route: str,
    route_param: dict[str, str],
) -> None:
    await make_client(session, pbx_simulator).async_dial(
        DialRequest(
            "+421900123456", DialSource(DialSourceKind.LINE, f"{route}@pospojeni"), ring_timeout=30
        )
    )
    assert sent(pbx_simulator, "dial") == {
        "action": "dial",
        "dstNum": "00421900123456",
        "context": "pospojeni",
        "dstRingTimeout": "30",
        **route_param,
    }
    (call,) = pbx_simulator.state.active_calls()
    assert call.callee == "+421900123456"


async def test_dial_from_an_internal_number_of_a_dialplan(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """`102@default`: originate's dialplanName (V:34) beside the internal number; the PBX
    needs it where several dialplans use the number (errno 201, V:636)."""
    client = make_client(session, pbx_simulator)
    await client.async_dial(
        DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, " 102 @ default"))
    )
    assert sent(pbx_simulator, "originate") == {
        "action": "originate",
        "dstNum": "800123456",
        "srcExtenInternalNum": "102",
        "dialplanName": "default",
    }
    (call,) = pbx_simulator.state.active_calls()
    assert call.line_id == "2"
    with pytest.raises(PbxResponseError, match="Dialplan not found") as raised:
        await client.async_dial(
            DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, "102@jiny"))
        )
    assert raised.value.code == "203"
    pbx_simulator.sim.requests.clear()
    for value in ("102@", "@default"):
        with pytest.raises(PbxInvalidInput, match="internal number"):
            await client.async_dial(
                DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, value))
            )
    assert pbx_simulator.sim.requests_for("voipsun") == []


async def test_dial_and_login_where_two_dialplans_use_a_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Without the dialplan the PBX refuses (errno 201, V:636); `101@pobocka` names it."""
    state, sim = pbx_simulator.state, voipsun(pbx_simulator)
    state.lines["6"].name = "101"
    sim.sip_users["6"] = "sip101b"
    sim.line_dialplans["6"] = "pobocka"
    client = make_client(
        session, pbx_simulator, options={**OPTIONS, OPTION_AGENT_LINES: {"1000": "101@pobocka"}}
    )
    with pytest.raises(PbxResponseError, match="dialPlanName missing") as raised:
        await client.async_dial(DialRequest("+420800123456", EXTENSION_101))
    assert raised.value.code == "201"
    await client.async_dial(
        DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, "101@pobocka"))
    )
    (call,) = state.active_calls()
    assert call.line_id == "6"
    state.agent_logout("1")
    await client.async_agent_login("1000")
    assert sim.login_line(state.agents["1"]) is state.lines["6"]


async def test_dial_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    for request in (
        DialRequest("+420800123456"),
        DialRequest("+420800123456", DialSource(DialSourceKind.USER, " ")),
        DialRequest("+420800123456", DialSource(DialSourceKind.LINE, "odchozi@")),
        DialRequest("+420800123456", DialSource(DialSourceKind.LINE, "@pospojeni")),
    ):
        with pytest.raises(PbxInvalidInput):
            await client.async_dial(request)
    assert pbx_simulator.sim.requests_for("voipsun") == []
    with pytest.raises(PbxResponseError, match="Extension not found") as raised:
        await client.async_dial(
            DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, "999"))
        )
    assert raised.value.code == "202"
    with pytest.raises(PbxResponseError, match="Outroute not found!") as raised:
        await client.async_dial(
            DialRequest("+420800123456", DialSource(DialSourceKind.LINE, "jinam@pospojeni"))
        )
    assert raised.value.code == "250"


# --- hangup --------------------------------------------------------------------------------------


async def test_hangup_by_channel(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    call = state.incoming_call("+420601111222", agent_id="1")
    channel = voipsun(pbx_simulator).channel_name(call)
    await make_client(session, pbx_simulator).async_hangup(
        HangupRequest(HangupTargetKind.CHANNEL, channel)
    )
    assert sent(pbx_simulator, "hangupcall") == {"action": "hangupcall", "channelName": channel}
    assert call.status is CallStatus.ENDED


async def test_hangup_by_call_id_looks_the_call_up(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    call = state.incoming_call("+420601111222", queue_id="1")
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    (call_id,) = snapshot.calls
    pbx_simulator.sim.requests.clear()
    await client.async_hangup(HangupRequest(HangupTargetKind.CALL, call_id))
    assert sent(pbx_simulator, "listcalls") == {"action": "listcalls"}
    assert sent(pbx_simulator, "hangupcall") == {"action": "hangupcall", "channelName": call_id}
    assert call.status is CallStatus.ENDED
    pbx_simulator.sim.requests.clear()
    with pytest.raises(PbxInvalidInput, match="no such call") as refused:
        await client.async_hangup(HangupRequest(HangupTargetKind.CALL, call_id))
    assert call_id not in str(refused.value)  # a channel can hold a phone number
    assert pbx_simulator.sim.requests_for("voipsun", "hangupcall") == []


async def test_hangup_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    for request in (
        HangupRequest(HangupTargetKind.USER, "1000"),
        HangupRequest(HangupTargetKind.EXTENSION, "101"),
        HangupRequest(HangupTargetKind.CHANNEL, " "),
    ):
        with pytest.raises(PbxInvalidInput):
            await client.async_hangup(request)
    assert pbx_simulator.sim.requests_for("voipsun") == []
    with pytest.raises(PbxResponseError, match="No such channel") as raised:
        await client.async_hangup(HangupRequest(HangupTargetKind.CHANNEL, "SIP/sip101-00000099"))
    assert raised.value.code is None


# --- agents and queues -------------------------------------------------------------------------


async def test_agent_actions(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    client = make_client(session, pbx_simulator)
    pin = {"agentNumber": "1000", "agentPin": "1001"}
    await client.async_agent_logout("1000")
    assert sent(pbx_simulator, "agentlogout") == {"action": "agentlogout", **pin}
    assert not is_logged_in(state, "1")
    await client.async_agent_pause("1000")
    assert sent(pbx_simulator, "agentpause") == {"action": "agentpause", **pin}
    assert is_paused(state, "1")
    await client.async_agent_unpause("1000")
    assert sent(pbx_simulator, "agentunpause") == {"action": "agentunpause", **pin}
    assert not is_paused(state, "1")
    await client.async_queue_login("1000", "Support")
    assert sent(pbx_simulator, "agentadd") == {
        "action": "agentadd",
        "queueName": "Support",
        "penalty": "1",
        **pin,
    }
    await client.async_queue_logout("1001", "Sales")
    assert sent(pbx_simulator, "agentremove") == {
        "action": "agentremove",
        "queueName": "Sales",
        "agentNumber": "1001",
        "agentPin": "1002",
    }
    assert "1" not in state.agents["2"].queue_ids


async def test_agent_login_uses_the_line_last_seen(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxInvalidInput, match="seen logged in"):
        await client.async_agent_login("1000")
    await client.async_fetch_snapshot()
    state.agent_logout("1")
    await client.async_agent_login("1000")
    assert sent(pbx_simulator, "agentlogin") == {
        "action": "agentlogin",
        "srcSipUsername": "sip101",
        "agentNumber": "1000",
        "agentPin": "1001",
    }
    assert is_logged_in(state, "1")


async def test_agent_action_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    for action in (
        client.async_agent_login("4242"),
        client.async_agent_logout("4242"),
        client.async_agent_unpause("4242"),
        client.async_queue_login("4242", "Sales"),
        client.async_queue_logout("4242", "Sales"),
        client.async_agent_status("4242"),
    ):
        with pytest.raises(PbxInvalidInput, match="needs the PIN of agent 4242"):
            await action
    with pytest.raises(PbxInvalidInput, match="no pause reasons"):
        await client.async_agent_pause("1000", "Lunch")
    assert pbx_simulator.sim.requests_for("voipsun") == []
    wrong = make_client(session, pbx_simulator, options={OPTION_AGENT_PINS: {"1000": "9876"}})
    with pytest.raises(PbxResponseError, match="bad authorization credentials") as raised:
        await wrong.async_agent_pause("1000")
    assert raised.value.code == "580"
    assert "9876" not in str(raised.value)
    with pytest.raises(PbxResponseError, match="Queue FrontaABC not found!") as raised:
        await client.async_queue_login("1000", "FrontaABC")
    assert raised.value.code == "600"


async def test_agent_status(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    client = make_client(session, pbx_simulator)
    state.agents["1"].status = AgentStatus.IN_CALL
    agent = await client.async_agent_status("1000")
    assert (agent.agent_id, agent.name, agent.state, agent.logged_in) == (
        "1000",
        "Agent 1000",
        AgentState.IN_CALL,
        True,
    )
    assert sent(pbx_simulator, "agentstatus") == {
        "action": "agentstatus",
        "agentNumber": "1000",
        "agentPin": "1001",
    }
    state.agent_logout("1")
    agent = await client.async_agent_status("1000")
    assert (agent.state, agent.logged_in) == (AgentState.LOGGED_OUT, False)
    with pytest.raises(PbxResponseError, match="bad authorization") as raised:
        await make_client(
            session, pbx_simulator, options={OPTION_AGENT_PINS: {"1000": "1"}}
        ).async_agent_status("1000")
    assert raised.value.code == "620"


async def test_queues_come_from_the_option(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """queueName is required (V:552-559): without names the bulk call is tried once only."""
    client = make_client(session, pbx_simulator, options={OPTION_AGENT_PINS: PINS})
    snapshot = await client.async_fetch_snapshot()
    (bulk,) = pbx_simulator.sim.requests_for("voipsun", "queuestatus")
    assert "queueName" not in bulk.query
    assert snapshot.queues == {}
    assert snapshot.problems == ()
    # No queue data: agentstatus tells, for at most 4 agents a refresh, in turn.
    asked = [r.query["agentNumber"] for r in pbx_simulator.sim.requests_for("voipsun")[3:]]
    assert asked == ["1000", "1001", "1002", "1003"]
    assert snapshot.agents["1000"].state is AgentState.IDLE
    assert snapshot.agents["1004"].state is AgentState.UNKNOWN  # not asked yet
    pbx_simulator.sim.requests.clear()
    snapshot = await client.async_fetch_snapshot()
    assert [r.endpoint for r in pbx_simulator.sim.requests_for("voipsun")] == [
        "sipstatus",
        "listcalls",
        "agentstatus",
        "agentstatus",
        "agentstatus",
        "agentstatus",
    ]
    assert [r.query["agentNumber"] for r in pbx_simulator.sim.requests_for("voipsun")[2:]] == [
        "1004",
        "1000",
        "1001",
        "1002",
    ]
    assert snapshot.agents["1004"].logged_in is True
    assert snapshot.agents["1003"].state is AgentState.IDLE  # kept from the last answer


async def test_an_unknown_queue_is_a_problem(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    options = {OPTION_AGENT_PINS: PINS, OPTION_QUEUE_NAMES: ["Sales", " FrontaABC ", "Sales"]}
    snapshot = await make_client(session, pbx_simulator, options=options).async_fetch_snapshot()
    assert set(snapshot.queues) == {"Sales"}
    assert snapshot.problems == (ProviderProblem(ProblemKind.UNKNOWN_QUEUE, "FrontaABC"),)
    assert len(pbx_simulator.sim.requests_for("voipsun", "queuestatus")) == 2


@pytest.mark.parametrize(
    "answer",
    [
        b'{"success":"true","results":[]}',
        b'{"success":"false","errno":"600","reason":"Queue FrontaABC not found!"}',
        b'{"success":"false","reason":"Queue FrontaABC not found!"}',
    ],
)
async def test_both_readings_of_an_unknown_queue(
    doc_server: DocServer, session: aiohttp.ClientSession, answer: bytes
) -> None:
    base_url = await doc_server({**EMPTY, "queuestatus": answer})
    client = doc_client(session, base_url, **{OPTION_QUEUE_NAMES: ["FrontaABC"]})
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.problems == (ProviderProblem(ProblemKind.UNKNOWN_QUEUE, "FrontaABC"),)


class AskedBodies(dict[str, bytes]):
    """Bodies by action that count how often each action was asked for."""

    def __init__(self, bodies: Mapping[str, bytes]) -> None:
        super().__init__(bodies)
        self.asked: Counter[str] = Counter()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked[key] += 1
        return super().get(key, default)


@pytest.mark.parametrize(
    "answer",
    [
        b'{"success":"false","errno":"120","reason":"Missing required parameters"}',
        # A PBX that looks the empty name up, as agentadd does a name it lacks (V:741).
        b'{"success":"false","errno":"600","reason":"Queue  not found!"}',
        b'{"success":"false","reason":"Queue  not found!"}',
    ],
)
async def test_queuestatus_without_a_name_is_refused_either_way(
    doc_server: DocServer, session: aiohttp.ClientSession, answer: bytes
) -> None:
    """No queue names: the call without one (V:552-559) is asked once; a refusal costs no
    refresh, whichever documented error it uses."""
    bodies = AskedBodies({**EMPTY, "queuestatus": answer})
    client = doc_client(session, await doc_server(bodies))
    for _ in range(2):
        snapshot = await client.async_fetch_snapshot()
        assert (snapshot.queues, snapshot.problems) == ({}, ())
        assert Listing.QUEUES not in snapshot.complete
    assert bodies.asked["queuestatus"] == 1


@pytest.mark.parametrize("queue_names", [[], ["FrontaIT"]])
async def test_other_queuestatus_refusals_fail_the_refresh(
    doc_server: DocServer, session: aiohttp.ClientSession, queue_names: list[str]
) -> None:
    """Only an unknown queue or a missing name is skipped: another refusal is an error."""
    refusal = b'{"success":"false","errno":"999","reason":"Database not ready"}'
    base_url = await doc_server({**EMPTY, "queuestatus": refusal})
    client = doc_client(session, base_url, **{OPTION_QUEUE_NAMES: queue_names})
    with pytest.raises(PbxResponseError, match="Database not ready"):
        await client.async_fetch_snapshot()


async def test_a_missing_right_is_no_login_failure(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """errno 100 with a login that reads listcalls: the API user lacks a right (V:623)."""
    sim = voipsun(pbx_simulator)
    sim.denied_actions |= {"queuestatus", "agentpause"}
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.queues == {}
    assert snapshot.problems == (ProviderProblem(ProblemKind.MISSING_PERMISSION, "queuestatus"),)
    assert snapshot.registrations
    with pytest.raises(PbxPermissionError, match="may not use agentpause") as raised:
        await client.async_agent_pause("1000")
    assert raised.value.permission == "agentpause"
    assert not is_paused(pbx_simulator.state, "1")
    sim.denied_actions = {"agentstatus"}
    pbx_simulator.state.agent_logout("5")  # in no queue: agentstatus would tell
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.problems == (ProviderProblem(ProblemKind.MISSING_PERMISSION, "agentstatus"),)
    assert snapshot.agents["1004"].state is AgentState.UNKNOWN
    sim.denied_actions = {"listcalls"}  # sipstatus answers: the login is right
    host = pbx_simulator.origin.removeprefix("http://")
    assert (await client.async_validate()).account_id == host
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.problems == (ProviderProblem(ProblemKind.MISSING_PERMISSION, "listcalls"),)
    sim.denied_actions = {"listcalls", "sipstatus"}
    with pytest.raises(PbxAuthError):  # nothing readable: the login is taken as wrong
        await client.async_validate()


async def test_agent_status_line_errnos(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    """errnos 630-636 (V:755-773) are a logged-in agent's line, 620 a wrong PIN."""
    bodies = (FIXTURES / "agentstatus_errors.txt").read_text().splitlines()
    states = []
    for body in bodies[1:]:
        base_url = await doc_server({"agentstatus": body.encode()})
        agent = await doc_client(session, base_url).async_agent_status("1000")
        assert agent.logged_in is True
        states.append(agent.state)
    assert states == [
        AgentState.UNAVAILABLE,
        AgentState.UNAVAILABLE,
        AgentState.IN_CALL,
        AgentState.RINGING,
        AgentState.ON_HOLD,
        AgentState.IN_CALL,
        AgentState.IN_CALL,
    ]
    base_url = await doc_server({"agentstatus": bodies[0].encode()})
    with pytest.raises(PbxResponseError, match="bad authorization") as raised:
        await doc_client(session, base_url).async_agent_status("1000")
    assert raised.value.code == "620"


@pytest.mark.parametrize(
    ("line", "params", "line_id"),
    [
        ("sip:sip103", {"srcSipUsername": "sip103"}, "3"),
        ("id:4", {"srcExtenId": "4"}, "4"),
        ("+420299299004", {"srcExtenPublicNum": "299299004"}, "5"),
        ("206", {"srcExtenInternalNum": "206"}, "6"),
        ("102@default", {"srcExtenInternalNum": "102", "dialplanName": "default"}, "2"),
    ],
)
async def test_agent_login_from_the_configured_line(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    line: str,
    params: dict[str, str],
    line_id: str,
) -> None:
    """The documented ways to name the line (V:321-329), one option per agent."""
    state, sim = pbx_simulator.state, voipsun(pbx_simulator)
    state.agent_logout("1")
    options = {**OPTIONS, OPTION_AGENT_LINES: {"1000": line}}
    await make_client(session, pbx_simulator, options=options).async_agent_login("1000")
    assert sent(pbx_simulator, "agentlogin") == {
        "action": "agentlogin",
        **params,
        "agentNumber": "1000",
        "agentPin": "1001",
    }
    assert sim.login_line(state.agents["1"]) is state.lines[line_id]


async def test_agent_login_from_a_line_device(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """A line named by the caller (a line device: its id is the SIP user) beats the option."""
    state = pbx_simulator.state
    state.agent_logout("1")
    options = {**OPTIONS, OPTION_AGENT_LINES: {"1000": "101"}}
    client = make_client(session, pbx_simulator, options=options)
    await client.async_agent_login("1000", extension="sip206")
    assert sent(pbx_simulator, "agentlogin")["srcSipUsername"] == "sip206"
    assert voipsun(pbx_simulator).login_line(state.agents["1"]) is state.lines["6"]


@pytest.mark.parametrize("line", ["", "sip:", "@plan", "100@", "id: "])
def test_agent_line_forms_that_name_nothing(line: str) -> None:
    with pytest.raises(PbxInvalidInput, match="agent line is"):
        line_params(line)


async def test_queue_login_penalty_option(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    options = {**OPTIONS, OPTION_QUEUE_PENALTY: "5"}
    await make_client(session, pbx_simulator, options=options).async_queue_login("1001", "Support")
    assert sent(pbx_simulator, "agentadd")["penalty"] == "5"
    assert voipsun(pbx_simulator).penalties["2", "2"] == "5"


async def test_calls_name_their_agent_and_queue(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Two legs, one call: the agent by the extension leg's line, the number by the trunk's."""
    state, sim = pbx_simulator.state, voipsun(pbx_simulator)
    call = state.incoming_call("+420601111222", queue_id="1")
    client = make_client(session, pbx_simulator)
    (waiting,) = (await client.async_fetch_snapshot()).calls.values()
    assert (waiting.state, waiting.queue_id, waiting.agent_id) == (CallState.QUEUED, "Sales", None)
    state.answer(call.id, "2")
    snapshot = await client.async_fetch_snapshot()
    assert len(leg_channels(sim, call)) == 2
    (talking,) = snapshot.calls.values()
    assert talking.call_id == waiting.call_id  # the same call, before and after the answer
    assert (talking.state, talking.agent_id, talking.line, talking.caller, talking.callee) == (
        CallState.ANSWERED,
        "1001",
        "sip102",
        "+420601111222",
        "+420" + state.queues["1"].number,
    )


async def test_a_sip_user_with_a_hyphen_stays_whole(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """loggedFrom is a device, `SIP/Linka_1000` without a channel's `-<sequence>` (V:564):
    a SIP user named `kancelar-1` is the agent's line, and calls on it name the agent."""
    state, sim = pbx_simulator.state, voipsun(pbx_simulator)
    sim.sip_users["1"] = "kancelar-1"
    call = state.incoming_call("+420601111222", agent_id="1")
    state.answer(call.id)
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    assert snapshot.agents["1000"].extension == "kancelar-1"
    assert "kancelar-1" in snapshot.registrations
    (talking,) = snapshot.calls.values()
    assert (talking.line, talking.agent_id) == ("kancelar-1", "1000")
    state.hangup(call.id)
    state.agent_logout("1")
    await client.async_agent_login("1000")  # from the line last seen
    assert sent(pbx_simulator, "agentlogin")["srcSipUsername"] == "kancelar-1"
    assert is_logged_in(state, "1")


def leg_channels(sim: VoipsunSim, call: SimCall) -> list[str]:
    return [leg.channel for leg in sim.legs(call)]


async def test_unmonitored_trunks_have_no_known_state(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim = voipsun(pbx_simulator)
    trunk = sim.first_trunk()
    assert trunk is not None
    sim.unmonitored.add(trunk.id)
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    assert snapshot.registrations[trunk.name].registered is None


@pytest.mark.parametrize(
    ("endpoint", "action"),
    [
        ("originate", lambda c: c.async_dial(DialRequest("+420800123456", EXTENSION_101))),
        ("dial", lambda c: c.async_dial(DialRequest("+420800123456", ROUTE))),
        ("hangupcall", lambda c: c.async_hangup(HangupRequest(HangupTargetKind.CHANNEL, "SIP/x"))),
        ("agentlogin", lambda c: c.async_agent_login("1000")),
        ("agentlogout", lambda c: c.async_agent_logout("1000")),
        ("agentpause", lambda c: c.async_agent_pause("1000")),
        ("agentunpause", lambda c: c.async_agent_unpause("1000")),
        ("agentadd", lambda c: c.async_queue_login("1000", "Support")),
        ("agentremove", lambda c: c.async_queue_logout("1000", "Sales")),
    ],
)
async def test_changes_go_out_once(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    endpoint: str,
    action: Callable[[VoipsunClient], Awaitable[object]],
) -> None:
    """A connection dropped after sending: "may have been carried out", and never resent."""
    pbx_simulator.sim.faults.append(
        Fault(provider="voipsun", kind=FaultKind.DISCONNECT, endpoint=endpoint)
    )
    options = {**OPTIONS, OPTION_AGENT_LINES: {"1000": "101"}}
    with pytest.raises(PbxOutcomeUnknownError, match="may have been carried out"):
        await action(make_client(session, pbx_simulator, options=options))
    (request,) = pbx_simulator.sim.requests_for("voipsun", endpoint)
    assert request.method == "GET"


async def test_dial_cannot_wait_or_only_ring(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    for request in (
        DialRequest("+420800123456", EXTENSION_101, delay=timedelta(minutes=5)),
        DialRequest("+420800123456", EXTENSION_101, ring_once=True),
    ):
        with pytest.raises(PbxInvalidInput, match="at once and in full"):
            await client.async_dial(request)
    assert pbx_simulator.sim.requests_for("voipsun") == []


async def test_unsupported_actions(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    for action in (
        client.async_announce(AnnounceRequest(number="+420800123456", text="Hi")),
        client.async_send_sms(SmsRequest(("+420601123456",), "Hi")),
        client.async_transfer(TransferRequest("SIP/sip101-00000001", "102")),
        client.async_queue_kick("Sales", "SIP/trunk7-00000001"),
        client.async_register_webhook("http://example.invalid/hook"),
        client.async_unregister_webhook("http://example.invalid/hook"),
    ):
        with pytest.raises(PbxUnsupportedError, match="VoIPSUN PBX does not support"):
            await action
    with pytest.raises(PbxUnsupportedError):
        client.parse_webhook(WebhookRequest("POST", {}, {}, b"{}"))
    for capability in (Capability.ANNOUNCE, Capability.SEND_SMS, Capability.CALL_WEBHOOK):
        assert not client.supports(capability)
    assert pbx_simulator.sim.requests_for("voipsun") == []


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "error"), READ_FAULT_ERRORS)
async def test_faults_on_snapshot(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="voipsun", kind=kind))
    with pytest.raises(error) as raised:
        await make_client(session, pbx_simulator, timeout=0.3).async_fetch_snapshot()
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in caplog.text
    assert "1001" not in caplog.text  # nor an agent's PIN
    assert "action=sipstatus" in caplog.text  # the request was logged, redacted


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        (FaultKind.HANG, PbxOutcomeUnknownError),
        (FaultKind.DISCONNECT, PbxOutcomeUnknownError),
        (FaultKind.HTML, PbxResponseError),
    ],
)
async def test_faults_on_dial_are_not_retried(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="voipsun", kind=kind, endpoint="originate"))
    with pytest.raises(error) as raised:
        await make_client(session, pbx_simulator, timeout=0.3).async_dial(
            DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, "101"))
        )
    assert len(pbx_simulator.sim.requests_for("voipsun", "originate")) == 1
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in caplog.text


async def test_latency_fault_still_answers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.sim.faults.append(
        Fault(provider="voipsun", kind=FaultKind.LATENCY, seconds=0.05, count=1)
    )
    info = await make_client(session, pbx_simulator).async_validate()
    assert info.account_id == pbx_simulator.origin.removeprefix("http://")


async def test_a_password_with_url_characters_is_redacted(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log shows the query URL-encoded: that form of the password is a secret too."""
    caplog.set_level(logging.DEBUG)
    password = "p@ss w/rd&x=1"
    pbx_simulator.state.credentials["voipsun"]["password"] = password
    client = make_client(session, pbx_simulator)
    await client.async_validate()
    pbx_simulator.sim.faults.append(Fault(provider="voipsun", kind=FaultKind.SERVER_ERROR))
    with pytest.raises(PbxConnectionError) as raised:
        await client.async_fetch_snapshot()
    for form in (password, "p%40ss+w%2Frd%26x%3D1", "p%40ss%20w%2Frd%26x%3D1"):
        assert form not in caplog.text
        assert form not in str(raised.value)
    assert "password=**REDACTED**" in caplog.text


# --- documented answers, byte for byte ----------------------------------------------------------


@pytest.fixture
async def doc_server(socket_enabled: None) -> AsyncGenerator[DocServer]:
    """Start loopback servers answering `/api/api.php?action=X` with the given bodies."""
    runners: list[web.AppRunner] = []

    async def start(bodies: Mapping[str, bytes]) -> str:
        async def answer(request: web.Request) -> web.Response:
            body = bodies.get(request.query.get("action", ""), b"")
            return web.Response(
                body=body, status=200 if body else 404, content_type="application/json"
            )

        app = web.Application()
        app.router.add_route("*", "/api/api.php", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def doc_client(session: aiohttp.ClientSession, base_url: str, **options: Any) -> VoipsunClient:
    return VoipsunClient(
        session,
        {"base_url": base_url, "username": "voipsun", "password": PASSWORD},
        options={OPTION_AGENT_PINS: {"1000": "1234"}, **options},
    )


async def test_documented_snapshot(doc_server: DocServer, session: aiohttp.ClientSession) -> None:
    base_url = await doc_server(
        {
            "sipstatus": fixture_bytes("sipstatus_response.json"),
            "listcalls": fixture_bytes("listcalls_response.json"),
            "queuestatus": fixture_bytes("queuestatus_response.json"),
        }
    )
    snapshot = await doc_client(
        session, base_url, **{OPTION_QUEUE_NAMES: ["FrontaIT"]}
    ).async_fetch_snapshot()
    assert snapshot.complete == {Listing.REGISTRATIONS}  # queues: only those configured

    registrations = snapshot.registrations
    assert len(registrations) == 19
    assert sum(r.kind is SipKind.TRUNK for r in registrations.values()) == 5
    idle = registrations["100a"]
    assert (idle.registered, idle.status, idle.ip, idle.port, idle.contact) == (
        False,
        "UNKNOWN",
        None,
        None,
        None,
    )
    stale = registrations["101a"]  # a contact left over, but nobody answers
    assert (stale.registered, stale.user_agent) == (False, "Linphone/3.6.1 (eXosip2/4.1.0)")
    snom = registrations["102a"]
    assert (snom.registered, snom.status, snom.user_agent, snom.port) == (
        True,
        "OK (35 ms)",
        "snom870/8.7.3.25.9",
        5060,
    )
    assert snom.contact == "sip:102a@XXX.XXX.XXX.XXX:5060"
    assert registrations["tel100"].registered  # unmonitored, but registered from a host
    assert registrations["tel101"].registered is False
    assert registrations["siptrunk1"].registered
    assert registrations["siptrunk1"].kind is SipKind.TRUNK
    for trunk in ("siptrunk2", "siptrunk4", "siptrunk5"):  # unmonitored: nobody knows
        assert registrations[trunk].registered is None

    calls = snapshot.calls  # 4 legs, 2 calls: each an extension leg and a trunk leg
    assert list(calls) == ["SIP/upc-0000b714", "SIP/upc-0000b715"]
    first, second = calls["SIP/upc-0000b714"], calls["SIP/upc-0000b715"]
    assert (first.direction, first.state, first.caller, first.callee, first.line) == (
        CallDirection.INCOMING,
        CallState.ANSWERED,
        "+420123456789",
        "+420111222555",  # the number called, from the trunk leg
        "555",  # the line, from the extension leg
    )
    assert (second.caller, second.callee, second.line) == ("+420987654321", "+420111222550", "550")
    assert first.started is not None
    assert second.started is not None
    assert (second.started - first.started).total_seconds() == pytest.approx(224, abs=1)

    (queue,) = snapshot.queues.values()
    assert (queue.queue_id, queue.name) == ("FrontaIT", "FrontaIT")
    assert (queue.waiting_calls, queue.longest_wait) == (3, 7.0)  # 3 listed, `calls` says 0
    assert (queue.average_hold_time, queue.average_talk_time) == (2.0, 38.0)
    assert (queue.completed, queue.abandoned, queue.service_level) == (39, 0, 76.9)
    assert queue.member_ids == tuple(str(n) for n in range(1000, 1012))
    assert (queue.agents_logged_in, queue.agents_ready, queue.agents_busy) == (12, 1, 11)
    assert queue.agents_paused == 0
    agents = snapshot.agents
    assert len(agents) == 12
    assert (agents["1000"].name, agents["1000"].state, agents["1000"].extension) == (
        "Agent_01",
        AgentState.IN_CALL,
        "Linka_1000",
    )
    assert agents["1011"].state is AgentState.IDLE
    assert agents["1011"].queue_ids == ("FrontaIT",)


async def test_documented_agentstatus_bodies(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    text = (FIXTURES / "agentstatus_responses.txt").read_text().strip()
    bodies = re.split(r"(?<=\}) (?=\{)", text)
    expected = [
        (AgentState.IDLE, True),
        (AgentState.IN_CALL, True),
        (AgentState.IN_CALL, True),
        (AgentState.UNAVAILABLE, True),
        (AgentState.RINGING, True),
        (AgentState.ON_HOLD, True),
        (AgentState.IN_CALL, True),
        (AgentState.LOGGED_OUT, False),
    ]
    assert len(bodies) == len(expected)
    for body, (state, logged_in) in zip(bodies, expected, strict=True):
        with pytest.raises(ValueError, match="Expecting"):
            json.loads(body)
        base_url = await doc_server({"agentstatus": body.encode()})
        agent = await doc_client(session, base_url).async_agent_status("1000")
        assert (agent.state, agent.logged_in, agent.name) == (state, logged_in, "Agent 1000")


@pytest.mark.parametrize(
    ("fixture", "error", "code", "message"),
    [
        ("auth_error.json", PbxAuthError, None, "Unauthorized user or bad permissions"),
        (
            "originate_conflict_error.json",
            PbxResponseError,
            "200",
            (
                "Use only one of next variables: srcExtenPublicNum, srcExtenInternalNum, "
                "srcExtenId, srcSipUsername"
            ),
        ),
    ],
)
async def test_documented_error_bodies(  # noqa: PLR0917 - pytest passes them so
    doc_server: DocServer,
    session: aiohttp.ClientSession,
    fixture: str,
    error: type[PbxError],
    code: str | None,
    message: str,
) -> None:
    base_url = await doc_server({"originate": fixture_bytes(fixture)})
    with pytest.raises(error) as raised:
        await doc_client(session, base_url).async_dial(
            DialRequest("+420800123456", DialSource(DialSourceKind.EXTENSION, "100"))
        )
    assert message in str(raised.value)
    if isinstance(raised.value, PbxResponseError):
        assert (raised.value.code, raised.value.reason) == (code, message)


async def test_documented_success_body(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server({"agentpause": fixture_bytes("success_response.json")})
    await doc_client(session, base_url).async_agent_pause("1000")


def test_parse_answer() -> None:
    assert parse_answer(b'{"success":"true":"reason":"Agent 1 is logged out."}') == {
        "success": "true",
        "reason": "Agent 1 is logged out.",
    }
    assert parse_answer(b' {"success":"true"} \n') == {"success": "true"}
    assert parse_answer(b"[]") is None
    assert parse_answer(b'{"success":"true":"other":1}') is None
    assert parse_answer(b"\x00{<<garbage") is None


def ok(**fields: Any) -> bytes:
    return json.dumps({"success": "true", **fields}).encode()


EMPTY = {"sipstatus": ok(results=[]), "listcalls": ok(results=[]), "queuestatus": ok(results=[])}


@pytest.mark.parametrize(
    "bodies",
    [
        {**EMPTY, "sipstatus": ok(results="none")},
        {**EMPTY, "sipstatus": ok(results=[{"type": "sip"}])},
        {**EMPTY, "listcalls": ok(results=[{"src": "1"}])},
        {**EMPTY, "listcalls": ok(results=["SIP/1-1"])},
        {**EMPTY, "queuestatus": ok(results=[{"calls": "1"}])},
        {**EMPTY, "queuestatus": ok(results=[{"queueName": "Q", "members": {"x": {}}}])},
        {**EMPTY, "sipstatus": b"[]"},
        {**EMPTY, "sipstatus": b'{"total":19,"results":[ {"id":12,'},
        {**EMPTY, "sipstatus": b""},  # HTTP 404 from a wrong base URL
    ],
)
async def test_malformed_answers_are_response_errors(
    doc_server: DocServer, session: aiohttp.ClientSession, bodies: dict[str, bytes]
) -> None:
    base_url = await doc_server(bodies)
    with pytest.raises(PbxResponseError):
        await doc_client(session, base_url).async_fetch_snapshot()


async def test_loose_answers_are_read(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server(
        {
            "sipstatus": ok(
                results=[
                    {"user": "x", "type": "sip", "status": "LAGGED", "port": 1},
                    {"user": "z", "type": "extension_line", "port": True},
                ]
            ),
            "listcalls": ok(
                results=[
                    {"channelName": "Local/100@x", "status": "Dialing", "duration": "?"},
                    {"channelName": "SIP/y", "context": "", "status": "Up"},
                ]
            ),
            "queuestatus": ok(
                results=[
                    {
                        "queueName": "Q",
                        "members": [
                            {"agentName": "Ann", "status": "6", "paused": "1"},
                            {"agentName": "Bob", "channelStatus": "Line is rebooting"},
                        ],
                        "waiters": {"1": {"channel": "SIP/unknown-1", "wait": None}},
                    },
                    {"queueName": "R"},  # no members nor waiters at all
                ]
            ),
            "agentstatus": ok(reason="Agent 1000 is dancing"),
        }
    )
    client = doc_client(session, base_url)
    snapshot = await client.async_fetch_snapshot()
    # Without queue names the call without one lists every queue here: a full listing.
    assert snapshot.complete == {Listing.REGISTRATIONS, Listing.QUEUES}
    registration = snapshot.registrations["x"]
    assert (registration.registered, registration.port, registration.kind) == (
        False,
        1,
        SipKind.TRUNK,
    )
    local = snapshot.calls["Local/100@x"]
    assert (local.state, local.direction, local.started, local.line) == (
        CallState.UNKNOWN,
        CallDirection.UNKNOWN,
        None,
        "100@x",
    )
    assert snapshot.calls["SIP/y"].line == "y"
    assert (snapshot.registrations["z"].port, snapshot.registrations["z"].status) == (None, None)
    empty = snapshot.queues["R"]
    assert (empty.waiting_calls, empty.member_ids, empty.agents_logged_in) == (0, (), 0)
    queue = snapshot.queues["Q"]
    assert (queue.waiting_calls, queue.longest_wait, queue.member_ids) == (1, None, ("Ann", "Bob"))
    assert queue.agents_paused == 1
    ann, bob = snapshot.agents["Ann"], snapshot.agents["Bob"]
    assert (ann.state, ann.paused, ann.extension) == (AgentState.RINGING, True, None)
    assert bob.state is AgentState.UNKNOWN
    # Has a PIN, in no queue: agentstatus is asked, and its answer explains nothing.
    assert snapshot.agents["1000"].state is AgentState.UNKNOWN
    with pytest.raises(PbxResponseError, match="does not explain"):
        await client.async_agent_status("1000")


async def test_provider_reasons_are_redacted(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server(
        {
            "listcalls": json.dumps(
                {"success": "false", "errno": "999", "reason": f"bad query password={PASSWORD}"}
            ).encode(),
            "sipstatus": b'{"success":"false"}',
        }
    )
    client = doc_client(session, base_url)
    with pytest.raises(PbxResponseError) as raised:
        await client.async_validate()
    assert str(raised.value) == f"bad query password={REDACTED}"
    assert raised.value.code == "999"
    with pytest.raises(PbxResponseError, match="sipstatus failed") as raised:
        await client.async_fetch_snapshot()
    assert raised.value.code is None
