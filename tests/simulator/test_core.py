"""The simulator's shared parts: state model, control API, request log, faults, CLI."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp import web
import pytest

from pbx_simulator import SimState
from pbx_simulator.__main__ import main
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.state import AgentStatus, CallStatus, SimError
from pbx_simulator.testing import RunningSimulator, start_simulator

# A command every provider test below can reach: Yemot's queue state, JSON over GET.
PROBE_PROVIDER = "yemot"
PROBE_ENDPOINT = "GetQueueRealTime"


def test_seed_makes_the_same_account() -> None:
    first, second = SimState(seed=7), SimState(seed=7)
    assert first.to_json() == second.to_json()
    assert SimState(seed=8).to_json()["agents"] != first.to_json()["agents"]


def test_sizes_and_memberships() -> None:
    state = SimState(seed=1, agents=20, queues=3, lines=25, trunks=2)
    assert len(state.agents) == 20
    assert len(state.queues) == 3
    assert sum(line.kind == "trunk" for line in state.lines.values()) == 2
    assert len(state.lines) == 27
    assert all(agent.queue_ids for agent in state.agents.values())


def test_queued_call_answered_then_completed() -> None:
    state = SimState(seed=1)
    events: list[str] = []
    state.subscribe(lambda event: events.append(event.kind))
    call = state.incoming_call("+420777000111", queue_id="1")
    assert call.status is CallStatus.QUEUED
    assert state.waiting_calls("1") == [call]
    state.answer(call.id, "1")
    assert state.agents["1"].status is AgentStatus.IN_CALL
    state.hangup(call.id)
    assert state.queues["1"].completed == 1
    assert state.queues["1"].abandoned == 0
    assert state.agents["1"].status is AgentStatus.IDLE
    assert events == ["call.incoming", "call.queued", "call.answered", "call.hangup"]


def test_unanswered_queued_call_is_abandoned() -> None:
    state = SimState(seed=1)
    call = state.incoming_call("+420777000111", queue_id="2")
    state.hangup(call.id)
    assert state.queues["2"].abandoned == 1
    assert not state.active_calls()
    assert state.hangup(call.id, missing_ok=True) is None
    with pytest.raises(SimError):
        state.hangup(call.id)


def test_transfer_hold_and_refusals() -> None:
    state = SimState(seed=1)
    call = state.incoming_call("+420777000111", agent_id="1")
    with pytest.raises(SimError):
        state.hold(call.id)
    state.answer(call.id)
    state.hold(call.id)
    assert state.agents["1"].status is AgentStatus.ON_HOLD
    state.hold(call.id, on_hold=False)
    state.transfer(call.id, state.agents["2"].extension)
    assert call.agent_id == "2"
    assert state.agents["1"].status is AgentStatus.IDLE
    assert state.agents["2"].status is AgentStatus.IN_CALL
    with pytest.raises(SimError):
        state.answer(call.id)
    with pytest.raises(SimError):
        state.agent_pause("1", "No such pause")
    with pytest.raises(SimError):
        state.incoming_call("+420777000111", queue_id="99")


def test_add_and_remove_objects() -> None:
    state = SimState(seed=1)
    agent = state.add_agent("Test Agent")
    state.queue_login(agent.id, "1")
    line = state.add_line(agent_id=agent.id)
    assert line.name == agent.extension
    state.remove_agent(agent.id)
    assert agent.id not in state.queues["1"].member_ids
    assert line.agent_id is None
    state.remove_line(line.id)
    state.remove_queue("1")
    assert all("1" not in a.queue_ids for a in state.agents.values())


async def test_automatic_timings_progress_calls() -> None:
    state = SimState(seed=1)
    state.timings.auto = True
    state.timings.ring_seconds = 0.01
    state.timings.talk_seconds = 0.01
    state.timings.answer_probability = 1.0
    call = state.incoming_call("+420777000111", queue_id="1")
    for _ in range(100):
        if call.status is CallStatus.ENDED:
            break
        await asyncio.sleep(0.01)
    assert call.was_answered
    assert call.status is CallStatus.ENDED
    state.cancel_timers()


def test_random_activity_is_deterministic() -> None:
    first, second = SimState(seed=3), SimState(seed=3)
    for state in (first, second):
        for _ in range(30):
            state.random_step()
    assert first.to_json() == second.to_json()


async def _json(session: aiohttp.ClientSession, method: str, url: str, **kwargs: object) -> object:
    async with session.request(method, url, **kwargs) as response:  # type: ignore[arg-type]
        assert response.status < 300, await response.text()
        return await response.json()


async def test_control_api_scripts_a_call(pbx_simulator: RunningSimulator) -> None:
    base = f"{pbx_simulator.origin}/_sim"
    async with aiohttp.ClientSession() as session:
        created = await _json(
            session, "POST", f"{base}/calls", json={"caller": "+420777000111", "queue_id": "1"}
        )
        call_id = created["result"]["id"]  # type: ignore[index]
        await _json(session, "POST", f"{base}/calls/{call_id}/answer", json={"agent_id": "2"})
        await _json(session, "POST", f"{base}/calls/{call_id}/hold", json={"on": True})
        await _json(
            session, "POST", f"{base}/calls/{call_id}/transfer", json={"destination": "103"}
        )
        await _json(session, "POST", f"{base}/calls/{call_id}/hangup")
        out = await _json(
            session,
            "POST",
            f"{base}/calls",
            json={"direction": "out", "caller": "101", "callee": "+420222", "agent_id": "1"},
        )
        assert out["result"]["direction"] == "out"  # type: ignore[index]
        state = await _json(session, "GET", f"{base}/state")
        calls = {c["id"]: c for c in state["calls"]}  # type: ignore[index]
        assert calls[call_id]["status"] == "ended"
        assert calls[call_id]["transferred_to"] == "103"
        async with session.post(f"{base}/calls/{call_id}/answer") as response:
            assert response.status == 409
        async with session.post(f"{base}/calls/{call_id}/dance") as response:
            assert response.status == 404
        async with session.post(f"{base}/calls", json={"queue_id": "1"}) as response:
            assert response.status == 400


async def test_control_api_changes_objects(pbx_simulator: RunningSimulator) -> None:
    base = f"{pbx_simulator.origin}/_sim"
    state = pbx_simulator.state
    async with aiohttp.ClientSession() as session:
        agent = await _json(session, "POST", f"{base}/agents", json={"name": "New Agent"})
        agent_id = agent["result"]["id"]  # type: ignore[index]
        await _json(
            session,
            "PATCH",
            f"{base}/agents/{agent_id}",
            json={"paused": True, "pause_reason": "Lunch"},
        )
        assert state.agents[agent_id].pause_reason == "Lunch"
        await _json(
            session,
            "PATCH",
            f"{base}/agents/{agent_id}",
            json={"paused": False, "logged_in": False, "status": "wrap_up"},
        )
        assert not state.agents[agent_id].logged_in
        assert state.agents[agent_id].status is AgentStatus.WRAP_UP
        await _json(session, "PATCH", f"{base}/agents/{agent_id}", json={"logged_in": True})
        await _json(session, "DELETE", f"{base}/agents/{agent_id}")
        assert agent_id not in state.agents
        queue = await _json(session, "POST", f"{base}/queues", json={"name": "Night"})
        await _json(session, "DELETE", f"{base}/queues/{queue['result']['id']}")  # type: ignore[index]
        line = await _json(session, "POST", f"{base}/lines", json={"kind": "trunk"})
        line_id = line["result"]["id"]  # type: ignore[index]
        await _json(session, "PATCH", f"{base}/lines/{line_id}", json={"registered": False})
        assert not state.lines[line_id].registered
        await _json(session, "DELETE", f"{base}/lines/{line_id}")
        sms = await _json(
            session,
            "POST",
            f"{base}/sms",
            json={"sender": "+420777000111", "recipient": "245008328", "text": "Hi"},
        )
        assert state.sms[sms["result"]["id"]].text == "Hi"  # type: ignore[index]
        await _json(session, "POST", f"{base}/credentials", json={"yemot": {"token": "1:2"}})
        assert state.credentials["yemot"]["token"] == "1:2"
        await _json(session, "POST", f"{base}/timings", json={"ring_seconds": 1.5})
        assert state.timings.ring_seconds == 1.5
        async with session.post(f"{base}/timings", json={"nope": 1}) as response:
            assert response.status == 400
        async with session.post(f"{base}/sms", json=[1]) as response:
            assert response.status == 400
        config = await _json(session, "GET", f"{base}/config")
        assert set(config) == {"telfa", "daktela", "daktela_v6", "odorik", "yemot", "voipsun"}  # type: ignore[arg-type]
        assert await _json(session, "GET", f"{base}/webhooks") == []


async def _probe(
    running: RunningSimulator, session: aiohttp.ClientSession
) -> tuple[int, bytes, dict[str, str]]:
    url = f"{running.config[PROBE_PROVIDER]['base_url']}/{PROBE_ENDPOINT}"
    params = {k: v for k, v in running.config[PROBE_PROVIDER].items() if k != "base_url"}
    async with session.get(url, params=params) as response:
        return response.status, await response.read(), dict(response.headers)


async def test_request_log_and_counters(pbx_simulator: RunningSimulator) -> None:
    base = f"{pbx_simulator.origin}/_sim"
    async with aiohttp.ClientSession() as session:
        await _probe(pbx_simulator, session)
        await _probe(pbx_simulator, session)
        counters = await _json(session, "GET", f"{base}/counters")
        assert counters == [{"provider": PROBE_PROVIDER, "endpoint": PROBE_ENDPOINT, "count": 2}]
        logged = await _json(session, "GET", f"{base}/requests", params={"provider": "yemot"})
        assert [r["endpoint"] for r in logged] == [PROBE_ENDPOINT] * 2  # type: ignore[index, union-attr]
        assert pbx_simulator.sim.count(PROBE_PROVIDER) == 2
        assert len(pbx_simulator.sim.requests_for(PROBE_PROVIDER, PROBE_ENDPOINT)) == 2
        await _json(session, "DELETE", f"{base}/requests")
        assert pbx_simulator.sim.count(PROBE_PROVIDER) == 0


@pytest.mark.parametrize(
    ("kind", "status", "check"),
    [
        (FaultKind.SERVER_ERROR, 503, b"Internal Server Error"),
        (FaultKind.UNAUTHORIZED, 401, b"Unauthorized"),
        (FaultKind.FORBIDDEN, 403, b"Forbidden"),
        (FaultKind.RATE_LIMIT, 429, b"Too Many Requests"),
        (FaultKind.HTML, 200, b"<!DOCTYPE html>"),
        (FaultKind.LATENCY, 200, b"responseStatus"),
    ],
)
async def test_faults_answer_as_asked(
    pbx_simulator: RunningSimulator, kind: FaultKind, status: int, check: bytes
) -> None:
    async with aiohttp.ClientSession() as session:
        await _json(
            session,
            "POST",
            f"{pbx_simulator.origin}/_sim/faults",
            json={
                "provider": PROBE_PROVIDER,
                "kind": kind.value,
                "count": 1,
                "seconds": 0.01,
                "retry_after": 7,
            },
        )
        got_status, body, headers = await _probe(pbx_simulator, session)
        assert got_status == status
        assert check in body
        if kind is FaultKind.RATE_LIMIT:
            assert headers["Retry-After"] == "7"
        # count=1: the next request is answered normally again
        assert (await _probe(pbx_simulator, session))[0] == 200


async def test_truncated_and_malformed_bodies(pbx_simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        _, real, _ = await _probe(pbx_simulator, session)
        pbx_simulator.sim.faults.append(Fault(PROBE_PROVIDER, FaultKind.TRUNCATED, PROBE_ENDPOINT))
        _, truncated, _ = await _probe(pbx_simulator, session)
        assert truncated == real[: len(real) // 2]
        pbx_simulator.sim.faults[:] = [Fault(PROBE_PROVIDER, FaultKind.MALFORMED)]
        _, malformed, _ = await _probe(pbx_simulator, session)
        with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
            json.loads(malformed)
        await _json(session, "DELETE", f"{pbx_simulator.origin}/_sim/faults")
        assert pbx_simulator.sim.faults == []


async def test_hang_fault_holds_the_request(pbx_simulator: RunningSimulator) -> None:
    pbx_simulator.sim.faults.append(Fault(PROBE_PROVIDER, FaultKind.HANG, PROBE_ENDPOINT))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as session:
        with pytest.raises(TimeoutError):
            await _probe(pbx_simulator, session)


async def test_other_paths_are_not_logged(socket_enabled: None) -> None:
    running, runner = await start_simulator(SimState(seed=2, agents=1, queues=1, lines=1))
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{running.origin}/nothing") as r,
        ):
            assert r.status == 404
        assert running.sim.requests == []
    finally:
        await runner.cleanup()


def test_print_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "8399", "--print-config"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["odorik"]["base_url"] == "http://127.0.0.1:8399/odorik/api/v1"
    assert config["yemot"]["base_url"] == "http://127.0.0.1:8399/yemot/ym/api"


def test_refuses_non_loopback_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--host", "0.0.0.0", "--print-config"])  # noqa: S104
    assert "loopback" in capsys.readouterr().err


def test_app_is_an_aiohttp_application() -> None:
    from pbx_simulator import Simulator

    assert isinstance(Simulator(SimState()).build_app(), web.Application)


async def test_demo_options_make_every_account_usable(pbx_simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        options = await _json(session, "GET", f"{pbx_simulator.origin}/_sim/demo-options")
    assert options["yemot"] == {"queue_paths": ["ivr2:/801", "ivr2:/802"]}  # type: ignore[index]
    pins = options["voipsun"]["agent_pins"].splitlines()  # type: ignore[index]
    assert pins[0] == f"1000: {pbx_simulator.state.agents['1'].pin}"
    assert len(pins) == len(pbx_simulator.state.agents)
    assert options["telfa"] == {}  # type: ignore[index]
