"""The Daktela v6 client against the simulator and the digest's documented bodies."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import timedelta
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxPermissionError,
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.api.models import (
    AgentState,
    CallDirection,
    CallEvent,
    CallEventType,
    Capability,
    DialRequest,
    DialSource,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    Listing,
    SmsRequest,
    TransferRequest,
    WebhookRequest,
)
from custom_components.pbx_bridge.api.providers import daktela_v6
from custom_components.pbx_bridge.api.providers.daktela_v6 import (
    WEBHOOK_TEMPLATE,
    DaktelaV6Client,
    _messages,
    _records,
)
from custom_components.pbx_bridge.api.registry import client_class
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.providers.daktela_v6 import (
    DEMO_STATIC_TOKEN,
    OUTGOING_QUEUE_NAME,
    DaktelaV6Sim,
)
from pbx_simulator.state import SimState
from pbx_simulator.testing import RunningSimulator, start_simulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "daktela_v6"
DOC_TOKEN = "doc-token-0123456789abcdef"


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def v6(running: RunningSimulator) -> DaktelaV6Sim:
    sim = running.sim.providers["daktela_v6"]
    assert isinstance(sim, DaktelaV6Sim)
    return sim


def make_client(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    *,
    config: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> DaktelaV6Client:
    return DaktelaV6Client(
        session, config or running.config["daktela_v6"], options=options, timeout=5.0
    )


def token_config(running: RunningSimulator) -> dict[str, str]:
    return {
        "base_url": running.config["daktela_v6"]["base_url"],
        "access_token": DEMO_STATIC_TOKEN,
    }


# --- declarations ------------------------------------------------------------------------


def test_declarations() -> None:
    assert client_class("daktela_v6") is DaktelaV6Client
    fields = {f.key: f for f in DaktelaV6Client.connection_fields}
    assert set(fields) == {"base_url", "login", "password", "access_token"}
    assert fields["password"].secret
    assert fields["access_token"].secret
    assert not fields["login"].secret
    assert DaktelaV6Client.webhook_methods == {"POST"}
    assert DaktelaV6Client.auth_failure_statuses == {401}
    # What the digest marks NOT CONFIRMED is not declared.
    for capability in (
        Capability.HANGUP,
        Capability.TRANSFER,
        Capability.AGENT_PAUSE,
        Capability.SEND_SMS,
        Capability.ANNOUNCE,
    ):
        assert capability not in DaktelaV6Client.capabilities


# --- authentication ---------------------------------------------------------------------


async def test_login_sends_token_in_header(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    account = await client.async_validate()
    assert account.account_id == "127.0.0.1:" + pbx_simulator.origin.rsplit(":", 1)[1]
    (login,) = pbx_simulator.sim.requests_for("daktela_v6", "POST login")
    assert json.loads(login.body) == {"username": "agent1", "password": "Dk6-demo-2026-secret"}
    (whoim,) = pbx_simulator.sim.requests_for("daktela_v6", "GET whoim")
    assert whoim.headers["X-AUTH-TOKEN"].startswith("eyJ")
    assert "accessToken" not in whoim.query
    assert whoim.headers["X-AUTH-TOKEN"] not in repr(client)


async def test_static_token(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator, config=token_config(pbx_simulator))
    await client.async_validate()
    assert not pbx_simulator.sim.requests_for("daktela_v6", "POST login")
    (whoim,) = pbx_simulator.sim.requests_for("daktela_v6", "GET whoim")
    assert whoim.headers["X-AUTH-TOKEN"] == DEMO_STATIC_TOKEN


async def test_wrong_password_and_token(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    config = {**pbx_simulator.config["daktela_v6"], "password": "wrong"}
    with pytest.raises(PbxAuthError) as err:
        await make_client(session, pbx_simulator, config=config).async_validate()
    assert "wrong" not in str(err.value)
    bad_token = {**token_config(pbx_simulator), "access_token": "nope"}
    with pytest.raises(PbxAuthError):
        await make_client(session, pbx_simulator, config=bad_token).async_validate()
    with pytest.raises(PbxAuthError, match="needs an access token"):
        await make_client(
            session, pbx_simulator, config={"base_url": pbx_simulator.origin}
        ).async_validate()


async def test_expired_token_is_refreshed(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim = v6(pbx_simulator)
    client = make_client(session, pbx_simulator)
    await client.async_validate()
    # The server expires the token early: the 401 brings one new login, then success.
    sim.tokens.clear()
    await client.async_validate()
    assert len(pbx_simulator.sim.requests_for("daktela_v6", "PUT login")) == 1
    assert len(pbx_simulator.sim.requests_for("daktela_v6", "GET whoim")) == 3
    # A token past its documented expiry is refreshed before the request.
    sim.token_lifetime = timedelta(seconds=30)
    client = make_client(session, pbx_simulator)
    await client.async_validate()
    await client.async_validate()
    assert len(pbx_simulator.sim.requests_for("daktela_v6", "PUT login")) == 2


async def test_refresh_refused_logs_in_again(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim = v6(pbx_simulator)
    client = make_client(session, pbx_simulator)
    await client.async_validate()
    sim.tokens.clear()
    sim.refresh_tokens.clear()
    await client.async_validate()
    assert len(pbx_simulator.sim.requests_for("daktela_v6", "POST login")) == 2


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT])
async def test_refresh_failing_otherwise_logs_in_again(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, kind: FaultKind
) -> None:
    # "Any non-200 answer means log in again" (daktela-v6.md:69-70).
    client = make_client(session, pbx_simulator)
    await client.async_validate()
    v6(pbx_simulator).tokens.clear()
    pbx_simulator.sim.faults.append(
        Fault(provider="daktela_v6", kind=kind, endpoint="PUT login", count=1)
    )
    await client.async_validate()
    assert len(pbx_simulator.sim.requests_for("daktela_v6", "PUT login")) == 1
    assert len(pbx_simulator.sim.requests_for("daktela_v6", "POST login")) == 2


async def test_credentials_changed_at_the_provider(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim = v6(pbx_simulator)
    client = make_client(session, pbx_simulator)
    await client.async_validate()
    sim.tokens.clear()
    sim.refresh_tokens.clear()
    sim.credentials["password"] = "changed"
    with pytest.raises(PbxAuthError):
        await client.async_validate()


async def test_plain_http_only_on_loopback(session: aiohttp.ClientSession) -> None:
    client = DaktelaV6Client(
        session, {"base_url": "http://demo.daktela.com/api/v6", "access_token": "x"}
    )
    assert client.base_url == "http://demo.daktela.com"
    with pytest.raises(PbxInvalidInput, match="https"):
        await client.async_validate()


@pytest.mark.parametrize("endpoint", ["realtimeSessions", "activitiesCall"])
async def test_forbidden_is_a_permission_error(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, endpoint: str
) -> None:
    v6(pbx_simulator).forbidden.add(endpoint)
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxPermissionError) as err:
        await client.async_fetch_snapshot()
    assert err.value.permission == endpoint


async def test_rate_limit(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    pbx_simulator.sim.faults.append(
        Fault(provider="daktela_v6", kind=FaultKind.RATE_LIMIT, endpoint="GET whoim")
    )
    with pytest.raises(PbxRateLimitError) as err:
        await make_client(session, pbx_simulator).async_validate()
    assert err.value.retry_after is not None


# --- snapshot ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters_refused", "requests"),
    [
        # queues, pauses, users, sessions, calls, missed count (+ the login); then the three
        # live listings again
        (False, (7, 10)),
        # "some activities sub-endpoints reject filters" with a 400: read once more without,
        # and from then on without (daktela-v6.md:162-163)
        (True, (7, 9)),
    ],
    ids=["filtered", "filters refused"],
)
async def test_snapshot(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    filters_refused: bool,
    requests: tuple[int, int],
) -> None:
    if filters_refused:
        v6(pbx_simulator).filters_refused.add("activitiesCall")
    state = pbx_simulator.state
    state.now_offset -= timedelta(days=1)
    yesterday = state.incoming_call("+420777000111", queue_id="1")
    state.hangup(yesterday.id)  # missed, but not today
    state.now_offset += timedelta(days=1)
    state.agent_logout("2")
    state.agent_pause("3", "Lunch")
    state.agents["4"].status = state.agents["4"].status.WRAP_UP
    call = state.incoming_call("+420601222333", queue_id="1", agent_id="1")
    state.answer(call.id)
    state.now_offset += timedelta(seconds=5)
    missed = state.incoming_call("+420777888999", queue_id="1")
    state.hangup(missed.id)
    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()
    agents = snapshot.agents
    assert set(agents) == {agent.login for agent in state.agents.values()}
    assert agents["agent2"].state is AgentState.LOGGED_OUT
    assert agents["agent2"].logged_in is False
    assert agents["agent3"].state is AgentState.PAUSED
    assert agents["agent3"].pause_reason == "Lunch"
    assert agents["agent4"].state is AgentState.WRAP_UP
    assert agents["agent1"].state is AgentState.IN_CALL
    assert agents["agent5"].state is AgentState.IDLE
    assert agents["agent1"].name == state.agents["1"].name
    # Every agent and queue is listed: absent ones are gone.
    assert snapshot.complete == {Listing.AGENTS, Listing.QUEUES, Listing.REGISTRATIONS}
    assert {q.name for q in snapshot.queues.values()} == {
        *(q.name for q in state.queues.values()),
        "Outbound",
    }
    first_queue = snapshot.queues[str(v6(pbx_simulator).queue_name(state.queues["1"]))]
    assert (first_queue.completed, first_queue.abandoned) == (1, 1)  # answered, missed
    (live,) = snapshot.calls.values()
    assert live.call_id == call.id
    assert live.direction is CallDirection.INCOMING
    assert live.caller == "+420601222333"
    assert live.agent_id == "agent1"
    assert snapshot.missed_calls_today == 1
    assert snapshot.last_caller == "+420777888999"
    registrations = snapshot.registrations
    assert registrations[state.agents["1"].extension].registered is True
    assert pbx_simulator.sim.count("daktela_v6") == requests[0]
    await client.async_fetch_snapshot()
    # Users, queues and pauses are cached.
    assert pbx_simulator.sim.count("daktela_v6") == requests[1]


async def test_unfiltered_calls_beyond_the_page(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where filters are refused and one page holds only today's calls, today's counts are
    # unknown rather than short (daktela-v6.md:162-163, 360).
    monkeypatch.setattr(daktela_v6, "RECENT_CALLS", 2)
    v6(pbx_simulator).filters_refused.add("activitiesCall")
    state = pbx_simulator.state
    for number in ("+420601000001", "+420601000002", "+420601000003"):
        state.hangup(state.incoming_call(number, queue_id="1").id)
        state.now_offset += timedelta(seconds=5)
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    assert snapshot.missed_calls_today is None
    assert {q.completed for q in snapshot.queues.values()} == {None}
    assert snapshot.last_caller == "+420601000003"


async def test_unregistered_line(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    line = state.line_of_agent(state.agents["1"])
    assert line is not None
    state.set_registered(line.id, False)
    snapshot = await make_client(session, pbx_simulator).async_fetch_snapshot()
    assert snapshot.registrations[state.agents["1"].extension].registered is False


async def test_last_caller_survives_a_day_without_calls(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    call = state.incoming_call("+420601222333", queue_id="1")
    state.hangup(call.id)
    client = make_client(session, pbx_simulator)
    assert (await client.async_fetch_snapshot()).last_caller == "+420601222333"
    state.calls.clear()
    assert (await client.async_fetch_snapshot()).last_caller == "+420601222333"


async def test_paging(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    running, runner = await start_simulator(SimState(seed=2, agents=1203, lines=3, queues=2))
    try:
        snapshot = await make_client(session, running).async_fetch_snapshot()
        assert len(snapshot.agents) == 1203
        users = running.sim.requests_for("daktela_v6", "GET users")
        assert [(r.query["skip"], r.query["take"]) for r in users] == [
            ("0", "1000"),
            ("1000", "1000"),
        ]
        assert users[0].query["fields[3]"] == "extension_state"
        assert users[0].query["fields[5]"] == "deleted"  # read to drop deleted users
    finally:
        await runner.cleanup()


@pytest.fixture
async def doc_server(socket_enabled: None) -> AsyncGenerator[tuple[str, dict[str, bytes]]]:
    """A server answering each endpoint with a body the test chooses (verbatim fixtures)."""
    answers: dict[str, bytes] = {}

    async def handle(request: web.Request) -> web.Response:
        # An answer may start with its HTTP status: b"403 {...}".
        answer = answers[request.match_info["endpoint"]]
        status, body = (int(answer[:3]), answer[4:]) if answer[:3].isdigit() else (200, answer)
        return web.Response(body=body, status=status, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/api/v6/{endpoint}.json", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", answers
    finally:
        await runner.cleanup()


def _empty_list() -> bytes:
    return b'{"error": [], "result": {"data": [], "total": 0}}'


async def test_documented_realtime_session(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    answers.update(
        queues=_empty_list(),
        pauses=_empty_list(),
        activitiesCall=_empty_list(),
        realtimeSessions=(FIXTURES / "realtime_sessions.json").read_bytes(),
        users=b'{"error": [], "result": {"data": [{"name": "<login>", "title": "<name>",'
        b' "extension": "<ext>", "extension_state": "online"}], "total": 1}}',
    )
    client = DaktelaV6Client(session, {"base_url": url, "access_token": DOC_TOKEN})
    snapshot = await client.async_fetch_snapshot()
    (agent,) = snapshot.agents.values()
    # `id_pause.type` "wrap": wrap-up, whatever `state` says.
    assert (agent.agent_id, agent.state, agent.logged_in) == ("<login>", AgentState.WRAP_UP, True)
    assert snapshot.registrations["<ext>"].registered is True


async def test_documented_login_answer(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    answers.update(login=(FIXTURES / "login_response.json").read_bytes(), whoim=b'{"error": []}')
    client = DaktelaV6Client(session, {"base_url": url, "login": "u", "password": "p"})
    await client.async_validate()
    # The tokens are secrets from now on.
    assert client.redact("token <jwt>, refresh <rt>") == "token **REDACTED**, refresh **REDACTED**"
    assert client._refresh_token == "<rt>"
    # The documented expiry (2026-02-14) lies in the past: the next request refreshes first.
    await client.async_validate()
    assert client._token == "<jwt>"


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("error_1", "Object not exist"),
        ("error_2", "Object not exist"),
        ("error_3", "User have not available devices"),
        ("error_4", "lastname: Item is mandatory"),
        ("error_5", "User have not available devices; lastname: Item is mandatory"),
    ],
)
async def test_documented_errors(
    doc_server: tuple[str, dict[str, bytes]],
    session: aiohttp.ClientSession,
    fixture: str,
    message: str,
) -> None:
    url, answers = doc_server
    answers["whoim"] = (FIXTURES / f"{fixture}.json").read_bytes()
    client = DaktelaV6Client(session, {"base_url": url, "access_token": DOC_TOKEN})
    with pytest.raises(PbxResponseError) as err:
        await client.async_validate()
    assert str(err.value) == message


async def test_form_error_with_echoed_result(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession
) -> None:
    # The digest's sixth shape, its echoed object written out.
    url, answers = doc_server
    answers["whoim"] = (
        b'{"error": {"form": {"customFields": {"email": ["bad"]}}}, "result": {"name": "x"}}'
    )
    client = DaktelaV6Client(session, {"base_url": url, "access_token": DOC_TOKEN})
    with pytest.raises(PbxResponseError, match=r"customFields: email: bad"):
        await client.async_validate()


def test_error_and_list_shapes() -> None:
    assert _messages({"primary": "Busy", "other": ["x"]}) == ["Busy", "other: x"]
    assert _messages({"form": {"a": {"b": ["c"]}}}) == ["a: b: c"]
    assert _messages(42) == ["42"]
    assert _messages([]) == []
    assert _records({"data": None, "total": "0"}) == ([], 0)
    assert _records({"data": {"p1": {"name": "p1"}}}) == ([{"name": "p1"}], None)
    for bad in (None, [], {"data": [1]}, {"data": "x"}):
        with pytest.raises(PbxResponseError):
            _records(bad)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"403 {}", PbxPermissionError),
        (b'403 {"error": ["No right"]}', PbxPermissionError),
        (b"400 {}", PbxResponseError),
        (b'304 {"error": []}', PbxResponseError),
        (b"[]", PbxResponseError),
        (b"not json", PbxResponseError),
    ],
)
async def test_refusals_without_messages(
    doc_server: tuple[str, dict[str, bytes]],
    session: aiohttp.ClientSession,
    answer: bytes,
    error: type[Exception],
) -> None:
    url, answers = doc_server
    answers["whoim"] = answer
    client = DaktelaV6Client(session, {"base_url": url, "access_token": DOC_TOKEN})
    with pytest.raises(error):
        await client.async_validate()


@pytest.mark.parametrize(
    "answer",
    [
        b"401 " + (FIXTURES / "error_2.json").read_bytes(),
        b"400 " + (FIXTURES / "error_4.json").read_bytes(),
        b"422 {}",
        # daktela-v6.md:104, an error inside a 200
        (FIXTURES / "error_1.json").read_bytes(),
    ],
    ids=["401", "400 form error", "422", "error inside a 200"],
)
async def test_refused_login_is_an_auth_failure(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession, answer: bytes
) -> None:
    # The digest shows no refused login (daktela-v6.md:58-73): whatever status or error
    # shape (:101-127) it comes in, the credentials are the problem, so reauth follows.
    url, answers = doc_server
    answers["login"] = answer
    client = DaktelaV6Client(session, {"base_url": url, "login": "u", "password": "p"})
    with pytest.raises(PbxAuthError):
        await client.async_validate()


async def test_login_without_token_and_only_token(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    answers.update(login=b'{"error": [], "result": {}}', whoim=b'{"error": []}')
    client = DaktelaV6Client(session, {"base_url": url, "login": "u", "password": "p"})
    with pytest.raises(PbxResponseError, match="without a token"):
        await client.async_validate()
    answers["login"] = b"<html>proxy</html>"  # unreadable: not a verdict on the password
    with pytest.raises(PbxResponseError, match="unreadable"):
        await client.async_validate()
    answers["login"] = b'{"error": [], "result": "bare-token-string-0123"}'  # only_token form
    await client.async_validate()
    assert client._token == "bare-token-string-0123"


async def test_undocumented_agent_state_is_unknown(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession
) -> None:
    url, answers = doc_server
    answers.update(
        queues=b'{"error": [], "result": {"data": [{"name": 2000, "deleted": true}, {}]}}',
        pauses=_empty_list(),
        activitiesCall=b'{"error": [], "result": {"data": [{"id_call": "9"}], "total": 1}}',
        realtimeSessions=b'{"error": [], "result": {"data": [{"id_agent": "a", "state":'
        b' "Session"}], "total": 1}}',
        users=b'{"error": [], "result": {"data": [{"name": "a"}, {"name": "b", "deactivated":'
        b' "1"}], "total": 2}}',
    )
    snapshot = await DaktelaV6Client(
        session, {"base_url": url, "access_token": DOC_TOKEN}
    ).async_fetch_snapshot()
    assert {a.agent_id: a.state for a in snapshot.agents.values()} == {"a": AgentState.UNKNOWN}
    assert snapshot.queues == {}
    assert snapshot.registrations == {}
    assert snapshot.calls == {}


async def test_other_refusals_of_the_call_list_are_errors(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession
) -> None:
    # Only a 400 means "no filters here" (daktela-v6.md:162-163); a 404 (:124) is an error.
    url, answers = doc_server
    answers.update(
        queues=_empty_list(),
        pauses=_empty_list(),
        users=_empty_list(),
        realtimeSessions=_empty_list(),
        activitiesCall=b"404 " + (FIXTURES / "error_1.json").read_bytes(),
    )
    client = DaktelaV6Client(session, {"base_url": url, "access_token": DOC_TOKEN})
    with pytest.raises(PbxResponseError, match="Object not exist"):
        await client.async_fetch_snapshot()
    assert client._filters_refused is False


async def test_yes_no_fields_in_either_form(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession
) -> None:
    # The digest names `deactivated`, `deleted` (daktela-v6.md:184, 210) and `answered`
    # (daktela-v6.md:242) but shows no form; SDKs send `true`/`false` and `1`/`0` (:160).
    url, answers = doc_server
    answers.update(
        queues=b'{"error": [], "result": {"data": [{"name": 1, "deleted": "0", "deactivated":'
        b' "0"}, {"name": 2, "deactivated": true}, {"name": 3, "deleted": 1}, {"name": 4,'
        b' "type": "chat"}, {"name": 5, "type": "dialer", "deleted": false}], "total": 5}}',
        pauses=_empty_list(),
        activitiesCall=b'{"error": [], "result": {"data": [{"id_call": "9", "id_queue": 1,'
        b' "answered": "0", "missed_call": "1"}, {"id_call": "8", "id_queue": 1, "answered":'
        b' "1"}], "total": 2}}',
        realtimeSessions=_empty_list(),
        users=b'{"error": [], "result": {"data": [{"name": "a", "deleted": "0", "deactivated":'
        b' "0"}, {"name": "b", "deleted": true}, {"name": "c", "deactivated": "true"}],'
        b' "total": 3}}',
    )
    snapshot = await DaktelaV6Client(
        session, {"base_url": url, "access_token": DOC_TOKEN}
    ).async_fetch_snapshot()
    assert set(snapshot.agents) == {"a"}
    # A chat queue is no phone queue; one without a `type` counts.
    assert set(snapshot.queues) == {"1", "5"}
    assert (snapshot.queues["1"].completed, snapshot.queues["1"].abandoned) == (1, 1)


@pytest.mark.parametrize(
    ("answer", "call_id"),
    [
        (b'201 {"error": [], "result": {"name": "activities_1"}}', "activities_1"),
        (b'201 {"error": [], "result": null}', None),
    ],
)
async def test_dial_answers(
    doc_server: tuple[str, dict[str, bytes]],
    session: aiohttp.ClientSession,
    answer: bytes,
    call_id: str | None,
) -> None:
    url, answers = doc_server
    answers["activities"] = answer
    client = DaktelaV6Client(
        session, {"base_url": url, "access_token": DOC_TOKEN}, options={"outgoing_queue": "2000"}
    )
    assert (await client.async_dial(DialRequest(number="+420603927227"))).call_id == call_id


@pytest.mark.parametrize("status", [b"200", b"201", b"400"])
async def test_dial_error_inside_a_success_is_a_refusal(
    doc_server: tuple[str, dict[str, bytes]], session: aiohttp.ClientSession, status: bytes
) -> None:
    # daktela-v6.md:106 and 303-304: the click-to-call failure, no HTTP status given; and the
    # form error with the submitted object echoed in `result` (daktela-v6.md:109-111).
    url, answers = doc_server
    client = DaktelaV6Client(
        session, {"base_url": url, "access_token": DOC_TOKEN}, options={"outgoing_queue": "2000"}
    )
    answers["activities"] = status + b" " + (FIXTURES / "error_3.json").read_bytes()
    with pytest.raises(PbxResponseError, match=r"^User have not available devices$"):
        await client.async_dial(DialRequest(number="+420603927227"))
    answers["activities"] = status + (
        b' {"error": {"form": {"number": "Item is mandatory"}},'
        b' "result": {"number": "", "type": "CALL", "queue": 2000}}'
    )
    with pytest.raises(PbxResponseError, match="number: Item is mandatory"):
        await client.async_dial(DialRequest(number="+420603927227"))


# --- actions ----------------------------------------------------------------------------


async def logged_in_outgoing(client: DaktelaV6Client) -> None:
    await client.async_fetch_snapshot()
    await client.async_queue_login("agent1", str(OUTGOING_QUEUE_NAME))


async def test_queue_login_as_documented(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    queue = state.queues["2"]
    client = make_client(session, pbx_simulator)
    await client.async_queue_login("agent1", str(v6(pbx_simulator).queue_name(queue)))
    assert "1" in queue.member_ids
    (request,) = pbx_simulator.sim.requests_for("daktela_v6", "POST usersSession")
    documented = json.loads((FIXTURES / "queue_login_request.json").read_text())
    sent = json.loads(request.body)
    # The token goes in the header instead of the body; the rest is the documented shape.
    assert sent.keys() == documented.keys() - {"accessToken"}
    assert sent["queues"][0].keys() == documented["queues"][0].keys()
    assert sent["queues"][0]["login"] is True
    with pytest.raises(PbxInvalidInput, match="only the API user"):
        await client.async_queue_login("agent2", "3001")
    with pytest.raises(PbxUnsupportedError):
        await client.async_queue_logout("agent1", "3001")


async def test_dial_as_documented(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    await logged_in_outgoing(client)
    result = await client.async_dial(DialRequest(number="+420603927227"))
    call = pbx_simulator.state.calls[str(result.call_id)]
    assert call.callee == "603927227"
    (request,) = pbx_simulator.sim.requests_for("daktela_v6", "POST activities")
    documented = json.loads((FIXTURES / "click_to_call_request.json").read_text())
    sent = json.loads(request.body)
    assert sent.keys() == documented.keys() - {"accessToken"}
    assert (sent["type"], sent["queue"]) == ("CALL", OUTGOING_QUEUE_NAME)


async def test_dial_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    await client.async_fetch_snapshot()
    with pytest.raises(PbxResponseError, match="not logged in"):
        await client.async_dial(DialRequest(number="+420603927227"))
    with pytest.raises(PbxInvalidInput, match="only as the API user"):
        await client.async_dial(
            DialRequest(number="+420603927227", source=DialSource(DialSourceKind.EXTENSION, "101"))
        )
    no_queue = make_client(session, pbx_simulator)  # catalogues not read yet
    with pytest.raises(PbxInvalidInput, match="outgoing queue"):
        await no_queue.async_dial(DialRequest(number="+420603927227"))


async def test_dial_is_sent_once(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    await logged_in_outgoing(client)
    pbx_simulator.sim.faults.append(
        Fault(provider="daktela_v6", kind=FaultKind.DISCONNECT, endpoint="POST activities")
    )
    with pytest.raises(PbxOutcomeUnknownError):
        await client.async_dial(DialRequest(number="+420603927227"))
    assert len(pbx_simulator.sim.requests_for("daktela_v6", "POST activities")) == 1


async def test_placed_call_with_unreadable_answer_is_not_an_error(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    await logged_in_outgoing(client)
    pbx_simulator.sim.faults.append(
        Fault(provider="daktela_v6", kind=FaultKind.MALFORMED, endpoint="POST activities")
    )
    result = await client.async_dial(DialRequest(number="+420603927227"))
    assert result.call_id is None


async def test_unconfirmed_actions_refused(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    for action in (
        client.async_hangup(HangupRequest(HangupTargetKind.CALL, "1")),
        client.async_transfer(TransferRequest(call_id="1", destination="100")),
        client.async_agent_pause("agent1"),
        client.async_send_sms(SmsRequest(recipients=("+420603927227",), message="hi")),
    ):
        with pytest.raises(PbxUnsupportedError):
            await action
    assert not pbx_simulator.sim.requests


# --- webhook ----------------------------------------------------------------------------


def hook(body: str, content_type: str = "application/json") -> WebhookRequest:
    return WebhookRequest(
        method="POST", headers={"Content-Type": content_type}, query={}, body=body.encode()
    )


def test_template_is_what_we_parse(session: aiohttp.ClientSession) -> None:
    client = DaktelaV6Client(
        session, {"base_url": "https://x.daktela.com", "access_token": DOC_TOKEN}
    )
    template = json.loads(WEBHOOK_TEMPLATE)
    filled = dict.fromkeys(template, "") | {
        "event": "call_create",
        "call_id": "1764",
        "direction": "in",
        "caller": "603927227",
        "callee": "245008328",
        "agent": "agent1",
        "queue": "3001",
    }
    (event,) = client.parse_webhook(hook(json.dumps(filled)))
    assert isinstance(event, CallEvent)
    assert (event.event_type, event.call_id, event.caller, event.callee, event.agent_id) == (
        CallEventType.INCOMING,
        "1764",
        "+420603927227",
        "+420245008328",
        "agent1",
    )
    # An unreplaced variable counts as missing; a form body works as JSON does.
    (event,) = client.parse_webhook(
        hook(
            "event=call_close&call_id=1764&direction=out&caller=%7B%7Bclid%7D%7D",
            "application/x-www-form-urlencoded",
        )
    )
    assert isinstance(event, CallEvent)
    assert (event.event_type, event.callee) == (CallEventType.HANGUP, None)
    (event,) = client.parse_webhook(
        hook('{"event": "call_create", "call_id": "9", "direction": "out", "caller": "603927227"}')
    )
    assert isinstance(event, CallEvent)
    assert (event.event_type, event.callee) == (CallEventType.OUTGOING, "+420603927227")
    # Events keys of other channels and entities (daktela-v6.md:339) are not calls.
    for other in ("email_create", "sms_close", "contact_update", "account_delete"):
        assert client.parse_webhook(hook(f'{{"event": "{other}", "call_id": "1"}}')) == []


@pytest.mark.parametrize(
    "body",
    [
        "not json {",
        "[1, 2]",
        '{"event": "nonsense", "call_id": "1"}',
        '{"event": "call_answer"}',
        "\udcff",
    ],
)
def test_bad_webhooks(session: aiohttp.ClientSession, body: str) -> None:
    client = DaktelaV6Client(
        session, {"base_url": "https://x.daktela.com", "access_token": DOC_TOKEN}
    )
    raw = body.encode("utf-8", errors="surrogateescape")
    request = WebhookRequest(method="POST", headers={}, query={}, body=raw)
    with pytest.raises(PbxInvalidInput):
        client.parse_webhook(request)


async def test_simulator_automation_reaches_the_parser(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    received: list[WebhookRequest] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(
            WebhookRequest(
                method=request.method,
                headers=dict(request.headers),
                query=dict(request.query),
                body=await request.read(),
            )
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        v6(pbx_simulator).set_automation(
            f"http://127.0.0.1:{runner.addresses[0][1]}/hook", "s3cret"
        )
        state = pbx_simulator.state
        call = state.incoming_call("+420601222333", queue_id="1", agent_id="1")
        state.answer(call.id)
        state.hangup(call.id)
        await pbx_simulator.sim.webhooks.drain()
    finally:
        await runner.cleanup()
    client = make_client(session, pbx_simulator)
    events = [item for request in received for item in client.parse_webhook(request)]
    assert [e.event_type for e in events if isinstance(e, CallEvent)] == [
        CallEventType.INCOMING,
        CallEventType.ANSWERED,
        CallEventType.HANGUP,
    ]
    assert all(r.headers["X-Webhook-Secret"] == "s3cret" for r in received)
