"""The Odorik client against the simulator and the documented examples."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
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
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.api.models import (
    AnnounceRequest,
    CallDirection,
    CallState,
    Capability,
    DialRequest,
    DialSource,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    SmsRequest,
    TransferRequest,
    WebhookRequest,
)
from custom_components.pbx_bridge.api.providers.odorik import OdorikClient
from custom_components.pbx_bridge.api.registry import client_class
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.providers.odorik import OdorikSim
from pbx_simulator.state import CallStatus, SimState
from pbx_simulator.testing import RunningSimulator, start_simulator
from tests.api.faults import READ_FAULT_ERRORS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "odorik"
PRAGUE = ZoneInfo("Europe/Prague")
USER = "3531234"
PASSWORD = "odorik-api-7788"
FIRST_LINE = "403366"
# Every request names the client, as https://www.odorik.cz/w/api asks third-party apps to.
AUTH = {"user": USER, "password": PASSWORD, "user_agent": "pbx_bridge (Home Assistant)"}

type DocServer = Callable[[Mapping[str, bytes | tuple[int, bytes]]], Awaitable[str]]


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
) -> OdorikClient:
    return OdorikClient(session, running.config["odorik"], options=options, timeout=timeout)


def sent(running: RunningSimulator, endpoint: str) -> dict[str, str]:
    """The one request sent to `endpoint`: its parameters, from the body or the query."""
    (request,) = running.sim.requests_for("odorik", endpoint)
    if request.method == "POST":
        assert request.query == {}  # the password stays out of the URL where it can
        return dict(parse_qsl(request.body))
    assert request.body == ""
    return request.query


def odorik_sim(running: RunningSimulator) -> OdorikSim:
    sim = running.sim.providers["odorik"]
    assert isinstance(sim, OdorikSim)
    return sim


# --- declarations -------------------------------------------------------------------------


def test_declarations() -> None:
    assert client_class("odorik") is OdorikClient
    assert OdorikClient.title == "Odorik"
    assert OdorikClient.default_base_url == "https://www.odorik.cz/api/v1"
    fields = {f.key: f for f in OdorikClient.connection_fields}
    assert set(fields) == {"user", "password", "base_url"}
    assert fields["password"].secret
    assert not fields["user"].secret  # the account number is the account's id
    assert fields["base_url"].is_url
    assert not fields["base_url"].required
    assert OdorikClient.webhook_methods == frozenset()
    assert OdorikClient.default_country_code == "420"
    assert OdorikClient.capabilities == {
        Capability.ACTIVE_CALLS,
        Capability.MISSED_CALLS,
        Capability.BALANCE,
        Capability.DIAL,
        Capability.HANGUP,
        Capability.SEND_SMS,
    }


async def test_format_number_and_repr(session: aiohttp.ClientSession) -> None:
    client = OdorikClient(session, {"user": USER, "password": PASSWORD})
    assert client.base_url == "https://www.odorik.cz/api/v1"
    assert client.format_number("+420601234567") == "00420601234567"
    assert client.format_number("+972501234567") == "00972501234567"
    assert client.format_number(FIRST_LINE) == FIRST_LINE
    assert PASSWORD not in repr(client)


# --- validate and snapshot -----------------------------------------------------------------


async def test_validate(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    info = await make_client(session, pbx_simulator).async_validate()
    assert info.account_id == USER  # the account number, never the password
    assert PASSWORD not in info.account_id + info.name
    assert sent(pbx_simulator, "GET /balance") == AUTH


async def test_validate_rejects_wrong_credentials(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(session, pbx_simulator)
    pbx_simulator.state.credentials["odorik"]["password"] = "changed"  # reauth needed
    with pytest.raises(PbxAuthError) as err:
        await client.async_validate()
    assert "authentication_failed" in str(err.value)
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in caplog.text
    assert "GET" in caplog.text  # the request was logged, redacted


@pytest.mark.parametrize("missing", ["user", "password"])
async def test_validate_needs_both_credentials(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, missing: str
) -> None:
    config = pbx_simulator.config["odorik"] | {missing: ""}
    with pytest.raises(PbxAuthError):
        await OdorikClient(session, config).async_validate()
    assert pbx_simulator.sim.count("odorik") == 0


async def test_snapshot_matches_the_simulator(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    for caller in ("+420601000001", "+420601000002"):
        missed = state.incoming_call(caller)
        state.hangup(missed.id)
    answered = state.incoming_call("+420601000003")
    state.answer(answered.id)
    state.hangup(answered.id)
    yesterday = state.incoming_call("+420601000004")
    state.hangup(yesterday.id)
    yesterday.created -= timedelta(days=1)  # not today's
    ringing = state.incoming_call("+420601000005")
    talking = state.originate("101", "+420777000111", agent_id="1")
    state.answer(talking.id)
    state.balance = 123.45

    client = make_client(session, pbx_simulator)
    snapshot = await client.async_fetch_snapshot()

    assert snapshot.account.account_id == USER
    assert snapshot.missed_calls_today == 2
    assert snapshot.missed_callers == ("+420601000001", "+420601000002")
    assert snapshot.last_caller == "+420601000003"
    assert snapshot.balance == 123.45
    assert (snapshot.agents, snapshot.queues, snapshot.registrations) == ({}, {}, {})
    assert set(snapshot.calls) == {ringing.id, talking.id}
    first = snapshot.calls[ringing.id]
    assert (first.state, first.direction) == (CallState.RINGING, CallDirection.UNKNOWN)
    assert (first.caller, first.callee, first.line) == ("+420601000005", "+420245008328", None)
    assert first.started == ringing.created
    assert first.answered is None
    second = snapshot.calls[talking.id]
    assert (second.state, second.caller, second.callee) == (
        CallState.ANSWERED,
        FIRST_LINE,
        "+420777000111",
    )
    assert (second.line, second.answered) == (FIRST_LINE, talking.answered)

    assert sent(pbx_simulator, "GET /active_calls") == AUTH
    assert sent(pbx_simulator, "GET /balance") == AUTH
    # Today's calls from the history (O:29-68), not missed_calls.json, which has no period.
    period = sent(pbx_simulator, "GET /calls")
    midnight = datetime.combine(datetime.now(PRAGUE).date(), datetime.min.time(), PRAGUE)
    assert period.pop("from") == midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert datetime.fromisoformat(period.pop("to")) >= state.now() - timedelta(seconds=2)
    assert period == AUTH
    assert pbx_simulator.sim.count("odorik") == 3

    # The next poll asks only for what came after the newest call it read.
    state.hangup(ringing.id)  # missed too
    pbx_simulator.sim.requests.clear()
    snapshot = await client.async_fetch_snapshot()
    assert sent(pbx_simulator, "GET /calls") == {
        **AUTH,
        "since_id": answered.id,  # the newest of today's list
    }
    assert snapshot.missed_calls_today == 3  # yesterday's call, listed now, does not count
    assert snapshot.missed_callers[-1] == snapshot.last_caller == "+420601000005"
    pbx_simulator.sim.requests.clear()
    assert (await client.async_fetch_snapshot()).missed_calls_today == 3  # nothing new


@pytest.mark.parametrize("size", [10, 500])
async def test_snapshot_costs_the_same_whatever_the_size(
    socket_enabled: None, session: aiohttp.ClientSession, size: int
) -> None:
    running, runner = await start_simulator(SimState(seed=1, agents=size, lines=size))
    try:
        for agent in list(running.state.agents.values())[: size // 2]:
            running.state.originate(agent.extension, "+420777000111", agent_id=agent.id)
        snapshot = await make_client(session, running).async_fetch_snapshot()
        requests = running.sim.count("odorik")
    finally:
        await runner.cleanup()
    assert len(snapshot.calls) == size // 2
    assert requests == 3


# --- actions ------------------------------------------------------------------------------


async def test_dial_from_a_line(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    result = await make_client(session, pbx_simulator).async_dial(
        DialRequest("+420777000111", DialSource(DialSourceKind.LINE, FIRST_LINE))
    )
    assert result.call_id is None  # Odorik returns no id
    assert sent(pbx_simulator, "POST /callback") == {
        **AUTH,
        "caller": f"*{FIRST_LINE}",  # a phone number (O:11), in the network's `*` form (O:59)
        "recipient": "00420777000111",
        "line": FIRST_LINE,
    }
    (call,) = pbx_simulator.state.calls.values()
    assert (call.line_id, call.callee, call.status) == ("1", "+420777000111", CallStatus.RINGING)


async def test_dial_from_a_line_needs_a_line_number(session: aiohttp.ClientSession) -> None:
    client = client_for(session, "http://127.0.0.1:9/api/v1")  # refused before sending
    with pytest.raises(PbxInvalidInput, match="line numbers are digits"):
        await client.async_dial(
            DialRequest("+420777000111", DialSource(DialSourceKind.LINE, "office"))
        )


@pytest.mark.parametrize("kind", [DialSourceKind.USER, DialSourceKind.EXTENSION])
async def test_dial_from_a_number(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, kind: DialSourceKind
) -> None:
    await make_client(session, pbx_simulator).async_dial(
        DialRequest(
            "+420777000111",
            DialSource(kind, "+420601000001"),
            caller_id="+420245008328",
            ring_timeout=30,
        )
    )
    assert sent(pbx_simulator, "POST /callback") == {
        **AUTH,
        "caller": "00420601000001",
        "recipient": "00420777000111",
    }
    (call,) = pbx_simulator.state.calls.values()
    assert (call.caller, call.line_id) == ("+420601000001", None)


@pytest.mark.parametrize(
    ("delay", "single_attempt", "extra"),
    [
        (timedelta(minutes=5), None, {"delayed": "5"}),
        (timedelta(seconds=61), True, {"delayed": "2", "simple": "true"}),
        (None, False, {"simple": "false"}),
    ],
)
async def test_dial_delayed_and_simple(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    delay: timedelta | None,
    single_attempt: bool | None,
    extra: dict[str, str],
) -> None:
    """Callback's `delayed` (minutes) and `simple` (O:14-16) from the dial request."""
    odorik = pbx_simulator.sim.providers["odorik"]
    assert isinstance(odorik, OdorikSim)
    await make_client(session, pbx_simulator).async_dial(
        DialRequest(
            "+420777000111",
            DialSource(DialSourceKind.LINE, FIRST_LINE),
            delay=delay,
            single_attempt=single_attempt,
        )
    )
    assert sent(pbx_simulator, "POST /callback") == {
        **AUTH,
        "caller": f"*{FIRST_LINE}",
        "recipient": "00420777000111",
        "line": FIRST_LINE,
        **extra,
    }
    if delay is not None:  # ordered for later: successfully_enqueued, nothing rings yet
        (later,) = odorik.delayed_callbacks
        assert later.simple is bool(single_attempt)
        assert pbx_simulator.state.calls == {}
    else:
        (call,) = pbx_simulator.state.calls.values()
        assert (call.id in odorik.simple_calls) is bool(single_attempt)


