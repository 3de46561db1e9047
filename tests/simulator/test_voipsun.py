"""The VoIPSUN PBX simulation answers as shared/provider-docs/voipsun-pbx.txt shows."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from yarl import URL

from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.providers.voipsun import VoipsunSim, e164, national
from pbx_simulator.state import AgentStatus, CallStatus, SimState
from pbx_simulator.testing import RunningSimulator, start_simulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "voipsun"
CREDENTIALS = {"username": "voipsun", "password": "secretpwd"}
ACTIONS = (
    "originate",
    "dial",
    "hangupcall",
    "listcalls",
    "spying",
    "sipstatus",
    "agentlogin",
    "agentlogout",
    "agentpause",
    "agentunpause",
    "agentadd",
    "agentremove",
    "agentstatus",
    "queuestatus",
    "moverecord",
)
# Maps whose keys are data (agent names, positions): their shape is that of one value.
DATA_KEYED = {"members", "waiters"}
SUCCESS = {"success": "true"}


def shape(value: Any, key: str = "") -> Any:
    """The structure of a JSON value: key names and value types, not the values."""
    if isinstance(value, dict):
        if key in DATA_KEYED:
            return {"*": shape(next(iter(value.values())))}
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def is_logged_in(state: SimState, agent_id: str) -> bool:
    """Read through a call, so type narrowing does not outlive the actions in between."""
    return state.agents[agent_id].logged_in


def is_paused(state: SimState, agent_id: str) -> bool:
    return state.agents[agent_id].paused


def voipsun(running: RunningSimulator) -> VoipsunSim:
    sim = running.sim.providers["voipsun"]
    assert isinstance(sim, VoipsunSim)
    return sim


def api_url(running: RunningSimulator) -> str:
    return f"{running.config['voipsun']['base_url']}/api/api.php"


async def ask_as(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    credentials: Mapping[str, str],
    action: str,
    /,
    **params: str,
) -> str:
    """Send one action with `credentials`; return the body text."""
    query = {**credentials, "action": action, **params}
    async with session.get(api_url(running), params=query) as response:
        assert response.status == 200  # errors too: they are in the body
        assert response.content_type == "application/json"
        return await response.text()


async def ask_text(
    session: aiohttp.ClientSession, running: RunningSimulator, action: str, /, **params: str
) -> str:
    return await ask_as(session, running, CREDENTIALS, action, **params)


async def ask(
    session: aiohttp.ClientSession, running: RunningSimulator, action: str, /, **params: str
) -> dict[str, Any]:
    answer = json.loads(await ask_text(session, running, action, **params))
    assert isinstance(answer, dict)
    return answer


def refused(errno: str, reason: str) -> dict[str, str]:
    return {"success": "false", "errno": errno, "reason": reason}


def agent_params(agent: str = "1000", pin: str = "1001") -> dict[str, str]:
    """Agent 1 of the default state: number 1000, PIN 1001."""
    return {"agentNumber": agent, "agentPin": pin}


def documented_agent_statuses() -> list[str]:
    """The documentation's agentstatus bodies, verbatim (they share one line)."""
    text = (FIXTURES / "agentstatus_responses.txt").read_text().strip()
    return re.split(r"(?<=\}) (?=\{)", text)


def prepare_documented_account(state: SimState) -> None:
    """Give the account the names the documentation's examples use."""
    state.lines["1"].name = "100"  # line 1: public 299299000, internal 100, SIP user sip100
    state.agents["1"].pin = "1234"  # agent 1 is agent number 1000
    state.queues["1"].name = "FrontaIT"
    state.incoming_call("+420999555444", queue_id="1")  # a waiter, as in the example


# --- names and helpers ------------------------------------------------------------------


def test_config_uses_the_provider_parameter_names(pbx_simulator: RunningSimulator) -> None:
    config = pbx_simulator.config["voipsun"]
    assert set(config) == {"base_url", "username", "password"}
    assert config["base_url"] == f"{pbx_simulator.origin}/voipsun"
    assert {k: config[k] for k in CREDENTIALS} == CREDENTIALS


def test_number_forms() -> None:
    assert national("+420800123456") == "800123456"
    assert national("+421900123456") == "00421900123456"
    assert national("101") == "101"
    assert e164("800123456") == "+420800123456"
    assert e164("00421900123456") == "+421900123456"
    assert e164("000") == "000"  # the dialer's own caller id, not a number
    assert e164("101") == "101"


def test_pbx_names(pbx_simulator: RunningSimulator) -> None:
    sim, state = voipsun(pbx_simulator), pbx_simulator.state
    assert sim.agent_number(state.agents["1"]) == "1000"
    assert sim.public_number(state.lines["1"]) == "299299000"
    assert sim.sip_user(state.lines["1"]) == "sip101"
    trunk = sim.first_trunk()
    assert trunk is not None
    assert sim.sip_user(trunk) == trunk.name


