"""The Odorik simulation answers as shared/provider-docs/odorik-calls.txt shows."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from pbx_simulator.providers.odorik import OdorikSim, e164, odorik_number
from pbx_simulator.state import CallStatus, Direction, SimCall, SimState
from pbx_simulator.testing import RunningSimulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "odorik"
USER = "3531234"
PASSWORD = "odorik-api-7788"
AUTH = {"user": USER, "password": PASSWORD}
FIRST_LINE = "403366"  # line 1 of the seeded account, the documented line number
EVER = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def odorik(running: RunningSimulator) -> OdorikSim:
    sim = running.sim.providers["odorik"]
    assert isinstance(sim, OdorikSim)
    return sim


async def send(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    method: str,
    path: str,
    *,
    auth: dict[str, str] | None = None,
    **params: str,
) -> tuple[int, Mapping[str, str], str]:
    """One request with the credentials (query for GET/DELETE, form body for POST)."""
    url = running.config["odorik"]["base_url"] + path
    values = {**(AUTH if auth is None else auth), **params}
    if method == "POST":
        request = session.post(url, data=values)
    else:
        request = session.request(method, url, params=values)
    async with request as response:
        return response.status, response.headers, await response.text()


async def text(
    session: aiohttp.ClientSession, running: RunningSimulator, path: str, **params: str
) -> str:
    """A plain-text action or read: HTTP 200, `text/plain`."""
    method = "GET" if path == "/balance" else "POST"
    status, headers, body = await send(session, running, method, path, **params)
    assert status == 200
    assert str(headers["Content-Type"]).startswith("text/plain")
    return body


async def read_json(
    session: aiohttp.ClientSession, running: RunningSimulator, path: str, **params: str
) -> Any:
    status, headers, body = await send(session, running, "GET", path, **params)
    assert status == 200, body
    assert str(headers["Content-Type"]).startswith("application/json")
    return json.loads(body)


def documented(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def assert_shape(row: dict[str, Any], example: dict[str, Any]) -> None:
    """The same keys as the documented example, each of the example's JSON type or null."""
    assert list(row) == list(example)
    for key, value in row.items():
        if value is None or example[key] is None:
            continue
        expected = float if isinstance(example[key], float) else type(example[key])
        assert isinstance(value, expected), (key, value)


def ended_call(
    state: SimState, caller: str, *, answered: bool, callee: str | None = None
) -> SimCall:
    call = state.incoming_call(caller, callee)
    if answered:
        state.answer(call.id)
    state.hangup(call.id)
    return call


# --- configuration and authentication ------------------------------------------------------


def test_config_uses_the_provider_parameter_names(pbx_simulator: RunningSimulator) -> None:
    config = pbx_simulator.config["odorik"]
    assert config == {
        "base_url": f"{pbx_simulator.origin}/odorik/api/v1",
        "user": USER,
        "password": PASSWORD,
    }


def test_numbers_between_the_state_and_the_wire() -> None:
    assert odorik_number("+420601234567") == "00420601234567"
    assert odorik_number("245008328") == "00420245008328"  # a national DID
    assert odorik_number("403366") == "403366"  # a line
    assert odorik_number("*300000") == "*300000"
    assert e164("00420601234567") == "+420601234567"
    assert e164("403366") == "403366"