async def test_dial_cannot_only_ring(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(PbxInvalidInput, match="cannot only ring"):
        await make_client(session, pbx_simulator).async_dial(
            DialRequest(
                "+420777000111", DialSource(DialSourceKind.LINE, FIRST_LINE), ring_once=True
            )
        )
    assert pbx_simulator.sim.count("odorik") == 0


async def test_hangup_goes_out_once(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """A connection dropped after the DELETE: "may have been carried out", never resent."""
    call = pbx_simulator.state.incoming_call("+420601000001")
    pbx_simulator.sim.faults.append(
        Fault(provider="odorik", kind=FaultKind.DISCONNECT, endpoint="DELETE /active_calls/{id}")
    )
    with pytest.raises(PbxOutcomeUnknownError, match="may have been carried out"):
        await make_client(session, pbx_simulator).async_hangup(
            HangupRequest(HangupTargetKind.CALL, call.id)
        )
    assert len(pbx_simulator.sim.requests_for("odorik", "DELETE /active_calls/{id}")) == 1


@pytest.mark.parametrize("source", [None, DialSource(DialSourceKind.LINE, " ")])
async def test_dial_needs_a_source(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, source: DialSource | None
) -> None:
    with pytest.raises(PbxInvalidInput):
        await make_client(session, pbx_simulator).async_dial(DialRequest("+420777000111", source))
    assert pbx_simulator.sim.count("odorik") == 0


async def test_dial_refusals_carry_the_error_word(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxResponseError) as err:
        await client.async_dial(
            DialRequest("+420777000111", DialSource(DialSourceKind.LINE, "999999"))
        )
    assert (err.value.code, str(err.value)) == ("invalid_line", "invalid_line")
    odorik_sim(pbx_simulator).fail_callbacks = True
    with pytest.raises(PbxResponseError) as err:
        await client.async_dial(
            DialRequest("+420777000111", DialSource(DialSourceKind.USER, "+420601000001"))
        )
    assert err.value.code == "callback_failed"
    assert len(pbx_simulator.sim.requests_for("odorik", "POST /callback")) == 2
    assert pbx_simulator.state.calls == {}


async def test_hangup(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    call = pbx_simulator.state.incoming_call("+420601000001")
    await make_client(session, pbx_simulator).async_hangup(
        HangupRequest(HangupTargetKind.CALL, call.id)
    )
    assert call.status is CallStatus.ENDED
    assert sent(pbx_simulator, "DELETE /active_calls/{id}") == AUTH
    (request,) = pbx_simulator.sim.requests_for("odorik", "DELETE /active_calls/{id}")
    assert request.path == f"/api/v1/active_calls/{call.id}.json"


async def test_hangup_of_an_unknown_call(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(PbxResponseError) as err:
        await make_client(session, pbx_simulator).async_hangup(
            HangupRequest(HangupTargetKind.CALL, "1")
        )
    assert err.value.code == "not_found"


@pytest.mark.parametrize(
    "request_",
    [
        HangupRequest(HangupTargetKind.USER, "agent1"),
        HangupRequest(HangupTargetKind.CHANNEL, "SIP/101-00000001"),
        HangupRequest(HangupTargetKind.CALL, "../balance"),
        HangupRequest(HangupTargetKind.CALL, ""),
    ],
)
async def test_hangup_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, request_: HangupRequest
) -> None:
    with pytest.raises(PbxInvalidInput):
        await make_client(session, pbx_simulator).async_hangup(request_)
    assert pbx_simulator.sim.count("odorik") == 0


async def test_send_sms(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    result = await make_client(session, pbx_simulator).async_send_sms(
        SmsRequest(("+420777000111", "+420777000222"), "Ahoj, jak se máš?")
    )
    messages = list(pbx_simulator.state.sms.values())
    assert result.message_ids == ()  # Odorik answers with the credit left, not an id
    assert [(sms.sender, sms.recipient) for sms in messages] == [
        ("5517", "+420777000111"),
        ("5517", "+420777000222"),
    ]
    requests = pbx_simulator.sim.requests_for("odorik", "POST /sms")
    assert [dict(parse_qsl(r.body)) for r in requests] == [
        {
            **AUTH,
            "recipient": number,
            "message": "Ahoj, jak se máš?",
        }
        for number in ("00420777000111", "00420777000222")
    ]


async def test_send_sms_sender(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    # The account's verified mobile number (/sms/allowed_sender, *pub*): it sends abroad;
    # to the Czech Republic Odorik sends such an SMS as smsinfo.
    client = make_client(session, pbx_simulator, options={OPTION_SMS_SENDER: "+420789123456"})
    await client.async_send_sms(SmsRequest(("+421905000111",), "x"))
    assert sent(pbx_simulator, "POST /sms")["sender"] == "00420789123456"
    await client.async_send_sms(SmsRequest(("+420777000111",), "x"))
    await client.async_send_sms(SmsRequest(("+420777000111",), "x", sender="Odorik.cz"))
    assert [sms.sender for sms in pbx_simulator.state.sms.values()] == [
        "+420789123456",
        "smsinfo",
        "Odorik.cz",
    ]


async def test_send_sms_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxInvalidInput):
        await client.async_send_sms(SmsRequest((), "x"))
    assert pbx_simulator.sim.count("odorik") == 0
    with pytest.raises(PbxResponseError) as err:
        await client.async_send_sms(SmsRequest(("+420777000111",), "x", sender="Bank"))
    assert (err.value.code, err.value.translation_key) == (
        "forbidden_sender",
        "sms_invalid_sender",
    )
    assert pbx_simulator.state.sms == {}


async def test_unsupported_actions(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, pbx_simulator)
    refused: list[Awaitable[Any]] = [
        client.async_announce(AnnounceRequest(number="+420777000111", text="x")),
        client.async_transfer(TransferRequest("1", "102")),
        client.async_agent_login("1"),
        client.async_agent_logout("1"),
        client.async_agent_pause("1"),
        client.async_agent_unpause("1"),
        client.async_queue_login("1", "1"),
        client.async_queue_logout("1", "1"),
        client.async_queue_kick("1", "1"),
        client.async_register_webhook("https://example.com/hook"),
        client.async_unregister_webhook("https://example.com/hook"),
    ]
    for action in refused:
        with pytest.raises(PbxUnsupportedError):
            await action
    with pytest.raises(PbxUnsupportedError):
        client.parse_webhook(WebhookRequest("GET", {}, {}, b""))
    assert pbx_simulator.sim.count("odorik") == 0


# --- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "error"), READ_FAULT_ERRORS)
async def test_faults_on_snapshot(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    error: type[PbxError],
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.state.incoming_call("+420601000001")  # something to truncate
    pbx_simulator.sim.faults.append(Fault(provider="odorik", kind=kind, retry_after=7))
    with pytest.raises(error) as raised:
        await make_client(session, pbx_simulator, timeout=0.3).async_fetch_snapshot()
    assert type(raised.value) is error
    if isinstance(raised.value, PbxRateLimitError):
        assert raised.value.retry_after == 7
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in caplog.text
    # We never retry; aiohttp itself repeats an idempotent GET once on a dropped connection.
    assert pbx_simulator.sim.count("odorik") == (2 if kind is FaultKind.DISCONNECT else 1)


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [
        ("GET /calls", FaultKind.TRUNCATED),
        ("GET /calls", FaultKind.HTML),
        ("GET /balance", FaultKind.HTML),
        ("GET /balance", FaultKind.MALFORMED),
    ],
)
async def test_faults_on_later_snapshot_requests(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    endpoint: str,
    kind: FaultKind,
) -> None:
    missed = pbx_simulator.state.incoming_call("+420601000001")
    pbx_simulator.state.hangup(missed.id)
    pbx_simulator.sim.faults.append(Fault(provider="odorik", kind=kind, endpoint=endpoint))
    with pytest.raises(PbxResponseError):
        await make_client(session, pbx_simulator).async_fetch_snapshot()


@pytest.mark.parametrize(
    ("kind", "errors"),
    [
        (FaultKind.HANG, (PbxOutcomeUnknownError, PbxOutcomeUnknownError)),
        (FaultKind.DISCONNECT, (PbxOutcomeUnknownError, PbxOutcomeUnknownError)),
        # A 200 answer the callback or the SMS does not document: it may have gone out.
        (FaultKind.TRUNCATED, (PbxOutcomeUnknownError, PbxOutcomeUnknownError)),
        (FaultKind.MALFORMED, (PbxOutcomeUnknownError, PbxOutcomeUnknownError)),
        (FaultKind.HTML, (PbxOutcomeUnknownError, PbxOutcomeUnknownError)),
        (FaultKind.SERVER_ERROR, (PbxOutcomeUnknownError, PbxOutcomeUnknownError)),
    ],
)
async def test_faults_on_dial_and_sms_are_not_retried(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: FaultKind,
    errors: tuple[type[PbxError], type[PbxError]],
) -> None:
    dial_error, sms_error = errors
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(Fault(provider="odorik", kind=kind))
    client = make_client(session, pbx_simulator, timeout=0.3)
    with pytest.raises(dial_error) as dial_raised:
        await client.async_dial(
            DialRequest("+420777000111", DialSource(DialSourceKind.LINE, FIRST_LINE))
        )
    with pytest.raises(sms_error) as sms_raised:
        await client.async_send_sms(SmsRequest(("+420777000111", "+420777000222"), "x"))
    assert len(pbx_simulator.sim.requests_for("odorik", "POST /callback")) == 1
    assert len(pbx_simulator.sim.requests_for("odorik", "POST /sms")) == 1
    for raised in (dial_raised, sms_raised):
        assert PASSWORD not in str(raised.value)
    assert PASSWORD not in caplog.text


async def test_latency_fault_still_answers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.sim.faults.append(
        Fault(provider="odorik", kind=FaultKind.LATENCY, seconds=0.05, count=1)
    )
    info = await make_client(session, pbx_simulator).async_validate()
    assert info.account_id == USER


async def test_auth_faults_on_hangup(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    call = pbx_simulator.state.incoming_call("+420601000001")
    client = make_client(session, pbx_simulator)
    pbx_simulator.state.credentials["odorik"]["password"] = "changed"
    with pytest.raises(PbxAuthError):
        await client.async_hangup(HangupRequest(HangupTargetKind.CALL, call.id))
    with pytest.raises(PbxAuthError, match=r"unauthorized|HTTP 401"):
        await client.async_fetch_snapshot()
    assert call.status is CallStatus.RINGING


# --- documented examples and unreadable answers ---------------------------------------------


async def serve(bodies: Mapping[str, bytes | tuple[int, bytes]]) -> tuple[str, web.AppRunner]:
    """A loopback server answering `/api/v1/<path>` with the given bodies (HTTP 200 unless
    a status is given); unknown paths get 404."""

    async def answer(request: web.Request) -> web.Response:
        found = bodies.get(request.match_info["path"], (404, b"Not Found"))
        status, body = found if isinstance(found, tuple) else (200, found)
        content_type = "application/json" if body.lstrip()[:1] in (b"[", b"{") else "text/plain"
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/api/v1/{path:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return f"http://127.0.0.1:{port}/api/v1", runner


@pytest.fixture
async def doc_server(socket_enabled: None) -> AsyncGenerator[DocServer]:
    runners: list[web.AppRunner] = []

    async def start(bodies: Mapping[str, bytes | tuple[int, bytes]]) -> str:
        base_url, runner = await serve(bodies)
        runners.append(runner)
        return base_url

    yield start
    for runner in runners:
        await runner.cleanup()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def client_for(session: aiohttp.ClientSession, base_url: str) -> OdorikClient:
    return OdorikClient(session, {"user": USER, "password": PASSWORD, "base_url": base_url})


async def test_documented_snapshot_values(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server(
        {
            "active_calls.json": fixture_bytes("active_calls.json"),
            "calls.json": fixture_bytes("calls.json"),
            "balance": b"554.0288",
        }
    )
    snapshot = await client_for(session, base_url).async_fetch_snapshot()
    (call,) = snapshot.calls.values()
    assert call.call_id == "14990661"
    assert (call.caller, call.callee, call.line) == ("+420533533013", "+420910110006", "403366")
    assert call.state is CallState.ANSWERED
    assert call.started == datetime(2013, 8, 15, 6, 34, 43, tzinfo=UTC)
    assert call.answered == datetime(2013, 8, 15, 6, 34, 46, tzinfo=UTC)
    # The documented history holds one redirected call of 2014: no missed call today, and
    # no caller (the redirection's caller is that of its parent, an incoming call).
    assert (snapshot.missed_calls_today, snapshot.missed_callers) == (0, ())
    assert snapshot.last_caller is None
    assert snapshot.balance == 554.0288


async def test_history_records_in_the_documented_form(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    """The documented record (O:54-68) as an incoming call: missed today, then yesterday."""
    (record,) = json.loads(fixture_bytes("calls.json"))
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        {**record, "id": 1, "direction": "in", "status": "missed", "date": f"{now:%FT%TZ}"},
        {**record, "id": 3, "direction": "in", "status": "answered", "source_number": "00420601"},
        {**record, "id": 2, "direction": "out", "status": "missed"},
        {**record, "id": 4, "direction": "in", "status": "missed", "date": "2014-10-01T11:28:31Z"},
    ]
    base_url = await doc_server(
        {
            "active_calls.json": b"[]",
            "calls.json": json.dumps(rows).encode(),
            "balance": b"1",
        }
    )
    snapshot = await client_for(session, base_url).async_fetch_snapshot()
    assert (snapshot.missed_calls_today, snapshot.missed_callers) == (1, ("+420555444333",))
    assert snapshot.last_caller == "+420555444333"  # id 4, the newest incoming call


async def test_documented_callback_answers(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    request = DialRequest("+420777000111", DialSource(DialSourceKind.LINE, FIRST_LINE))
    for line in fixture_bytes("callback_answers.txt").splitlines():
        client = client_for(session, await doc_server({"callback": line}))
        if line.startswith(b"error "):
            with pytest.raises(PbxResponseError) as err:
                await client.async_dial(request)
            assert err.value.code == line.decode().removeprefix("error ")
        else:
            assert (await client.async_dial(request)).call_id is None


@pytest.mark.parametrize(
    "bodies",
    [
        {"active_calls.json": b'{"calls": []}'},
        {"active_calls.json": b"[14990661]"},
        {"active_calls.json": b'[{"source_number": "00420533533013"}]'},
        {"active_calls.json": b'[{"id": 1'},
        {"active_calls.json": b"[]", "calls.json": b'[{"id": "x"}]'},
        {"active_calls.json": b"[]", "calls.json": b'{"calls": []}'},
        {"active_calls.json": b"[]", "calls.json": b"[]", "balance": b"lots"},
        {"active_calls.json": (400, b"Bad Request")},
        {"nothing": b""},  # a wrong base URL: 404 everywhere
    ],
)
async def test_unreadable_answers_are_response_errors(
    doc_server: DocServer, session: aiohttp.ClientSession, bodies: dict[str, bytes]
) -> None:
    base_url = await doc_server(bodies)
    with pytest.raises(PbxResponseError):
        await client_for(session, base_url).async_fetch_snapshot()


async def test_loose_answers_are_read(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server(
        {
            "active_calls.json": (
                b'[{"id": "7", "source_number": "", "destination_number": "*300000",'
                b' "start_date": "2024-01-01T10:00:00", "answer_date": "soon", "line": ""}]'
            ),
            "calls.json": b'[{"id": "5", "direction": "in", "date": "later"}]',
            "balance": b" 10 \n",
        }
    )
    snapshot = await client_for(session, base_url).async_fetch_snapshot()
    call = snapshot.calls["7"]
    assert (call.caller, call.callee, call.line, call.state) == (
        None,
        "*300000",
        None,
        CallState.RINGING,
    )
    assert call.started == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert (snapshot.missed_calls_today, snapshot.balance) == (0, 10.0)


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        (b"error authentication_required", PbxAuthError, None),
        (b"unauthorized", PbxAuthError, None),
        (b"error callback_failed", PbxResponseError, "callback_failed"),
        (b"error missing_argument caller,recipient", PbxResponseError, "missing_argument"),
        # Handed over, but neither documented success nor refusal: it may ring already.
        (b"callback", PbxOutcomeUnknownError, None),  # cut short
        (b"<html><body>Proxy</body></html>", PbxOutcomeUnknownError, None),
        (b"callback_accepted", PbxOutcomeUnknownError, None),
    ],
)
async def test_callback_answers(
    doc_server: DocServer,
    session: aiohttp.ClientSession,
    answer: bytes,
    error: type[PbxError],
    code: str | None,
) -> None:
    client = client_for(session, await doc_server({"callback": answer}))
    with pytest.raises(error) as raised:
        await client.async_dial(
            DialRequest("+420777000111", DialSource(DialSourceKind.LINE, FIRST_LINE))
        )
    if isinstance(raised.value, PbxResponseError):
        assert raised.value.code == code


async def test_sms_answers(doc_server: DocServer, session: aiohttp.ClientSession) -> None:
    request = SmsRequest(("+420777000111",), "x")
    client = client_for(session, await doc_server({"sms": b"successfully_sent"}))
    assert (await client.async_send_sms(request)).message_ids == ()
    # *pub* POST /sms: `successfully_sent <aktualni_kredit>`; the number is no message id.
    client = client_for(session, await doc_server({"sms": b"successfully_sent 554.03"}))
    assert (await client.async_send_sms(request)).message_ids == ()
    client = client_for(session, await doc_server({"sms": b"sent"}))
    with pytest.raises(PbxOutcomeUnknownError, match="may have been sent"):
        await client.async_send_sms(request)
    client = client_for(session, await doc_server({"sms": b"error unsupported_recipient"}))
    with pytest.raises(PbxResponseError) as refused:
        await client.async_send_sms(request)
    assert not isinstance(refused.value, PbxOutcomeUnknownError)


async def test_documented_sms_answers(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    """The answers https://www.odorik.cz/w/api:sms lists for POST /sms (sms_answers.txt),
    and `successfully_sent <aktualni_kredit>` with the credit of the api:balance example."""
    request = SmsRequest(("+420777000111",), "x")
    sent_answer = b"successfully_sent " + fixture_bytes("balance.txt")
    for line in [sent_answer, *fixture_bytes("sms_answers.txt").splitlines()]:
        client = client_for(session, await doc_server({"sms": line}))
        if not line.startswith(b"error "):
            assert (await client.async_send_sms(request)).message_ids == ()
            continue
        with pytest.raises(PbxResponseError) as err:
            await client.async_send_sms(request)
        word = line.decode().removeprefix("error ")
        assert not isinstance(err.value, PbxOutcomeUnknownError)
        assert (err.value.code, err.value.translation_key) == (word, SMS_REFUSAL_KEYS.get(word))


SMS_REFUSAL_KEYS = {
    "forbidden_sender": "sms_invalid_sender",
    "unsupported_recipient": "sms_invalid_recipient",
    "gateway_failed": "sms_gateway_error",
    "low_balance": "sms_low_balance",
}


async def test_documented_balance(doc_server: DocServer, session: aiohttp.ClientSession) -> None:
    """GET /balance: the example of https://www.odorik.cz/w/api:balance (balance.txt)."""
    base_url = await doc_server(
        {"active_calls.json": b"[]", "calls.json": b"[]", "balance": fixture_bytes("balance.txt")}
    )
    assert (await client_for(session, base_url).async_fetch_snapshot()).balance == 193.32


async def test_sms_longer_than_odorik_sends_is_refused_before_sending(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Odorik cuts a message off after 765 characters (https://www.odorik.cz/w/api:sms)."""
    client = make_client(session, pbx_simulator)
    with pytest.raises(PbxInvalidInput, match="765"):
        await client.async_send_sms(SmsRequest(("+420777000111",), "é" * 766))
    assert pbx_simulator.sim.count("odorik") == 0
    await client.async_send_sms(SmsRequest(("+420777000111",), "é" * 765))
    (sms,) = pbx_simulator.state.sms.values()
    assert sms.text == "é" * 765


@pytest.mark.parametrize(
    ("sender", "refused"),
    [
        (None, False),
        ("smsinfo", False),  # to the Czech Republic whatever the list says
        ("5517", False),
        ("Odorik.cz", False),
        ("+420789123456", False),  # listed, written 00420789123456
        ("+420245008328", True),
        ("Bank", True),
    ],
)
async def test_check_options_sms_sender(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    sender: str | None,
    refused: bool,
) -> None:
    client = make_client(
        session, pbx_simulator, options={OPTION_SMS_SENDER: sender} if sender else None
    )
    expected = {OPTION_SMS_SENDER: "sms_sender_not_allowed"} if refused else {}
    assert await client.async_check_options() == expected


async def test_check_options_reads_the_documented_allowed_senders(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    """The example answer of GET /sms/allowed_sender (https://www.odorik.cz/w/api:sms)."""
    base_url = await doc_server({"sms/allowed_sender": fixture_bytes("sms_allowed_sender.txt")})
    for sender, errors in (
        ("00420789123456", {}),
        ("+420789123456", {}),
        ("+420789123457", {OPTION_SMS_SENDER: "sms_sender_not_allowed"}),
    ):
        client = OdorikClient(
            session,
            {"user": USER, "password": PASSWORD, "base_url": base_url},
            options={OPTION_SMS_SENDER: sender},
        )
        assert await client.async_check_options() == errors
    failing = await doc_server({"sms/allowed_sender": b"error authentication_failed"})
    client = OdorikClient(
        session,
        {"user": USER, "password": PASSWORD, "base_url": failing},
        options={OPTION_SMS_SENDER: "Bank"},
    )
    with pytest.raises(PbxAuthError):
        await client.async_check_options()


async def test_the_password_is_redacted_from_provider_messages(
    doc_server: DocServer, session: aiohttp.ClientSession
) -> None:
    base_url = await doc_server({"balance": f"error bad_request password={PASSWORD}".encode()})
    with pytest.raises(PbxResponseError) as raised:
        await client_for(session, base_url).async_validate()
    assert raised.value.code == "bad_request"
    assert PASSWORD not in str(raised.value)


# --- history paging (O:46-51) ---------------------------------------------------------------


async def test_history_reads_pages_up_to_a_cap_and_continues_next_poll(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("pbx_simulator.providers.odorik.MAX_PAGE_SIZE", 3)
    state = pbx_simulator.state
    missed = []
    for number in range(10):
        call = state.incoming_call(f"+42060100{number:04d}")
        state.hangup(call.id)
        missed.append(call)
    client = make_client(session, pbx_simulator)

    snapshot = await client.async_fetch_snapshot()
    pages = [
        request.query.get("page")
        for request in pbx_simulator.sim.requests_for("odorik", "GET /calls")
    ]
    assert pages == [None, "2", "3"]  # 4 pages of 3: three a poll
    assert snapshot.missed_calls_today == 9

    pbx_simulator.sim.requests.clear()
    snapshot = await client.async_fetch_snapshot()
    assert sent(pbx_simulator, "GET /calls")["since_id"] == missed[8].id
    assert snapshot.missed_calls_today == 10
    assert snapshot.last_caller == "+420601000009"


async def test_history_listed_newest_first_is_read_from_the_oldest_page(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    """The record order is not documented: newest first, the oldest pages are the last."""
    today = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    asked: list[dict[str, str]] = []

    async def calls(request: web.Request) -> web.Response:
        asked.append(dict(request.query))
        since = int(request.query.get("since_id", "0"))
        ids = [call_id for call_id in range(8, 0, -1) if call_id > since]
        page = int(request.query.get("page", "1"))
        rows = [
            {
                "id": call_id,
                "date": today,
                "direction": "in",
                "status": "missed",
                "source_number": f"0042060100000{call_id}",
            }
            for call_id in ids[(page - 1) * 2 : page * 2]
        ]
        return web.json_response(rows, headers={"Odorik-Pages": str(max(1, -(-len(ids) // 2)))})

    async def no_calls(_request: web.Request) -> web.Response:
        return web.json_response([])

    async def balance(_request: web.Request) -> web.Response:
        return web.Response(text="1.0")

    app = web.Application()
    app.router.add_get("/api/v1/calls.json", calls)
    app.router.add_get("/api/v1/active_calls.json", no_calls)
    app.router.add_get("/api/v1/balance", balance)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        client = client_for(session, f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1")
        snapshot = await client.async_fetch_snapshot()
        assert [query.get("page") for query in asked] == [None, "4", "3"]
        assert snapshot.missed_calls_today == 4  # ids 1-4, the oldest
        asked.clear()
        snapshot = await client.async_fetch_snapshot()
        assert [(query["since_id"], query.get("page")) for query in asked] == [
            ("4", None),
            ("4", "2"),
        ]
        assert snapshot.missed_calls_today == 8
        assert snapshot.last_caller == "+420601000008"
    finally:
        await runner.cleanup()