# --- authentication and dispatch -------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
async def test_wrong_credentials_are_refused_everywhere(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, action: str
) -> None:
    expected = (FIXTURES / "auth_error.json").read_text().strip()
    for credentials in (
        {"username": "voipsun", "password": "wrong"},
        {"username": "other", "password": "secretpwd"},
        {},
    ):
        text = await ask_as(session, pbx_simulator, credentials, action)
        assert text == expected
    assert pbx_simulator.state.active_calls() == []


async def test_credentials_changed_by_the_control_api(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        f"{pbx_simulator.origin}/_sim/credentials", json={"voipsun": {"password": "n3w"}}
    ) as response:
        assert response.status == 200
    assert (await ask(session, pbx_simulator, "listcalls"))["errno"] == "100"
    fresh = {"username": "voipsun", "password": "n3w"}
    text = await ask_as(session, pbx_simulator, fresh, "listcalls")
    assert json.loads(text)["success"] == "true"
    assert pbx_simulator.config["voipsun"]["password"] == "n3w"


async def test_unknown_or_missing_action(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    assert await ask(session, pbx_simulator, "nope") == refused("110", "Unknown action")
    async with session.get(api_url(pbx_simulator), params=CREDENTIALS) as response:
        assert json.loads(await response.text()) == refused("110", "Unknown action")


async def test_parameters_are_read_from_the_query_only(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        api_url(pbx_simulator), data={**CREDENTIALS, "action": "listcalls"}
    ) as response:
        assert json.loads(await response.text())["errno"] == "100"


async def test_endpoint_key_is_the_action(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.sim.faults.append(Fault("voipsun", FaultKind.HTML, endpoint="sipstatus"))
    await ask(session, pbx_simulator, "listcalls")
    async with session.get(
        api_url(pbx_simulator), params={**CREDENTIALS, "action": "sipstatus"}
    ) as response:
        assert response.content_type == "text/html"
    async with session.get(f"{pbx_simulator.origin}/voipsun/api/api.php") as response:
        assert json.loads(await response.text())["errno"] == "100"
    assert pbx_simulator.sim.counters["voipsun", "listcalls"] == 1
    assert pbx_simulator.sim.counters["voipsun", "sipstatus"] == 1
    assert pbx_simulator.sim.counters["voipsun", "/api/api.php"] == 1
    (logged,) = pbx_simulator.sim.requests_for("voipsun", "listcalls")
    assert logged.path == "/api/api.php"
    assert logged.query["password"] == "secretpwd"


# --- the documentation's examples --------------------------------------------------------


async def test_documented_example_requests(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """Every example URL of the documentation, in order, against a matching account."""
    state = SimState(seed=1)
    prepare_documented_account(state)
    running, runner = await start_simulator(state)
    try:
        answers: list[str] = []
        for url in (FIXTURES / "example_requests.txt").read_text().splitlines():
            parts = urlsplit(url)
            assert parts.path == "/api/api.php"
            # The query exactly as documented (a literal backslash in one of them).
            target = f"{running.config['voipsun']['base_url']}{parts.path}?{parts.query}"
            async with session.get(URL(target, encoded=True)) as response:
                assert response.status == 200
                answers.append(await response.text())
    finally:
        await runner.cleanup()
    ok = json.dumps(SUCCESS, separators=(",", ":"))
    decoded = [
        text if text.startswith('{"success":"true":') else json.loads(text) for text in answers
    ]
    assert decoded[:5] == [SUCCESS] * 5  # four originate sources and dial
    assert answers[0] == ok == (FIXTURES / "success_response.json").read_text().strip()
    # The documented channel name has a backslash: no such channel.
    assert decoded[5] == {"success": "false", "reason": "No such channel"}
    assert shape(decoded[6]) == shape(
        json.loads((FIXTURES / "listcalls_response.json").read_text())
    )
    missing_target = refused("311", "Destination extension not found")
    assert decoded[7] == decoded[8] == decoded[10] == missing_target
    # The documented `dstSipUsernamem` is misspelt, so the target is missing.
    assert decoded[9] == refused("120", "Missing required parameters")
    assert shape(decoded[11]) == shape(
        json.loads((FIXTURES / "sipstatus_response.json").read_text())
    )
    assert decoded[12:18] == [SUCCESS] * 6  # login, logout, pause, unpause, add, remove
    assert answers[18] in documented_agent_statuses()
    assert shape(decoded[19]) == shape(
        json.loads((FIXTURES / "queuestatus_response.json").read_text())
    )
    assert decoded[20:] == [refused("800", "CDR record not found!")] * 3
    assert [r.endpoint for r in running.sim.requests_for("voipsun")] == [
        dict(parse_qsl(urlsplit(url).query))["action"]
        for url in (FIXTURES / "example_requests.txt").read_text().splitlines()
    ]


# --- originate and dial ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("srcExtenPublicNum", "299299001"),
        ("srcExtenInternalNum", "102"),
        ("srcExtenId", "2"),
        ("srcSipUsername", "sip102"),
    ],
)
async def test_originate_from_each_kind_of_source(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, param: str, value: str
) -> None:
    answer = await ask(session, pbx_simulator, "originate", dstNum="800123456", **{param: value})
    assert answer == SUCCESS
    (call,) = pbx_simulator.state.active_calls()
    assert (call.caller, call.callee, call.line_id, call.agent_id) == (
        "102",
        "+420800123456",
        "2",
        "2",
    )
    assert call.status is CallStatus.RINGING


async def test_originate_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    conflict = await ask_text(
        session,
        pbx_simulator,
        "originate",
        dstNum="800123456",
        srcExtenInternalNum="101",
        srcSipUsername="sip101",
    )
    assert conflict == (FIXTURES / "originate_conflict_error.json").read_text().strip()
    missing = refused("120", "Missing required parameters")
    assert await ask(session, pbx_simulator, "originate", srcExtenInternalNum="101") == missing
    assert await ask(session, pbx_simulator, "originate", dstNum="800123456") == missing
    source = {"dstNum": "800123456", "srcExtenInternalNum": "101"}
    assert await ask(
        session, pbx_simulator, "originate", **{**source, "srcExtenInternalNum": "999"}
    ) == refused("202", "Extension not found")
    assert await ask(
        session, pbx_simulator, "originate", dialplanName="other", **source
    ) == refused("203", "Dialplan not found")
    assert pbx_simulator.state.active_calls() == []
    assert await ask(session, pbx_simulator, "originate", dialplanName="default", **source) == (
        SUCCESS
    )


async def test_an_internal_number_of_two_dialplans(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Several lines with one internal number need the dialplan's name (V:34, V:228, V:238,
    V:329): errnos 201, 302, 310 and 502 without it."""
    state, sim = pbx_simulator.state, voipsun(pbx_simulator)
    state.lines["6"].name = "101"
    sim.sip_users["6"] = "sip101b"
    sim.line_dialplans["6"] = "pobocka"
    dial = {"dstNum": "800123456", "srcExtenInternalNum": "101"}
    assert await ask(session, pbx_simulator, "originate", **dial) == refused(
        "201", "Parameter dialPlanName missing"
    )
    assert await ask(session, pbx_simulator, "agentlogin", **dial, **agent_params()) == refused(
        "502", "Parameter dialPlanName missing"
    )
    assert await ask(
        session, pbx_simulator, "spying", srcExtenInternalNum="101", dstExtenId="2"
    ) == refused("302", "Source parameter srcDialplanName missing")
    assert await ask(
        session, pbx_simulator, "spying", srcExtenId="2", dstExtenInternalNum="101"
    ) == refused("310", "Destination parameter dstDialplanName missing")
    assert state.active_calls() == []
    for dialplan, line_id in (("pobocka", "6"), ("default", "1")):
        answer = await ask(session, pbx_simulator, "originate", dialplanName=dialplan, **dial)
        assert answer == SUCCESS
        assert state.active_calls()[-1].line_id == line_id
    assert await ask(session, pbx_simulator, "originate", dialplanName="jiny", **dial) == refused(
        "203", "Dialplan not found"
    )


async def test_originate_line_checks(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    line = state.lines["1"]
    source = {"dstNum": "800123456", "srcExtenInternalNum": "101"}
    assert await ask(
        session, pbx_simulator, "originate", checkIpHost="198.51.100.7", **source
    ) == refused(
        "210",
        f"SIP host IP address mismatch. Channel SIP/sip101 is registered from IP {line.ip} "
        "but requested IP address is 198.51.100.7",
    )
    assert await ask(
        session, pbx_simulator, "originate", checkIpContact="198.51.100.7", **source
    ) == refused(
        "211",
        "SIP host contact IP address mismatch. Contact IP address of the channel SIP/sip101 "
        f"is {line.ip}, but requested IP address is 198.51.100.7",
    )
    state.agents["1"].status = AgentStatus.RINGING
    assert await ask(session, pbx_simulator, "originate", checkExten="1", **source) == refused(
        "224", "SIP channel status - Line is ringing"
    )
    state.agents["1"].status = AgentStatus.IN_CALL
    assert await ask(session, pbx_simulator, "originate", checkExten="1", **source) == refused(
        "226", "SIP channel status - Line is up"
    )
    state.set_registered("1", False)
    assert await ask(session, pbx_simulator, "originate", checkExten="1", **source) == refused(
        "220", "SIP channel is unreacheable"
    )
    assert state.active_calls() == []
    state.set_registered("1", True)
    state.agents["1"].status = AgentStatus.IDLE
    checks = {"checkExten": "1", "checkIpHost": line.ip, "checkIpContact": line.ip}
    assert await ask(session, pbx_simulator, "originate", **checks, **source) == SUCCESS


async def test_dial_through_an_outgoing_route(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    dial = {"dstNum": "00421900123456", "context": "pospojeni"}
    assert await ask(session, pbx_simulator, "dial", outrouteId="1", dialerCid="299299000", **dial)
    (call,) = state.active_calls()
    trunk = voipsun(pbx_simulator).first_trunk()
    assert trunk is not None
    assert (call.caller, call.callee, call.line_id) == ("299299000", "+421900123456", trunk.id)
    assert (
        await ask(
            session, pbx_simulator, "dial", outrouteName="odchozi", overrideCallerId="777", **dial
        )
        == SUCCESS
    )
    assert state.active_calls()[-1].caller == "777"
    assert len(state.active_calls()) == 2


async def test_dial_refusals_and_unknown_context(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    not_found = refused("250", "Outroute not found!")
    missing = refused("120", "Missing required parameters")
    dial = {"dstNum": "800123456", "context": "pospojeni"}
    assert await ask(session, pbx_simulator, "dial", outrouteName="jinam", **dial) == not_found
    assert await ask(session, pbx_simulator, "dial", outrouteId="9", **dial) == not_found
    # Only one of outrouteName and outrouteId (V:117), even when both name the same route.
    for name in ("jinam", "odchozi"):
        assert (
            await ask(session, pbx_simulator, "dial", outrouteId="1", outrouteName=name, **dial)
            == not_found
        )
    assert await ask(session, pbx_simulator, "dial", **dial) == missing
    assert await ask(session, pbx_simulator, "dial", outrouteId="1", dstNum="1") == missing
    # A context Asterisk does not know: the API says yes, but nothing is dialled.
    answer = await ask(
        session, pbx_simulator, "dial", outrouteId="1", dstNum="800123456", context="nikde"
    )
    assert answer == SUCCESS
    assert pbx_simulator.state.active_calls() == []


async def test_dial_without_a_trunk(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    running, runner = await start_simulator(SimState(seed=1, trunks=0))
    try:
        answer = await ask(
            session, running, "dial", outrouteId="1", dstNum="800123456", context="pospojeni"
        )
        assert answer == SUCCESS
        (call,) = running.state.active_calls()
        assert call.line_id is None
        (row,) = (await ask(session, running, "listcalls"))["results"]
        assert (row["sourceType"], row["idChannel"]) == ("trunk", "0")
    finally:
        await runner.cleanup()


# --- calls -------------------------------------------------------------------------------------


async def test_listcalls_rows(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Each leg of a call is a row (V:201): an external call on a line is two of them."""
    state = pbx_simulator.state
    state.freeze_clock()
    queued = state.incoming_call("+420601111222", queue_id="1")
    answered = state.incoming_call("+421900111222", agent_id="2")
    state.answer(answered.id)
    state.now_offset += timedelta(seconds=30)
    placed = state.originate("103", "+420800123456", agent_id="3", line_id="3")
    text = await ask_text(session, pbx_simulator, "listcalls")
    assert "SIP/" in text  # listcalls does not escape slashes
    answer = json.loads(text)
    assert (answer["success"], answer["total"]) == ("true", "4")
    trunk = voipsun(pbx_simulator).first_trunk()
    assert trunk is not None
    waiting, outside, inside, ringing = answer["results"]
    assert waiting == {
        "channelName": f"SIP/{trunk.name}-{queued.channel.rpartition('-')[2]}",
        "context": "incomingRouteApp-1",
        "src": "601111222",
        "dst": state.queues["1"].number,
        "duration": "30",
        "status": "Up",
        "accountCode": f"SIPTR_{trunk.id}",
        "sourceType": "trunk",
        "idChannel": trunk.id,
    }
    # The answered call from outside: the trunk's leg and the extension's, as in V:201.
    assert outside["channelName"] == f"SIP/{trunk.name}-{answered.channel.rpartition('-')[2]}"
    assert (outside["src"], outside["dst"], outside["sourceType"]) == (
        "00421900111222",
        state.numbers["1"].number,
        "trunk",
    )
    assert inside["channelName"].startswith("SIP/sip102-")
    assert (inside["src"], inside["dst"], inside["status"], inside["accountCode"]) == (
        "00421900111222",
        "102",
        "Up",
        "SIP_2",
    )
    assert inside["duration"] == outside["duration"]
    # A call the PBX places rings the line first: the trunk's leg comes with the answer.
    assert ringing["channelName"] == f"SIP/sip103-{placed.channel.rpartition('-')[2]}"
    assert (ringing["context"], ringing["status"], ringing["dst"], ringing["duration"]) == (
        "extensions-dialplanid-1",
        "Ringing",
        "800123456",
        "0",
    )
    state.answer(placed.id)
    answer = await ask(session, pbx_simulator, "listcalls")
    line, dialled = answer["results"][3:]
    assert (line["channelName"], line["status"]) == (ringing["channelName"], "Up")
    assert (dialled["src"], dialled["dst"], dialled["sourceType"]) == (
        "299299002",  # line 3's public number, shown to the person called
        "800123456",
        "trunk",
    )


async def test_hangupcall_by_either_leg(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state, sim = pbx_simulator.state, voipsun(pbx_simulator)
    calls = [state.incoming_call("+420601111222", agent_id=agent) for agent in ("1", "2")]
    for call in calls:
        state.answer(call.id)
    first_legs, second_legs = (sim.legs(call) for call in calls)
    assert [leg.on_trunk for leg in first_legs] == [True, False]
    channel = first_legs[1].channel
    assert await ask(session, pbx_simulator, "hangupcall", channelName=channel) == SUCCESS
    assert calls[0].status is CallStatus.ENDED
    channel = second_legs[0].channel
    assert await ask(session, pbx_simulator, "hangupcall", channelName=channel) == SUCCESS
    assert calls[1].status is CallStatus.ENDED


async def test_hangupcall(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    call = state.incoming_call("+420601111222", queue_id="1")
    assert await ask(session, pbx_simulator, "hangupcall") == refused(
        "400", "Parameter channelName is empty"
    )
    assert await ask(session, pbx_simulator, "hangupcall", channelName="SIP/x-1") == {
        "success": "false",
        "reason": "No such channel",
    }
    channel = voipsun(pbx_simulator).channel_name(call)
    assert await ask(session, pbx_simulator, "hangupcall", channelName=channel) == SUCCESS
    assert call.status is CallStatus.ENDED
    assert state.queues["1"].abandoned == 1


# --- spying ------------------------------------------------------------------------------------


async def test_spying(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    sim, state = voipsun(pbx_simulator), pbx_simulator.state
    call = state.incoming_call("+420601111222", agent_id="2")
    channel = sim.channel_name(call)
    assert (
        await ask(session, pbx_simulator, "spying", srcExtenId="1", dstChannelName=channel)
        == SUCCESS
    )
    assert (
        await ask(session, pbx_simulator, "spying", srcExtenId="1", dstSipUsername="sip103")
        == SUCCESS
    )
    # The extension's leg of the call is a channel to listen to as well (V:240).
    state.answer(call.id)
    extension_leg = sim.legs(call)[1].channel
    assert (
        await ask(session, pbx_simulator, "spying", srcExtenId="1", dstChannelName=extension_leg)
        == SUCCESS
    )
    assert sim.spy_sessions == [("1", channel), ("1", "sip103"), ("1", extension_leg)]
    one_source = json.loads((FIXTURES / "originate_conflict_error.json").read_text())
    assert await ask(session, pbx_simulator, "spying", srcExtenId="1", srcSipUsername="sip101") == {
        **one_source,
        "errno": "300",
    }
    assert await ask(
        session,
        pbx_simulator,
        "spying",
        srcExtenId="1",
        dstExtenId="2",
        dstChannelName=channel,
    ) == refused(
        "301",
        "Use only one of next variables: dstExtenPublicNum, dstExtenInternalNum, dstExtenId, "
        "dstSipUsername, dstChannelName",
    )
    assert await ask(session, pbx_simulator, "spying", srcExtenId="99", dstExtenId="2") == refused(
        "303", "Source extension not found"
    )
    assert await ask(
        session, pbx_simulator, "spying", srcExtenId="1", srcDialplanName="x", dstExtenId="2"
    ) == refused("304", "Source dialplan not found")
    assert await ask(
        session, pbx_simulator, "spying", srcExtenId="1", dstDialplanName="x", dstExtenId="2"
    ) == refused("312", "Destination dialplan not found")
    assert await ask(
        session, pbx_simulator, "spying", srcExtenId="1", dstChannelName="SIP/x-1"
    ) == refused("311", "Destination extension not found")


# --- registrations -----------------------------------------------------------------------------


async def test_sipstatus(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    state.set_registered("2", False)
    trunk = voipsun(pbx_simulator).first_trunk()
    assert trunk is not None
    text = await ask_text(session, pbx_simulator, "sipstatus")
    # Written as the documentation shows it: spaces inside the list, escaped slashes.
    assert text.startswith('{"total":7,"results":[ {"id":12,"type":"extension_line"')
    assert text.endswith('} ],"success":true,"_debug":false}')
    answer = json.loads(text)
    rows = {row["user"]: row for row in answer["results"]}
    line = state.lines["1"]
    assert rows["sip101"] == {
        "id": 12,
        "type": "extension_line",
        "user": "sip101",
        "host": line.ip,
        "port": str(line.port),
        "status": "OK (6 ms)",
        "useragent": line.user_agent,
        "regcontact": f"sip:sip101@{line.ip}:{line.port}",
        "registry": None,
        "extension_line_id": "1",
    }
    if "/" in line.user_agent:
        assert line.user_agent.replace("/", "\\/") in text
    assert rows["sip102"] | {"id": 0} == {
        "id": 0,
        "type": "extension_line",
        "user": "sip102",
        "host": "(Unspecified)",
        "port": "0",
        "status": "UNKNOWN",
        "useragent": "",
        "regcontact": "",
        "registry": None,
        "extension_line_id": "2",
    }
    assert rows[trunk.name]["type"] == "sip"
    assert rows[trunk.name]["sip_id"] == trunk.id
    assert rows[trunk.name]["id"] == int(trunk.id) * 10 + 1
    state.set_registered(trunk.id, False)
    answer = await ask(session, pbx_simulator, "sipstatus")
    assert {row["user"]: row for row in answer["results"]}[trunk.name]["status"] == "UNREACHABLE"


# --- call centre -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "errno", "extra"),
    [
        ("agentlogin", "500", {"srcExtenInternalNum": "101"}),
        ("agentlogout", "550", {}),
        ("agentpause", "580", {}),
        ("agentunpause", "590", {}),
        ("agentadd", "601", {"queueName": "Sales", "penalty": "1"}),
        ("agentremove", "611", {"queueName": "Sales"}),
        ("agentstatus", "620", {}),
    ],
)
async def test_agent_actions_check_number_and_pin(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    action: str,
    errno: str,
    extra: dict[str, str],
) -> None:
    bad = refused(errno, "Agent not found, or bad authorization credentials!")
    assert await ask(session, pbx_simulator, action, **extra, **agent_params(pin="9999")) == bad
    assert await ask(session, pbx_simulator, action, **extra, **agent_params("5555")) == bad
    assert await ask(session, pbx_simulator, action, **extra, agentNumber="1000") == refused(
        "120", "Missing required parameters"
    )


async def test_agent_login_logout_pause(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim, state = voipsun(pbx_simulator), pbx_simulator.state
    agent = state.agents["1"]
    assert await ask(session, pbx_simulator, "agentlogout", **agent_params()) == SUCCESS
    assert not is_logged_in(state, "1")
    assert (
        await ask(session, pbx_simulator, "agentlogin", srcSipUsername="sip206", **agent_params())
        == SUCCESS
    )
    assert is_logged_in(state, "1")
    assert sim.login_line(agent) is state.lines["6"]
    assert await ask(session, pbx_simulator, "agentpause", **agent_params()) == SUCCESS
    assert is_paused(state, "1")
    assert await ask(session, pbx_simulator, "agentunpause", **agent_params()) == SUCCESS
    assert not is_paused(state, "1")
    del state.lines["6"]  # a login line that is gone: the agent's own line again
    assert sim.login_line(agent) is state.lines["1"]


async def test_agent_login_line_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    assert await ask(
        session,
        pbx_simulator,
        "agentlogin",
        srcExtenId="1",
        srcExtenInternalNum="101",
        **agent_params(),
    ) == refused(
        "501",
        "Use only one of next variables: srcExtenPublicNum, srcExtenInternalNum, srcExtenId, "
        "srcSipUsername.",
    )
    assert await ask(
        session, pbx_simulator, "agentlogin", srcExtenId="99", **agent_params()
    ) == refused("503", "Extension not found")
    assert await ask(
        session, pbx_simulator, "agentlogin", srcExtenId="1", dialplanName="x", **agent_params()
    ) == refused("504", "Dialplan not found")


async def test_agent_add_and_remove(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    assert "2" not in state.agents["2"].queue_ids
    assert (
        await ask(
            session,
            pbx_simulator,
            "agentadd",
            queueName="Support",
            penalty="3",
            **agent_params("1001", "1002"),
        )
        == SUCCESS
    )
    assert "2" in state.agents["2"].queue_ids
    assert voipsun(pbx_simulator).penalties["2", "2"] == "3"
    assert (
        await ask(
            session,
            pbx_simulator,
            "agentremove",
            queueName="Support",
            **agent_params("1001", "1002"),
        )
        == SUCCESS
    )
    assert "2" not in state.agents["2"].queue_ids
    assert await ask(
        session, pbx_simulator, "agentadd", queueName="FrontaABC", penalty="1", **agent_params()
    ) == refused("600", "Queue FrontaABC not found!")
    assert await ask(
        session, pbx_simulator, "agentremove", queueName="FrontaABC", **agent_params()
    ) == refused("610", "Queue FrontaABC not found!")
    assert await ask(session, pbx_simulator, "agentadd", **agent_params()) == refused(
        "120", "Missing required parameters"
    )
    # penalty is listed without "nepovinný" (V:461): required.
    assert await ask(
        session, pbx_simulator, "agentadd", queueName="Sales", **agent_params()
    ) == refused("120", "Missing required parameters")


async def test_queuestatus_shows_the_penalty_agentadd_gave(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """A member's `penalty` (V:564) is the one agentadd set (V:461), until agentremove."""
    state = pbx_simulator.state
    agent = agent_params("1001", "1002")
    add = {"queueName": "Support", "penalty": "7"}
    assert await ask(session, pbx_simulator, "agentadd", **add, **agent) == SUCCESS
    (support,) = (await ask(session, pbx_simulator, "queuestatus", queueName="Support"))["results"]
    assert support["members"][state.agents["2"].name]["penalty"] == "7"
    (sales,) = (await ask(session, pbx_simulator, "queuestatus", queueName="Sales"))["results"]
    assert sales["members"][state.agents["2"].name]["penalty"] == "1"  # not added by the API
    remove = {"queueName": "Support"}
    assert await ask(session, pbx_simulator, "agentremove", **remove, **agent) == SUCCESS
    state.queue_login("2", "2")
    (support,) = (await ask(session, pbx_simulator, "queuestatus", queueName="Support"))["results"]
    assert support["members"][state.agents["2"].name]["penalty"] == "1"


async def test_agentstatus_bodies_are_the_documented_ones(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    voipsun(pbx_simulator).line_state_errnos = False
    documented = documented_agent_statuses()
    seen = []
    for status in (AgentStatus.IDLE, AgentStatus.RINGING, AgentStatus.IN_CALL, AgentStatus.ON_HOLD):
        state.agents["1"].status = status
        seen.append(await ask_text(session, pbx_simulator, "agentstatus", **agent_params()))
    state.set_registered("1", False)
    seen.append(await ask_text(session, pbx_simulator, "agentstatus", **agent_params()))
    state.agent_logout("1")
    seen.append(await ask_text(session, pbx_simulator, "agentstatus", **agent_params()))
    assert [documented.index(body) for body in seen] == [0, 4, 2, 5, 3, 7]
    with pytest.raises(ValueError, match="Expecting"):
        json.loads(seen[0])  # as documented: not JSON


async def test_agentstatus_line_errnos(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """By default a line that is not free is an errno of V:761-773, as the table lists."""
    state = pbx_simulator.state
    answers = []
    for status in (AgentStatus.RINGING, AgentStatus.IN_CALL, AgentStatus.ON_HOLD):
        state.agents["1"].status = status
        answers.append(await ask(session, pbx_simulator, "agentstatus", **agent_params()))
    state.set_registered("1", False)
    answers.append(await ask(session, pbx_simulator, "agentstatus", **agent_params()))
    assert answers == [
        refused("633", "Line is ringing"),
        refused("636", "Line is busy"),
        refused("634", "Line in On hold"),
        refused("631", "Line is unavailable'"),
    ]
    state.set_registered("1", True)
    state.agents["1"].status = AgentStatus.IDLE
    assert (
        await ask_text(session, pbx_simulator, "agentstatus", **agent_params())
        == (documented_agent_statuses()[0])
    )


async def test_agentstatus_without_a_line(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    running, runner = await start_simulator(SimState(seed=1, agents=3, lines=1))
    try:
        voipsun(running).line_state_errnos = False
        text = await ask_text(session, running, "agentstatus", **agent_params("1002", "1003"))
        assert text == '{"success":"true":"reason":"Agent 1002 is logged in. Line is unavailable"}'
        (queue,) = (await ask(session, running, "queuestatus", queueName="Sales"))["results"]
        member = queue["members"][running.state.agents["3"].name]
        assert (member["loggedFrom"], member["status"]) == ("", "5")
    finally:
        await runner.cleanup()


# --- queues ------------------------------------------------------------------------------------


async def test_queuestatus(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    sales = state.queues["1"]
    first = state.incoming_call("+420999555444", queue_id="1")
    state.now_offset += timedelta(seconds=7)
    state.incoming_call("+420999555666", queue_id="1")
    answered = state.incoming_call("+420999444555", queue_id="1")
    state.answer(answered.id, "2")
    state.hangup(answered.id)
    state.agent_pause("3")
    state.agent_logout("4")
    text = await ask_text(session, pbx_simulator, "queuestatus", queueName="Sales")
    assert "Local\\/1000@extensions-dialplanid-1" in text  # PHP escapes slashes
    (row,) = json.loads(text)["results"]
    assert {k: row[k] for k in row if k not in ("members", "waiters")} == {
        "queueName": "Sales",
        "max": "0",
        "strategy": sales.strategy,
        "calls": "2",
        "holdTime": "0",
        "talkTime": "0",
        "completed": "1",
        "abandoned": "0",
        "serviceLevel": "20",
        "serviceLevelPerf": "100.0",
        "weight": "0",
    }
    names = {state.agents[i].name: i for i in sales.member_ids}
    assert set(row["members"]) == {state.agents[i].name for i in ("1", "2", "3", "5")}
    member = row["members"][state.agents["1"].name]
    assert member == {
        "agentName": state.agents["1"].name,
        "channelStatus": "Line is free",
        "location": "Local/1000@extensions-dialplanid-1",
        "loggedFrom": "SIP/sip101",
        "membership": "dynamic",
        "penalty": "1",
        "callsTaken": "0",
        "lastCall": "0",
        "isInCall": "0",
        "status": "1",
        "paused": "0",
    }
    assert row["members"][state.agents["3"].name]["paused"] == "1"
    taken = row["members"][state.agents["2"].name]
    assert taken["callsTaken"] == "1"
    assert taken["lastCall"] != "0"
    assert set(names) >= set(row["members"])
    assert row["waiters"]["1"] == {
        "position": "1",
        "channel": voipsun(pbx_simulator).channel_name(first),
        "uniqueid": f"{int(first.created.timestamp())}.{first.id}",
        "callerIdNum": "999555444",
        "callerIdName": "999555444",
        "connectedLineNum": None,
        "connectedLineName": None,
        "wait": "7",
    }
    assert row["waiters"]["2"]["wait"] == "0"


async def test_queuestatus_needs_a_known_queue_name(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """queueName is required (V:554); an unknown one answers as agentadd's (V:741)."""
    state = pbx_simulator.state
    state.agents["1"].status = AgentStatus.IN_CALL
    for agent_id in list(state.queues["2"].member_ids):
        state.queue_logout(agent_id, "2")
    assert await ask(session, pbx_simulator, "queuestatus") == refused(
        "120", "Missing required parameters"
    )
    text = await ask_text(session, pbx_simulator, "queuestatus", queueName="Support")
    assert '"members":[],"waiters":[]' in text  # PHP's empty arrays
    (support,) = json.loads(text)["results"]
    assert support["queueName"] == "Support"
    (sales,) = (await ask(session, pbx_simulator, "queuestatus", queueName="Sales"))["results"]
    busy = sales["members"][state.agents["1"].name]
    assert (busy["channelStatus"], busy["isInCall"], busy["status"]) == ("Line is busy", "1", "2")
    assert await ask(session, pbx_simulator, "queuestatus", queueName="FrontaABC") == refused(
        "600", "Queue FrontaABC not found!"
    )


async def test_queuestatus_average_times(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    for wait, talk in ((4, 30), (8, 50)):
        call = state.incoming_call("+420601111222", queue_id="1")
        state.now_offset += timedelta(seconds=wait)
        state.answer(call.id, "1")
        state.now_offset += timedelta(seconds=talk)
        state.hangup(call.id)
    (row,) = (await ask(session, pbx_simulator, "queuestatus", queueName="Sales"))["results"]
    assert (row["holdTime"], row["talkTime"], row["completed"]) == ("6", "40", "2")


async def test_denied_actions_and_unmonitored_lines(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim = voipsun(pbx_simulator)
    sim.denied_actions.add("queuestatus")
    assert await ask(session, pbx_simulator, "queuestatus", queueName="Sales") == refused(
        "100", "Unauthorized user or bad permissions"
    )
    assert (await ask(session, pbx_simulator, "listcalls"))["success"] == "true"
    trunk = sim.first_trunk()
    assert trunk is not None
    sim.unmonitored.add(trunk.id)
    rows = {row["user"]: row for row in (await ask(session, pbx_simulator, "sipstatus"))["results"]}
    assert rows[trunk.name]["status"] == "Unmonitored"
    assert rows["sip101"]["status"].startswith("OK (")


# --- recordings --------------------------------------------------------------------------------


async def test_moverecord(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    call = state.originate("101", "+420800123456", agent_id="1")
    cdr = {"cdrId": call.id}
    assert await ask(session, pbx_simulator, "moverecord", **cdr) == refused(
        "120", "Missing required parameters"
    )
    assert await ask(session, pbx_simulator, "moverecord", cdrId="1", path="/mnt") == refused(
        "800", "CDR record not found!"
    )
    assert await ask(session, pbx_simulator, "moverecord", path="/mnt", **cdr) == refused(
        "801", "CDR not contain any information about audio record!"
    )
    call.recording = "/var/spool/asterisk/monitor/call.wav"
    assert await ask(session, pbx_simulator, "moverecord", path="/mnt/nas/", **cdr) == SUCCESS
    assert call.recording == "/mnt/nas/call.wav"
    assert await ask(session, pbx_simulator, "moverecord", filename="new.wav", **cdr) == SUCCESS
    assert call.recording == "/mnt/nas/new.wav"
