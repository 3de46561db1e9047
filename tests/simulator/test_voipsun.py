"""The VoIPSUN PBX simulation answers as shared/provider-docs/voipsun-pbx.txt shows."""

from __future__ import annotations

from collections.abc import AsyncGenerator
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


def voipsun(running: RunningSimulator) -> VoipsunSim:
    sim = running.sim.providers["voipsun"]
    assert isinstance(sim, VoipsunSim)
    return sim


def api_url(running: RunningSimulator) -> str:
    return f"{running.config['voipsun']['base_url']}/api/api.php"


async def ask_text(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    action: str,
    *,
    credentials: dict[str, str] | None = None,
    **params: str,
) -> str:
    query = {**(CREDENTIALS if credentials is None else credentials), "action": action, **params}
    async with session.get(api_url(running), params=query) as response:
        assert response.status == 200  # errors too: they are in the body
        assert response.content_type == "application/json"
        return await response.text()


async def ask(
    session: aiohttp.ClientSession, running: RunningSimulator, action: str, **params: str
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
        text = await ask_text(session, pbx_simulator, action, credentials=credentials)
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
    text = await ask_text(session, pbx_simulator, "listcalls", credentials=fresh)
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