ENDPOINTS = [
    ("POST", "/callback"),
    ("GET", "/calls.json"),
    ("GET", "/call_statistics.json"),
    ("GET", "/call_statistics/by_destination.json"),
    ("GET", "/call_statistics/missed_calls.json"),
    ("POST", "/sms"),
    ("GET", "/sms/allowed_sender"),
    ("GET", "/balance"),
    ("GET", "/lines.json"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_wrong_and_missing_credentials(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    state = pbx_simulator.state
    calls_before, sms_before = len(state.calls), len(state.sms)
    wrong = {"user": USER, "password": "wrong"}
    status, _, body = await send(session, pbx_simulator, method, path, auth=wrong)
    assert (status, body) == (200, "error authentication_failed")
    status, _, body = await send(session, pbx_simulator, method, path, auth={})
    assert (status, body) == (200, "error authentication_required")
    assert (len(state.calls), len(state.sms)) == (calls_before, sms_before)


async def test_active_calls_answer_unauthorized(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    call = pbx_simulator.state.incoming_call("+420601000001")
    wrong = {"user": USER, "password": "wrong"}
    for method, path in (
        ("GET", "/active_calls.json"),
        ("DELETE", f"/active_calls/{call.id}.json"),
    ):
        status, _, body = await send(session, pbx_simulator, method, path, auth=wrong)
        assert (status, body) == (401, "unauthorized")
    assert call.status is CallStatus.RINGING


async def test_changed_credentials_apply_at_once(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.state.credentials["odorik"]["password"] = "new-password"
    assert await text(session, pbx_simulator, "/balance") == "error authentication_failed"
    new = {"user": USER, "password": "new-password"}
    status, _, body = await send(session, pbx_simulator, "GET", "/balance", auth=new)
    assert (status, body) == (200, "554.03")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing.json"),
        ("GET", "/calls.xml"),  # only the JSON variant is simulated
        ("GET", "/balance.json"),
        ("POST", "/callback.json"),
        ("GET", "/callback"),
        ("POST", "/active_calls.json"),
    ],
)
async def test_unknown_paths_and_formats(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    status, _, body = await send(session, pbx_simulator, method, path)
    assert (status, body) == (404, "Not Found")


def test_endpoint_keys(pbx_simulator: RunningSimulator) -> None:
    sim = odorik(pbx_simulator)
    assert set(sim.routes) == {
        "POST /callback",
        "GET /calls",
        "GET /active_calls",
        "DELETE /active_calls/{id}",
        "GET /call_statistics",
        "GET /call_statistics/by_destination",
        "GET /call_statistics/missed_calls",
        "GET /sms/allowed_sender",
        "POST /sms",
        "GET /balance",
        "GET /lines",
    }


# --- callback -------------------------------------------------------------------------------


async def test_callback_rings_the_caller_then_the_recipient(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    answer = await text(
        session, pbx_simulator, "/callback", caller="00420601000001", recipient="00420777000111"
    )
    assert answer == "callback_ordered"
    (call,) = pbx_simulator.state.calls.values()
    assert (call.direction, call.caller, call.callee) == (
        Direction.OUT,
        "+420601000001",
        "+420777000111",
    )
    assert (call.status, call.line_id) == (CallStatus.RINGING, None)
    (request,) = pbx_simulator.sim.requests_for("odorik", "POST /callback")
    assert request.path == "/api/v1/callback"


async def test_callback_through_a_line(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    answer = await text(
        session,
        pbx_simulator,
        "/callback",
        caller=f"*{FIRST_LINE}",
        recipient="00420777000111",
        line=FIRST_LINE,
        simple="true",
    )
    assert answer == "callback_ordered"
    (call,) = state.calls.values()
    line = state.lines["1"]
    assert (call.line_id, call.agent_id, call.caller) == ("1", line.agent_id, line.name)
    (active,) = await read_json(session, pbx_simulator, "/active_calls.json")
    assert (active["source_number"], active["line"]) == (FIRST_LINE, 403366)


async def test_callback_with_the_caller_a_line_and_no_line_parameter(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    answer = await text(
        session, pbx_simulator, "/callback", caller="*403367", recipient="00420777000111"
    )
    assert answer == "callback_ordered"
    (call,) = pbx_simulator.state.calls.values()
    assert call.line_id == "2"


async def test_callback_caller_a_bare_line_id_is_no_line(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """`caller` is a phone number (O:11): without the network's `*` (O:59) a line id is not
    taken for the line."""
    await text(session, pbx_simulator, "/callback", caller="403367", recipient="00420777000111")
    (call,) = pbx_simulator.state.calls.values()
    assert (call.caller, call.line_id) == ("403367", None)


@pytest.mark.parametrize("delayed", ["15", "2036-07-16T08:12:14Z", "2036-07-16T10:12:14+02:00"])
async def test_delayed_callback_is_enqueued(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, delayed: str
) -> None:
    answer = await text(
        session,
        pbx_simulator,
        "/callback",
        caller="00420601000001",
        recipient="00420777000111",
        delayed=delayed,
        line=FIRST_LINE,
    )
    assert answer == "successfully_enqueued"
    assert pbx_simulator.state.calls == {}
    (queued,) = odorik(pbx_simulator).delayed_callbacks
    assert (queued.caller, queued.recipient, queued.line_id) == (
        "+420601000001",
        "+420777000111",
        "1",
    )
    if delayed == "15":
        assert queued.at - pbx_simulator.state.now() == timedelta(minutes=15)
    else:
        assert queued.at == datetime(2036, 7, 16, 8, 12, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "answer"),
    [
        ({}, "error missing_argument caller,recipient"),
        ({"recipient": "00420777000111"}, "error missing_argument caller"),
        ({"caller": "00420601000001"}, "error missing_argument recipient"),
        ({"delayed": "tomorrow"}, "error invalid_delay_format"),
        ({"delayed": "2001-01-01"}, "error invalid_delay_format"),
        ({"delayed": "2013-06-05T11:15:00 02:00"}, "error invalid_delay_format"),
        ({"delayed": "2001-01-01T00:00:00Z"}, "error delayed_into_past"),
        ({"line": "999999"}, "error invalid_line"),
    ],
)
async def test_callback_refusals(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    params: dict[str, str],
    answer: str,
) -> None:
    if params and "caller" not in params and "recipient" not in params:
        params = {"caller": "00420601000001", "recipient": "00420777000111", **params}
    assert await text(session, pbx_simulator, "/callback", **params) == answer
    assert pbx_simulator.state.calls == {}
    assert odorik(pbx_simulator).delayed_callbacks == []


async def test_callback_failed(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    odorik(pbx_simulator).fail_callbacks = True
    answer = await text(
        session, pbx_simulator, "/callback", caller="00420601000001", recipient="00420777000111"
    )
    assert answer == "error callback_failed"
    assert pbx_simulator.state.calls == {}


async def test_documented_callback_answers_are_the_simulated_ones(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    documented_answers = (FIXTURES / "callback_answers.txt").read_text().splitlines()
    seen = {
        await text(session, pbx_simulator, "/callback", caller="00420601", recipient="0042077"),
        await text(session, pbx_simulator, "/callback", caller="00", recipient="00", delayed="5"),
        await text(session, pbx_simulator, "/callback", caller="00", recipient="00", delayed="x"),
        await text(
            session,
            pbx_simulator,
            "/callback",
            caller="00",
            recipient="00",
            delayed="2001-01-01T00:00:00Z",
        ),
        await text(session, pbx_simulator, "/callback", caller="00", recipient="00", line="1"),
    }
    odorik(pbx_simulator).fail_callbacks = True
    seen.add(await text(session, pbx_simulator, "/callback", caller="00", recipient="00"))
    assert seen == set(documented_answers)


# --- call history ---------------------------------------------------------------------------


async def test_calls_have_the_documented_shape(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    missed = ended_call(state, "+420601000001", answered=False)
    answered = ended_call(state, "+420601000002", answered=True)
    out = state.originate("+420245008328", "+420777000111", line_id="1")
    state.answer(out.id)
    state.hangup(out.id)
    state.incoming_call("+420601000003")  # still ringing: not in the history
    (example,) = documented("calls.json")
    status, headers, body = await send(session, pbx_simulator, "GET", "/calls.json", **EVER)
    assert status == 200
    assert headers["Odorik-Pages"] == "1"
    rows = json.loads(body)
    assert [row["id"] for row in rows] == [int(missed.id), int(answered.id), int(out.id)]
    for row in rows:
        assert_shape(row, example)
    first, _, last = rows
    assert first["direction"] == "in"
    assert first["status"] == "missed"
    assert first["source_number"] == "00420601000001"
    assert first["destination_number"] == "00420245008328"
    assert first["destination_name"] == "Česko v síti"
    assert first["date"] == missed.created.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (last["direction"], last["status"], last["line"]) == ("out", "answered", 403366)
    assert last["destination_name"] == "Česká rep. - mobil"
    assert last["price_per_minute"] == 0.59
    assert "Česko" in body  # written as the documentation does, not \u-escaped


async def test_calls_need_a_period_or_since_id(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    first = ended_call(pbx_simulator.state, "+420601000001", answered=False)
    second = ended_call(pbx_simulator.state, "+420601000002", answered=False)
    for params, answer in (
        ({}, "error missing_argument from,to"),
        ({"from": EVER["from"]}, "error missing_argument to"),
        ({"from": "yesterday", "to": EVER["to"]}, "error invalid_date_format"),
    ):
        status, _, body = await send(session, pbx_simulator, "GET", "/calls.json", **params)
        assert (status, body) == (200, answer)
    rows = await read_json(session, pbx_simulator, "/calls.json", since_id=first.id)
    assert [row["id"] for row in rows] == [int(second.id)]


async def test_an_unencoded_plus_in_a_date_is_refused(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """The documentation warns: a raw `+` arrives as a space."""
    base = pbx_simulator.config["odorik"]["base_url"]
    query = f"user={USER}&password={PASSWORD}&to=2100-01-01T00:00:00Z"
    raw = URL(f"{base}/calls.json?{query}&from=2013-06-05T11:15:00+02:00", encoded=True)
    async with session.get(raw) as response:
        assert await response.text() == "error invalid_date_format"
    encoded = URL(f"{base}/calls.json?{query}&from=2013-06-05T11:15:00%2B02:00", encoded=True)
    async with session.get(encoded) as response:
        assert json.loads(await response.text()) == []


async def test_calls_filters(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    missed = ended_call(state, "+420601000001", answered=False)
    answered = ended_call(state, "+420602000002", answered=True)
    assert answered.answered is not None
    answered.ended = answered.answered + timedelta(seconds=90)  # incoming: free
    out = state.originate("101", "+420777000111", agent_id="1")
    state.answer(out.id)
    state.hangup(out.id)
    assert out.answered is not None
    out.ended = out.answered + timedelta(seconds=120)  # 2 minutes at 0.59
    moved = ended_call(state, "+420603000003", answered=True)
    moved.transferred_to = "102"

    async def ids(**params: str) -> list[int]:
        rows = await read_json(session, pbx_simulator, "/calls.json", **EVER, **params)
        return [row["id"] for row in rows]

    assert await ids(direction="in") == [int(missed.id), int(answered.id)]
    assert await ids(direction="out") == [int(out.id)]
    assert await ids(direction="redirected") == [int(moved.id)]
    assert await ids(status="missed") == [int(missed.id)]
    assert await ids(line=FIRST_LINE) == [int(out.id)]
    assert await ids(phone_number_filter="00420602") == [int(answered.id)]
    assert await ids(phone_number_filter="403366") == [int(out.id)]
    assert await ids(min_length="100") == [int(out.id)]
    assert await ids(max_length="0") == [int(missed.id), int(moved.id)]
    assert await ids(min_price="1") == [int(out.id)]
    assert await ids(max_price="0") == [int(missed.id), int(answered.id), int(moved.id)]
    (row,) = await read_json(
        session, pbx_simulator, "/calls.json", **EVER, direction="out", sip_ids="true"
    )
    assert (row["length"], row["price"]) == (120, 1.18)
    assert row["sip_in_call_id"]
    assert row["sip_out_call_id"]
    status, _, body = await send(
        session, pbx_simulator, "GET", "/calls.json", **EVER, min_price="cheap"
    )
    assert (status, body) == (200, "error invalid_argument min_price")


async def test_calls_pages(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    calls = [ended_call(pbx_simulator.state, f"+42060100000{n}", answered=False) for n in range(5)]
    status, headers, body = await send(
        session, pbx_simulator, "GET", "/calls.json", **EVER, page_size="2", page="3"
    )
    assert (status, headers["Odorik-Pages"]) == (200, "3")
    assert [row["id"] for row in json.loads(body)] == [int(calls[4].id)]
    status, _, body = await send(session, pbx_simulator, "GET", "/calls.json", **EVER, page="last")
    assert body == "error invalid_argument page"


async def test_calls_page_size_is_at_most_2000(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    for n in range(2001):
        ended_call(pbx_simulator.state, f"+420601{n:06d}", answered=False)
    status, headers, body = await send(
        session, pbx_simulator, "GET", "/calls.json", **EVER, page_size="5000"
    )
    assert (status, headers["Odorik-Pages"], len(json.loads(body))) == (200, "2", 2000)


# --- statistics -----------------------------------------------------------------------------


async def test_statistics_have_the_documented_shape(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    ended_call(state, "+420601000001", answered=False)
    out = state.originate("101", "+420245000111", agent_id="1")
    state.answer(out.id)
    state.hangup(out.id)
    assert out.answered is not None
    out.ended = out.answered + timedelta(seconds=60)
    example = documented("call_statistics.json")
    stats = await read_json(session, pbx_simulator, "/call_statistics.json")
    assert list(stats) == list(example)
    for key, totals in stats.items():
        assert_shape(totals, example[key])
    assert stats["incoming"] == {"count": 1, "length": 0, "price": 0.0}
    assert stats["outgoing"] == {"count": 1, "length": 60, "price": 0.49}
    assert stats["redirected"] == {"count": 0, "length": 0, "price": 0.0}
    only_in = await read_json(session, pbx_simulator, "/call_statistics.json", direction="in")
    assert only_in["outgoing"]["count"] == 0

    example_rows = documented("call_statistics_by_destination.json")
    rows = await read_json(session, pbx_simulator, "/call_statistics/by_destination.json")
    for row in rows:
        assert_shape(row, example_rows[0])
    assert {(row["destination"], row["direction"], row["count"]) for row in rows} == {
        ("Česko v síti", "in", 1),
        ("Česká rep. - pevna", "out", 1),
    }


async def test_missed_calls_statistics(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    for _ in range(2):
        ended_call(state, "+420601000001", answered=False)
    ended_call(state, "+420601000002", answered=False, callee="245008329")
    ended_call(state, "+420601000003", answered=True)
    state.incoming_call("+420601000004")  # ringing: not missed yet
    example = documented("call_statistics_missed_calls.json")
    rows = await read_json(session, pbx_simulator, "/call_statistics/missed_calls.json")
    for row in rows:
        assert_shape(row, example[0])
    assert rows == [
        {"destination_number": "00420245008328", "count": 2},
        {"destination_number": "00420245008329", "count": 1},
    ]
    # The documentation lists no parameter (O:134-138): a period changes nothing either.
    tomorrow = (state.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = await read_json(
        session, pbx_simulator, "/call_statistics/missed_calls.json", **{"from": tomorrow}
    )
    assert later == rows
    same = await read_json(
        session, pbx_simulator, "/call_statistics/missed_calls.json", direction="out"
    )
    assert same == rows


# --- active calls and hangup ------------------------------------------------------------------


async def test_active_calls_have_the_documented_shape(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    ringing = state.incoming_call("+420601000001")
    talking = state.originate("101", "+420777000111", agent_id="1")
    state.answer(talking.id)
    ended_call(state, "+420601000002", answered=True)
    (example,) = documented("active_calls.json")
    rows = await read_json(session, pbx_simulator, "/active_calls.json")
    for row in rows:
        assert_shape(row, example)
    first, second = rows
    assert first["id"] == int(ringing.id) == 14990661
    assert first["answer_date"] is None
    assert (first["source_number"], first["destination_number"], first["line"]) == (
        "00420601000001",
        "00420245008328",
        None,
    )
    assert second["id"] == int(talking.id)
    assert second["answer_date"] == second["start_date"]
    assert (second["source_number"], second["line"]) == (FIRST_LINE, 403366)


async def test_hangup(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    call = pbx_simulator.state.incoming_call("+420601000001")
    status, _, body = await send(session, pbx_simulator, "DELETE", f"/active_calls/{call.id}.json")
    assert (status, body) == (200, "")
    assert call.status is CallStatus.ENDED
    assert await read_json(session, pbx_simulator, "/active_calls.json") == []
    (request,) = pbx_simulator.sim.requests_for("odorik", "DELETE /active_calls/{id}")
    assert request.path == f"/api/v1/active_calls/{call.id}.json"
    for call_id in (call.id, "1"):
        status, _, body = await send(
            session, pbx_simulator, "DELETE", f"/active_calls/{call_id}.json"
        )
        assert (status, body) == (404, "error not_found")


# --- pub: SMS, balance, lines -------------------------------------------------------------------


async def test_send_sms(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    answer = await text(
        session, pbx_simulator, "/sms", recipient="00420777000111", message="Ahoj, jak se máš?"
    )
    (sms,) = pbx_simulator.state.sms.values()
    assert answer == "successfully_sent 554.03"  # the credit left (*pub*)
    assert (sms.sender, sms.recipient, sms.text) == ("5517", "+420777000111", "Ahoj, jak se máš?")
    for named in ("Odorik.cz", "smsinfo", "00420789123456"):
        await text(
            session, pbx_simulator, "/sms", recipient="00420777000111", message="x", sender=named
        )
    # Abroad the listed number sends as itself; to the Czech Republic as smsinfo (*pub*).
    await text(
        session,
        pbx_simulator,
        "/sms",
        recipient="00421905000111",
        message="x",
        sender="00420789123456",
    )
    assert [s.sender for s in pbx_simulator.state.sms.values()][1:] == [
        "Odorik.cz",
        "smsinfo",
        "smsinfo",
        "+420789123456",
    ]


async def test_sms_allowed_senders(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """GET /sms/allowed_sender answers as the page's example (https://www.odorik.cz/w/api:sms)."""
    documented_answer = (FIXTURES / "sms_allowed_sender.txt").read_text()
    status, headers, body = await send(session, pbx_simulator, "GET", "/sms/allowed_sender")
    assert (status, body) == (200, documented_answer)
    assert str(headers["Content-Type"]).startswith("text/plain")


async def test_sms_message_is_cut_to_765_characters(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    await text(session, pbx_simulator, "/sms", recipient="00420777000111", message="é" * 800)
    (sms,) = pbx_simulator.state.sms.values()
    assert sms.text == "é" * 765


async def test_delayed_sms_is_enqueued(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    answer = await text(
        session, pbx_simulator, "/sms", recipient="00420777000111", message="x", delayed="5"
    )
    assert answer == "successfully_enqueued"
    assert pbx_simulator.state.sms == {}
    (delayed,) = odorik(pbx_simulator).delayed_sms
    assert (delayed.sender, delayed.recipient, delayed.text) == ("5517", "+420777000111", "x")
    assert timedelta(minutes=4) < delayed.at - pbx_simulator.state.now() <= timedelta(minutes=5)


def test_documented_sms_refusals_are_simulated() -> None:
    """Every refusal https://www.odorik.cz/w/api:sms lists, but the two that need a failing
    gateway or no credit (test_sms_gateway_and_credit_refusals), is in SMS_REFUSALS."""
    documented_answers = (FIXTURES / "sms_answers.txt").read_text().splitlines()
    refusals = {line for line in documented_answers if line.startswith("error ")}
    simulated = {answer for _, answer in SMS_REFUSALS}
    assert refusals - simulated == {"error low_balance", "error gateway_failed"}


async def test_sms_gateway_and_credit_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    params = {"recipient": "00420777000111", "message": "x"}
    odorik(pbx_simulator).fail_sms = True
    assert await text(session, pbx_simulator, "/sms", **params) == "error gateway_failed"
    pbx_simulator.state.balance = 0
    assert await text(session, pbx_simulator, "/sms", **params) == "error low_balance"
    assert pbx_simulator.state.sms == {}


SMS_REFUSALS = [
    ({}, "error missing_argument recipient,message"),
    ({"recipient": "00420777000111"}, "error missing_argument message"),
    ({"recipient": "00420777000111", "message": ""}, "error empty_message"),
    ({"recipient": "00420777000111", "message": " \n"}, "error empty_message"),
    ({"recipient": "Karel", "message": "x"}, "error unsupported_recipient"),
    # *pub*: "telefonní číslo v mezinárodním formátu začínající 00"
    ({"recipient": "+420777000111", "message": "x"}, "error unsupported_recipient"),
    ({"recipient": "777000111", "message": "x"}, "error unsupported_recipient"),
    (
        {"recipient": "00420777000111", "message": "x", "sender": "Bank"},
        "error forbidden_sender",
    ),
    # Not among /sms/allowed_sender; to the Czech Republic only Odorik.cz, smsinfo, 5517.
    (
        {"recipient": "00421905000111", "message": "x", "sender": "00420245008328"},
        "error forbidden_sender",
    ),
    (
        {"recipient": "00420777000111", "message": "x", "sender": "00420245008328"},
        "error forbidden_sender",
    ),
    (
        {"recipient": "00421905000111", "message": "x", "sender": "smsinfo"},
        "error forbidden_sender",
    ),
    (
        {"recipient": "00420777000111", "message": "x", "delayed": "soon"},
        "error invalid_delay_format",
    ),
    (
        {"recipient": "00420777000111", "message": "x", "delayed": "2000-01-01T00:00:00Z"},
        "error delayed_into_past",
    ),
]


@pytest.mark.parametrize(("params", "answer"), SMS_REFUSALS)
async def test_send_sms_refusals(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    params: dict[str, str],
    answer: str,
) -> None:
    assert await text(session, pbx_simulator, "/sms", **params) == answer
    assert pbx_simulator.state.sms == {}


async def test_balance(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    assert await text(session, pbx_simulator, "/balance") == "554.03"
    pbx_simulator.state.balance = 12.5
    assert await text(session, pbx_simulator, "/balance") == "12.50"


async def test_lines(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    rows = await read_json(session, pbx_simulator, "/lines.json")
    extensions = [line for line in state.lines.values() if line.kind == "extension"]
    assert [row["id"] for row in rows] == [403365 + int(line.id) for line in extensions]
    assert rows[0] == {"id": 403366, "name": state.agents["1"].name}
    assert rows[-1]["name"] == f"Linka {extensions[-1].name}"  # a line without an agent


@pytest.mark.parametrize(
    ("recipient", "name", "per_minute"),
    [
        ("00420777000111", "Česká rep. - mobil", 0.59),
        ("00420245000111", "Česká rep. - pevna", 0.49),
        ("00441234567890", "Zahraničí", 1.49),
        ("*300000", "Česká rep. - * v síti", 0.0),
        ("403367", "Česká rep. - * v síti", 0.0),  # another line of the account
    ],
)
async def test_destination_names_and_prices(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    recipient: str,
    name: str,
    per_minute: float,
) -> None:
    await text(session, pbx_simulator, "/callback", caller=FIRST_LINE, recipient=recipient)
    (row,) = await read_json(session, pbx_simulator, "/active_calls.json")
    assert (row["destination_number"], row["destination_name"]) == (recipient, name)
    assert row["price_per_minute"] == per_minute
