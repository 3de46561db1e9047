"""The Yemot (call2all) simulation answers as shared/provider-docs/yemot-call2all.txt shows."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from pbx_simulator.providers.yemot import YemotSim, international_digits, local_number
from pbx_simulator.state import CallStatus, Direction, SimState
from pbx_simulator.testing import RunningSimulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "yemot"
TOKEN = "0773137770:ym-4567-pass"
COMMANDS = (
    "GetSipAccountsRegisteredStatus",
    "SipGetContexts",
    "GetQueueRealTime",
    "QueueManagement",
    "CallExtensionBridging",
    "GetSmsIncomingLog",
    "SendTTS",
    "SendSms",
    "RunTzintuk",
    "GetSession",
    "GetIncomingCalls",
)
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def is_paused(state: SimState, agent_id: str) -> bool:
    """Read through a call, so type narrowing does not outlive the actions in between."""
    return state.agents[agent_id].paused


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def yemot(running: RunningSimulator) -> YemotSim:
    sim = running.sim.providers["yemot"]
    assert isinstance(sim, YemotSim)
    return sim


async def ask(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    command: str,
    *,
    method: str = "GET",
    json_body: Any = None,
    **params: str,
) -> dict[str, Any]:
    """Send one command (GET query, POST form, or POST JSON) and return the JSON answer."""
    url = f"{running.config['yemot']['base_url']}/{command}"
    if json_body is not None:
        request = session.post(url, json=json_body)
    elif method == "POST":
        request = session.post(url, data={"token": TOKEN, **params})
    else:
        request = session.get(url, params={"token": TOKEN, **params})
    async with request as response:
        assert response.status == 200  # Yemot answers 200 even on errors
        assert response.content_type == "application/json"
        answer = json.loads(await response.read())
    assert isinstance(answer, dict)
    return answer


def test_config_uses_the_provider_parameter_names(pbx_simulator: RunningSimulator) -> None:
    config = pbx_simulator.config["yemot"]
    assert set(config) == {"base_url", "token"}
    assert config["base_url"].endswith("/yemot/ym/api")
    assert config["token"] == TOKEN


def test_number_helpers() -> None:
    assert local_number("+972501234567") == "0501234567"
    assert local_number("+420601000001") == "00420601000001"
    assert local_number("101") == "101"
    assert international_digits("+972501234567") == 972501234567
    assert international_digits("0501234567") == 972501234567
    assert international_digits("00420601000001") == 420601000001
    assert international_digits("245008328") == 245008328
    assert international_digits("Yemot") == "Yemot"


@pytest.mark.parametrize("command", COMMANDS)
async def test_wrong_token_is_an_exception_with_http_200(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, command: str
) -> None:
    url = f"{pbx_simulator.config['yemot']['base_url']}/{command}"
    async with session.get(url, params={"token": "0773137770:wrong"}) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer == {
        "yemotAPIVersion": 6,
        "responseStatus": "EXCEPTION",
        "message": "IllegalStateException(session token is invalid)",
    }
    assert pbx_simulator.sim.requests_for("yemot", command)[0].status == 200


async def test_missing_token_and_changed_credentials(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    url = f"{pbx_simulator.config['yemot']['base_url']}/GetSipAccountsRegisteredStatus"
    async with session.get(url) as response:
        assert (await response.json())["responseStatus"] == "EXCEPTION"
    pbx_simulator.state.credentials["yemot"]["token"] = "0773137770:new"
    answer = await ask(session, pbx_simulator, "GetSipAccountsRegisteredStatus")
    assert answer["responseStatus"] == "EXCEPTION"


async def test_unknown_command(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    answer = await ask(session, pbx_simulator, "NoSuchCommand")
    assert answer["responseStatus"] == "EXCEPTION"
    assert "NoSuchCommand" in answer["message"]
    assert pbx_simulator.sim.requests_for("yemot", "NoSuchCommand")


async def test_login_hands_out_a_session_token(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    url = f"{pbx_simulator.config['yemot']['base_url']}"
    async with session.get(f"{url}/Login", params={"username": "0773137770", "password": "x"}) as r:
        assert await r.json() == {  # as a public client records it
            "responseStatus": "FORBIDDEN",
            "message": "user name or password do not match",
            "yemotAPIVersion": 6,
        }
    async with session.get(
        f"{url}/Login", params={"username": "0773137770", "password": "ym-4567-pass"}
    ) as response:
        login = await response.json()
    assert set(login) == {"responseStatus", "token", "yemotAPIVersion"}
    assert login["responseStatus"] == "OK"
    async with session.get(
        f"{url}/GetSipAccountsRegisteredStatus", params={"token": login["token"]}
    ) as response:
        assert (await response.json())["responseStatus"] == "OK"
    yemot(pbx_simulator).expire_sessions()
    async with session.get(f"{url}/GetSession", params={"token": login["token"]}) as response:
        assert await response.json() == {
            "yemotAPIVersion": 6,
            "responseStatus": "EXCEPTION",
            "message": "IllegalStateException(session token is invalid)",
        }


async def test_sip_accounts_registered_status(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    extension = next(line for line in state.lines.values() if line.kind == "extension")
    state.set_registered(extension.id, False)
    answer = await ask(session, pbx_simulator, "GetSipAccountsRegisteredStatus", method="POST")
    assert answer["responseStatus"] == "OK"
    accounts = answer["accounts"]
    lines = [line for line in state.lines.values() if line.kind == "extension"]
    # `<system number>=<account number>` (forum post 135629).
    assert [a["userName"] for a in accounts] == [f"0773137770={n}" for n in range(1, 7)]
    for account, line in zip(accounts, lines, strict=True):
        assert set(account) == {"userName", "createdDate", "registered"}
        assert DATE_TIME.fullmatch(account["createdDate"])
        assert account["registered"] is line.registered
    assert accounts[0]["createdDate"] == "2021-06-26 23:00:00"
    assert accounts[0]["registered"] is False


async def test_sip_get_contexts(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    lines = [line for line in pbx_simulator.state.lines.values() if line.kind == "extension"]
    first = await ask(session, pbx_simulator, "SipGetContexts")
    assert first["responseStatus"] == "OK"
    (context,) = first["contexts"]
    assert set(context) == {"expiration_time", "uri", "user_agent", "via_addr", "via_port"}
    assert DATE_TIME.fullmatch(context["expiration_time"])
    assert context["uri"] == f"sip:0773137770=1@{lines[0].ip}:{lines[0].port}"
    assert context["user_agent"] == lines[0].user_agent
    assert context["via_addr"] == lines[0].ip
    assert context["via_port"] == str(lines[0].port)  # a string, as documented

    second = await ask(session, pbx_simulator, "SipGetContexts", accountNumber="2")
    assert second["contexts"][0]["user_agent"] == lines[1].user_agent
    pbx_simulator.state.set_registered(lines[2].id, False)
    unregistered = await ask(session, pbx_simulator, "SipGetContexts", accountNumber="3")
    assert unregistered["contexts"] == []
    for wanted in ("99", "0773137770=3"):  # a number of an account (Y:128), not a name
        missing = await ask(session, pbx_simulator, "SipGetContexts", accountNumber=wanted)
        assert missing["responseStatus"] == "ERROR"


async def test_queue_real_time(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    queue = state.queues["1"]
    state.agent_pause("2")
    state.agent_logout("3")
    waiting = state.incoming_call("+972541234567", queue_id="1")
    answered = state.incoming_call("+420601000009", queue_id="1")
    state.answer(answered.id, "1")
    state.hangup(answered.id)
    path = yemot(pbx_simulator).queue_path(queue)
    assert path == "ivr2:/801"

    answer = await ask(session, pbx_simulator, "GetQueueRealTime", queuePath=path)
    assert answer["responseStatus"] == "OK"
    assert answer["queueData"]["Calls"] == 1
    assert answer["queueData"]["Completed"] == 1
    assert answer["queueData"]["Strategy"] == "ringall"
    members = {m["agent"]: m for m in answer["members"]}
    assert set(members) == {state.agents[a].extension for a in queue.member_ids}
    assert members["102"]["Paused"] is True
    assert members["103"]["Status"] == "Unavailable"
    assert members["101"]["Status"] == "Not in use"
    assert members["101"]["CallsTaken"] == 1
    assert members["101"]["LastCall"] is not None
    (entry,) = answer["entries"]
    assert entry["phone"] == "0541234567"
    assert entry["Position"] == 1
    assert entry["CallId"] == yemot(pbx_simulator).call_id(waiting)
    assert re.fullmatch(r"[0-9a-f]{32}", entry["CallId"])

    for other_form in ("/801", "801", "ivr2:801"):
        again = await ask(session, pbx_simulator, "GetQueueRealTime", queuePath=other_form)
        assert again["responseStatus"] == "OK"
    unknown = await ask(session, pbx_simulator, "GetQueueRealTime", queuePath="ivr2:/9")
    assert unknown["responseStatus"] == "ERROR"


async def test_queue_management_kick_answers_like_the_doc(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    documented = json.loads((FIXTURES / "queue_management_kick_response.json").read_bytes())
    state = pbx_simulator.state
    call = state.incoming_call("+972541234567", queue_id="1")
    call_id = yemot(pbx_simulator).call_id(call)
    unknown_id = "805c3b221d4b76bb53769aac9e2c57c1"
    answer = await ask(
        session,
        pbx_simulator,
        "QueueManagement",
        json_body={
            "token": TOKEN,
            "queuePath": "ivr2:/801",
            "callIds": [unknown_id, call_id],
            "action": "kick",
        },
    )
    assert answer == {
        "responseStatus": "OK",
        "yAfastVersion": documented["yAfastVersion"],
        "status": {unknown_id: "Call not found", call_id: "OK"},
    }
    assert set(answer) == set(documented)
    assert state.calls[call.id].status is CallStatus.ENDED


async def test_queue_management_kick_to_an_extension(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    call = state.incoming_call("+972541234567", queue_id="1")
    answer = await ask(
        session,
        pbx_simulator,
        "QueueManagement",
        json_body={
            "token": TOKEN,
            "queuePath": "ivr2:/801",
            "callIds": [yemot(pbx_simulator).call_id(call)],
            "action": "kick",
            "moreData": "GOTO:/1",
        },
    )
    assert answer["responseStatus"] == "OK"
    assert call.transferred_to == "/1"
    assert state.waiting_calls("1") == []


async def test_queue_management_pause_and_unpause(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    body = {"token": TOKEN, "queuePath": "ivr2:/801", "agent": "102"}
    paused = await ask(
        session, pbx_simulator, "QueueManagement", json_body=body | {"action": "pause"}
    )
    assert paused == {"responseStatus": "OK"}
    assert is_paused(state, "2")
    await ask(session, pbx_simulator, "QueueManagement", json_body=body | {"action": "unpause"})
    assert not is_paused(state, "2")

    not_member = await ask(
        session,
        pbx_simulator,
        "QueueManagement",
        json_body=body | {"queuePath": "ivr2:/802", "action": "pause"},
    )
    assert not_member["responseStatus"] == "ERROR"
    unknown = await ask(
        session, pbx_simulator, "QueueManagement", json_body=body | {"action": "dance"}
    )
    assert unknown["responseStatus"] == "ERROR"
    no_array = await ask(
        session,
        pbx_simulator,
        "QueueManagement",
        json_body=body | {"action": "kick", "callIds": "abc"},
    )
    assert no_array["responseStatus"] == "ERROR"


async def test_queue_management_takes_json_posts_only(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    by_get = await ask(
        session, pbx_simulator, "QueueManagement", queuePath="ivr2:/801", action="pause"
    )
    assert by_get["responseStatus"] == "EXCEPTION"
    by_form = await ask(session, pbx_simulator, "QueueManagement", method="POST", action="pause")
    assert by_form["responseStatus"] == "EXCEPTION"
    url = f"{pbx_simulator.config['yemot']['base_url']}/QueueManagement"
    for body in (b"{not json", b"[1, 2]"):
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            answer = await response.json()
        assert answer["responseStatus"] == "EXCEPTION"


async def test_call_extension_bridging_colon_list(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    answer = await ask(
        session,
        pbx_simulator,
        "CallExtensionBridging",
        phones="0501234567:0510001:031234567",
        ivrPath="ivr2:/1/100",
        callerId="0770770770",
        callsTimeOut="60",
    )
    documented_keys = {
        "responseStatus",
        "module",
        "callerId",
        "callsCount",
        "bilingPerCall",
        "errors",
        "callsTimeout",
        "campaignId",
    }
    assert documented_keys <= set(answer)
    assert answer["module"] == "menu"
    assert answer["callerId"] == "0770770770"
    assert answer["callsCount"] == 2
    assert answer["errors"] == {"0510001": "not Vaild"}
    assert answer["callsTimeout"] == 35  # the documented maximum
    assert re.fullmatch(r"YA-1-0770770770-Yemot-\d{16}", answer["campaignId"])
    placed = [c for c in state.calls.values() if c.direction is Direction.OUT]
    assert [(c.caller, c.callee) for c in placed] == [
        ("0770770770", "0501234567"),
        ("0770770770", "031234567"),
    ]


async def test_call_extension_bridging_documented_json_phone_lists(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    documented_errors = json.loads((FIXTURES / "call_extension_bridging_errors.json").read_bytes())
    array = json.loads((FIXTURES / "call_extension_bridging_phones_array.json").read_bytes())
    answer = await ask(
        session,
        pbx_simulator,
        "CallExtensionBridging",
        json_body={"token": TOKEN, "ivrPath": "ivr2:/1/100", **array},
    )
    # The documented numbers have 7 digits: none is a valid Israeli number.
    assert answer["callsCount"] == 0
    assert documented_errors.items() <= answer["errors"].items()

    objects = json.loads((FIXTURES / "call_extension_bridging_phones_objects.json").read_bytes())
    objects["phones"].append({"phone": "0501234567", "callerId": "077313"})
    answer = await ask(
        session,
        pbx_simulator,
        "CallExtensionBridging",
        json_body={"token": TOKEN, "ivrPath": "ivr2:/801", **objects},
    )
    assert answer["callsCount"] == 1
    assert answer["module"] == "queue"
    assert set(answer["errors"]) == {"0511111", "05111333"}

    # The doc shows the grouped form as an object member, without the braces.
    groups_text = (FIXTURES / "call_extension_bridging_phones_groups.txt").read_text("utf-8")
    groups = json.loads("{" + groups_text + "}")
    groups["phones"][1]["phones"].append("0521234567")
    answer = await ask(
        session,
        pbx_simulator,
        "CallExtensionBridging",
        json_body={"token": TOKEN, "ivrPath": "ivr2:/1", **groups},
    )
    assert answer["callsCount"] == 3
    assert answer["errors"] == {"0511111": "not Vaild"}
    call = next(c for c in pbx_simulator.state.calls.values() if c.callee == "0521234567")
    assert call.caller == "077414"


@pytest.mark.parametrize(
    ("params", "json_body"),
    [
        ({"phones": "0501234567"}, None),  # no ivrPath
        ({"phones": "tpl:12", "ivrPath": "ivr2:/1"}, None),
        ({"phones": "tzl:3", "ivrPath": "ivr2:/1"}, None),
        ({"phones": "0501234567", "ivrPath": "ivr2:/1", "callsTimeOut": "soon"}, None),
        ({"phones": ":".join(["0501234567"] * 501), "ivrPath": "ivr2:/1"}, None),
        (None, {"token": TOKEN, "ivrPath": "ivr2:/1"}),
        (None, {"token": TOKEN, "ivrPath": "ivr2:/1", "phones": [7]}),
    ],
)
async def test_call_extension_bridging_refusals(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    params: dict[str, str] | None,
    json_body: dict[str, Any] | None,
) -> None:
    answer = await ask(
        session, pbx_simulator, "CallExtensionBridging", json_body=json_body, **(params or {})
    )
    assert answer["responseStatus"] == "ERROR"
    assert answer["message"]
    assert not pbx_simulator.state.calls


async def test_sms_incoming_log_documented_example(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    state.receive_sms("+972541234567", "+972501234567", "first")
    state.receive_sms("+972541234568", "+972501234567", "שלום")
    example = urlsplit((FIXTURES / "get_sms_incoming_log_request.txt").read_text("utf-8").strip())
    command = example.path.rsplit("/", 1)[1]
    params = dict(parse_qsl(example.query)) | {"token": TOKEN}
    assert command == "GetSmsIncomingLog"
    assert params["limit"] == "1"
    answer = await ask(session, pbx_simulator, command, **params)
    (row,) = answer["rows"]
    assert set(row) == {"dest", "phone", "message", "server_date"}
    assert row["dest"] == 972501234567  # a JSON number, as documented
    assert row["phone"] == 972541234568
    assert row["message"] == "שלום"
    assert re.fullmatch(r"\d\d:\d\d:\d\d \d{4}-\d\d-\d\d", row["server_date"])


async def test_sms_incoming_log_dates_and_limit(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    state.receive_sms("+972541234567", "+972501234567", "old")
    state.send_sms("0773137770", "0501234567", "outgoing is not listed")
    everything = await ask(session, pbx_simulator, "GetSmsIncomingLog", limit="100")
    assert [row["message"] for row in everything["rows"]] == ["old"]
    future = await ask(
        session, pbx_simulator, "GetSmsIncomingLog", limit="100", startDate="2999-01-01"
    )
    assert future["rows"] == []
    past = await ask(
        session, pbx_simulator, "GetSmsIncomingLog", limit="100", endDate="2000-01-01 00:00:00"
    )
    assert past["rows"] == []
    # Y:147: only the dates are optional.
    missing = await ask(session, pbx_simulator, "GetSmsIncomingLog")
    assert missing == {"responseStatus": "ERROR", "message": "limit is required"}
    bad = await ask(session, pbx_simulator, "GetSmsIncomingLog", limit="many")
    assert bad["responseStatus"] == "ERROR"


async def test_send_tts(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    answer = await ask(
        session,
        pbx_simulator,
        "SendTTS",
        method="POST",
        phones="0501234567:123",
        ttsMessage="שלום",
        ttsVoice="Osnat",
        ttsRate="2",
        callerId="0770770770",
    )
    assert answer["responseStatus"] == "OK"
    assert answer["OKCalls"] == 1
    assert answer["ErrorCalls"] == {"123": "not Vaild"}
    assert (answer["TTS_VOICE"], answer["TTS_RATE"]) == ("Osnat", 2)
    (call,) = pbx_simulator.state.calls.values()
    assert (call.caller, call.callee, call.announcement) == ("0770770770", "0501234567", "שלום")
    missing = await ask(session, pbx_simulator, "SendTTS", phones="0501234567")
    assert missing["responseStatus"] == "ERROR"


async def test_send_sms(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    answer = await ask(
        session,
        pbx_simulator,
        "SendSms",
        phones="0501234567:031234567",
        message="hello",
        **{"from": "Shop"},
    )
    assert answer["responseStatus"] == "OK"
    assert answer["sendCount"] == 1
    assert answer["oks"] == ["0501234567"]
    assert answer["errors"] == {"031234567": "not Vaild"}
    assert answer["from"] == "Shop"
    (sms,) = pbx_simulator.state.sms.values()
    assert (sms.sender, sms.recipient, sms.text) == ("Shop", "0501234567", "hello")
    missing = await ask(session, pbx_simulator, "SendSms", phones="0501234567")
    assert missing["responseStatus"] == "ERROR"


async def test_run_tzintuk(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    answer = await ask(
        session, pbx_simulator, "RunTzintuk", phones="0501234567", TzintukTimeOut="5"
    )
    assert answer["responseStatus"] == "OK"
    assert answer["callsCount"] == 1
    assert answer["callsTimeout"] == 5
    assert answer["biling"] == 0.1
    default = await ask(session, pbx_simulator, "RunTzintuk", phones="0501234567")
    assert default["callsTimeout"] == 9
    # Another spelling is not the documented parameter: the default applies.
    lower = await ask(session, pbx_simulator, "RunTzintuk", phones="0501234567", tzintukTimeOut="5")
    assert lower["callsTimeout"] == 9
    too_long = await ask(
        session, pbx_simulator, "RunTzintuk", phones="0501234567", TzintukTimeOut="17"
    )
    assert too_long["responseStatus"] == "ERROR"
    assert len(pbx_simulator.state.calls) == 3
    # It only rings: nobody can answer, so each call is over at once.
    assert all(call.status is CallStatus.ENDED for call in pbx_simulator.state.calls.values())


async def test_every_request_is_counted_under_its_command(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    await ask(session, pbx_simulator, "GetSipAccountsRegisteredStatus")
    await ask(session, pbx_simulator, "GetSmsIncomingLog", limit="1")
    assert pbx_simulator.sim.counters["yemot", "GetSipAccountsRegisteredStatus"] == 1
    assert pbx_simulator.sim.counters["yemot", "GetSmsIncomingLog"] == 1
    assert pbx_simulator.sim.count("yemot") == 2


async def test_a_server_without_sip(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """Forum post 135629: every SIP command of such a server answers this ERROR."""
    yemot(pbx_simulator).sip_supported = False
    posted = (FIXTURES / "sip_not_supported_as_posted.txt").read_bytes()
    for command in ("GetSipAccountsRegisteredStatus", "SipGetContexts"):
        url = f"{pbx_simulator.config['yemot']['base_url']}/{command}"
        async with session.get(url, params={"token": TOKEN}) as response:
            assert response.status == 200
            assert await response.read() == posted  # bare keys, as the post shows it
    assert (await ask(session, pbx_simulator, "GetSession"))["responseStatus"] == "OK"


def test_started_without_sip(capsys: pytest.CaptureFixture[str]) -> None:
    from pbx_simulator.__main__ import _parse_args

    assert _parse_args(["--yemot-without-sip"]).yemot_without_sip is True
    assert _parse_args([]).yemot_without_sip is False


async def test_get_session(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    answer = await ask(session, pbx_simulator, "GetSession")
    assert answer["responseStatus"] == "OK"
    assert (answer["username"], answer["name"]) == ("0773137770", "0773137770")
    assert isinstance(answer["units"], float | int)


async def test_get_incoming_calls(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    waiting = state.incoming_call("+972541234567", queue_id="1")
    ended = state.incoming_call("+972541234568", queue_id="1")
    state.hangup(ended.id)
    state.originate("0770770770", "0501234567")  # outgoing campaigns are not listed
    answer = await ask(session, pbx_simulator, "GetIncomingCalls")
    (call,) = answer["calls"]
    assert set(call) == {"did", "callerIdNum", "duration", "transferFrom", "id", "path"}
    assert call["id"] == yemot(pbx_simulator).call_id(waiting)
    assert call["callerIdNum"] == "0541234567"
    assert call["path"] == "ivr2:/801"
    assert call["duration"].isdigit()


async def test_send_tts_rate_and_repeat(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    answer = await ask(
        session,
        pbx_simulator,
        "SendTTS",
        phones="0501234567",
        ttsMessage="x",
        ttsRate="-10",
        repeatFile="3",
    )
    assert (answer["TTS_RATE"], answer["REPEAT_FILE"]) == (-10, 3)
    default = await ask(session, pbx_simulator, "SendTTS", phones="0501234567", ttsMessage="x")
    assert (default["TTS_RATE"], default["REPEAT_FILE"]) == (0, 2)
    for params in ({"ttsRate": "11"}, {"ttsRate": "fast"}, {"repeatFile": "0"}):
        refused = await ask(
            session, pbx_simulator, "SendTTS", phones="0501234567", ttsMessage="x", **params
        )
        assert refused["responseStatus"] == "ERROR"


async def test_api_extension_calls_its_link(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim = yemot(pbx_simulator)
    async with session.post(
        f"{pbx_simulator.origin}/_sim/yemot/admin-hook",
        json={"url": "http://127.0.0.1:9/hook?secret=s", "extension": "/5/1"},
    ) as response:
        assert response.status == 200
    assert (sim.api_link, sim.api_extension) == ("http://127.0.0.1:9/hook?secret=s", "5/1")
    state = pbx_simulator.state
    state.freeze_clock()
    call = state.incoming_call("+972541234567", queue_id="1")
    state.originate("0770770770", "0501234567")  # only incoming calls enter the extension
    state.hangup(call.id)
    incoming, hangup = pbx_simulator.sim.webhooks.deliveries
    assert incoming.method == "GET"
    url = urlsplit(incoming.url)
    query = dict(parse_qsl(url.query))
    assert query == {
        "secret": "s",
        "ApiCallId": sim.call_id(call),
        "ApiDID": "0773137770",
        "ApiRealDID": local_number(call.callee),
        "ApiPhone": "0541234567",
        "ApiExtension": "5/1",
        "ApiTime": query["ApiTime"],
    }
    assert query["ApiTime"].isdigit()
    assert dict(parse_qsl(urlsplit(hangup.url).query)) == query | {"hangup": "yes"}
    sim.set_api_extension(None)
    state.incoming_call("+972541234569")
    assert len(pbx_simulator.sim.webhooks.deliveries) == 2
    await pbx_simulator.sim.webhooks.close()
