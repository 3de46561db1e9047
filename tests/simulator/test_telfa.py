"""The Telfa simulation answers as shared/provider-docs/telfa.txt shows."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import json
from pathlib import Path
import re
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
from aiohttp.test_utils import make_mocked_request
import pytest

from pbx_simulator.providers.telfa import TelfaSim, international, national
from pbx_simulator.state import CallStatus
from pbx_simulator.testing import RunningSimulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telfa"
API_KEY = "612e90b65911f626d4609d368c34fb69"
XML = {"Content-Type": "application/xml"}
ENDPOINTS = (
    ("POST", "/calls.xml?number=777123456"),
    ("GET", "/calls.xml"),
    ("GET", "/calls.json"),
    ("POST", "/calls/announce.xml?number=777123456&text=ahoj"),
    ("POST", "/calls/interrupt.xml"),
    ("POST", "/calls/transfer_call.xml"),
    ("GET", "/calls/current.xml?login=agent1.demo.telfa.cz"),
    ("GET", "/calls/all_current.xml"),
    ("GET", "/telfa_users/status.xml"),
    ("GET", "/telfa_users/status.json"),
    ("GET", "/telfa_users/user_by_id.json?id=1"),
    ("GET", "/telfa_users/user_by_login.xml?login=agent1.demo.telfa.cz"),
    ("POST", "/telfa_users/1/operator_log_in.xml"),
    ("POST", "/telfa_users/1/operator_log_out.xml"),
    ("POST", "/telfa_users/change_presence.xml?login=agent1.demo.telfa.cz"),
    ("GET", "/call_groups.json"),
    ("GET", "/call_groups/1.xml"),
    ("POST", "/sms.json"),
    ("GET", "/numbers/1.json"),
    ("PUT", "/numbers/1.json"),
    ("GET", "/recipes.json"),
)
JSON_CALL_TIME = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d")
JSON_UTC_TIME = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \+0000")
XML_CALL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def telfa(running: RunningSimulator) -> TelfaSim:
    sim = running.sim.providers["telfa"]
    assert isinstance(sim, TelfaSim)
    return sim


async def send(
    session: aiohttp.ClientSession,
    running: RunningSimulator,
    method: str,
    path: str,
    *,
    key: str | None = API_KEY,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, str, str]:
    """(status, content type, body) of one request with the key in the `api_key` header."""
    all_headers = {"api_key": key} if key else {}
    all_headers |= headers or {}
    url = running.config["telfa"]["base_url"] + path
    async with session.request(method, url, headers=all_headers, **kwargs) as response:
        return response.status, response.content_type, await response.text()


def element_names(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - the simulator's answers and the doc's examples


def doc_xml(name: str) -> ET.Element:
    return parse(fixture(name).strip())


def typed_shape(element: ET.Element) -> list[tuple[str, str | None]]:
    return [(child.tag, child.get("type")) for child in element]


# --- basics -------------------------------------------------------------------------------


def test_config_uses_the_provider_parameter_names(pbx_simulator: RunningSimulator) -> None:
    config = pbx_simulator.config["telfa"]
    assert set(config) == {"base_url", "api_key"}
    assert config["base_url"].endswith("/telfa")
    assert config["api_key"] == API_KEY


def test_number_helpers() -> None:
    assert national("+420777123456") == "777123456"
    assert national("+421900123456") == "00421900123456"
    assert national("777123456") == "777123456"
    assert international("777123456") == "+420777123456"
    assert international("00421900123456") == "+421900123456"
    assert international("+420777123456") == "+420777123456"


def test_endpoint_keys(pbx_simulator: RunningSimulator) -> None:
    sim = telfa(pbx_simulator)
    request = make_mocked_request("POST", "/telfa/sms.json")
    assert sim.endpoint_key(request, "/telfa_users/10/operator_log_in.xml") == (
        "POST /telfa_users/{id}/operator_log_in"
    )
    assert sim.endpoint_key(request, "/sms.json") == "POST /sms"
    assert sim.endpoint_key(request, "/call_groups/1.xml") == "POST /call_groups/{id}"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_wrong_or_missing_key_is_refused(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    for key in ("wrong", None):
        status, _, body = await send(session, pbx_simulator, method, path, key=key)
        assert (status, body) == (401, "HTTP Basic: Access denied.\n")
    assert not pbx_simulator.state.sms
    assert all(r.status == 401 for r in pbx_simulator.sim.requests_for("telfa"))


async def test_key_as_query_parameter_or_body_field(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, _, _ = await send(
        session, pbx_simulator, "GET", f"/telfa_users/status.json?api_key={API_KEY}", key=None
    )
    assert status == 200
    status, _, _ = await send(
        session,
        pbx_simulator,
        "POST",
        "/sms.json",
        key=None,
        json={
            "api_key": API_KEY,
            "sms": {"number_id": "1", "recipient": "602123456", "message": "x"},
        },
    )
    assert status == 200
    call = pbx_simulator.state.incoming_call("+420777123456")
    body = f"<interrupt_call><api_key>{API_KEY}</api_key><id>{call.id}</id></interrupt_call>"
    status, _, _ = await send(
        session, pbx_simulator, "POST", "/calls/interrupt.xml", key=None, data=body, headers=XML
    )
    assert status == 200
    assert call.status is CallStatus.ENDED
    # A GET body is no place for the key.
    status, _, _ = await send(
        session,
        pbx_simulator,
        "GET",
        "/telfa_users/status.json",
        key=None,
        json={"api_key": API_KEY},
    )
    assert status == 401


async def test_changed_credentials(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        f"{pbx_simulator.origin}/_sim/credentials", json={"telfa": {"api_key": "new-key"}}
    ) as response:
        assert response.status == 200
    assert (await send(session, pbx_simulator, "GET", "/telfa_users/status.json"))[0] == 401
    status, _, _ = await send(session, pbx_simulator, "GET", "/call_groups.json", key="new-key")
    assert status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing.json"),
        ("GET", "/telfa_users/status"),
        ("POST", "/calls/interrupt.json"),
        ("DELETE", "/calls.xml"),
    ],
)
async def test_unknown_paths_and_formats(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    assert (await send(session, pbx_simulator, method, path))[0] == 404


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("<sms><unclosed></sms>", "application/xml"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><sms><message>&a;</message></sms>', "application/xml"),
    ],
)
async def test_unreadable_bodies_are_bad_requests(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, body: str, content_type: str
) -> None:
    fmt = "json" if "json" in content_type else "xml"
    status, _, text = await send(
        session,
        pbx_simulator,
        "POST",
        f"/sms.{fmt}",
        data=body,
        headers={"Content-Type": content_type},
    )
    assert status == 400
    assert "error" in text


# --- users --------------------------------------------------------------------------------


async def test_users_status_has_the_documented_shape(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, content_type, body = await send(
        session, pbx_simulator, "GET", "/telfa_users/status.xml"
    )
    assert (status, content_type) == (200, "application/xml")
    root = parse(body)
    doc = doc_xml("users_status.xml")
    assert (root.tag, root.get("type")) == (doc.tag, doc.get("type"))
    assert len(root) == len(pbx_simulator.state.agents)
    assert typed_shape(root[0]) == typed_shape(doc[0])

    status, content_type, body = await send(
        session, pbx_simulator, "GET", "/telfa_users/status.json"
    )
    assert (status, content_type) == (200, "application/json")
    users = json.loads(body)
    documented = json.loads(fixture("users_status.json"))
    assert [set(user) for user in users] == [set(documented)] * len(pbx_simulator.state.agents)
    first = users[0]
    agent = pbx_simulator.state.agents["1"]
    assert (first["id"], first["name"], first["email"]) == (1, agent.name, agent.email)
    assert (first["present"], first["available"]) == (True, True)
    assert JSON_UTC_TIME.fullmatch(first["presence_changed_at"])


async def test_users_status_follows_presence_and_calls(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    state.agent_logout("2")
    state.incoming_call("+420777123456", agent_id="3")
    _, _, body = await send(session, pbx_simulator, "GET", "/telfa_users/status.json")
    users = {user["id"]: user for user in json.loads(body)}
    assert (users[2]["present"], users[2]["available"]) == (False, False)
    assert (users[3]["present"], users[3]["available"]) == (True, False)


async def test_user_details_have_the_documented_shape(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    doc = doc_xml("user_by_id.xml")
    _, _, body = await send(session, pbx_simulator, "GET", "/telfa_users/user_by_id.xml?id=1")
    root = parse(body)
    assert typed_shape(root) == typed_shape(doc)
    nils = {child.tag for child in root if child.get("nil") == "true"}
    assert {"daily-call-cost-limit", "monthly-call-cost-limit"} <= nils
    assert root.findtext("login") == "agent1.demo.telfa.cz"
    assert root.findtext("user-id") == pbx_simulator.state.account_id
    assert root.findtext("allow-only-from-ip") is None or root.findtext("allow-only-from-ip") == ""

    _, _, body = await send(
        session, pbx_simulator, "GET", "/telfa_users/user_by_login.json?login=agent2.demo.telfa.cz"
    )
    user = json.loads(body)
    assert set(user) == {child.tag.replace("-", "_") for child in doc}
    assert (user["id"], user["is_admin"], user["daily_call_cost_limit"]) == (2, False, None)
    assert user["user_id"] == int(pbx_simulator.state.account_id)


@pytest.mark.parametrize(
    "path",
    [
        "/telfa_users/user_by_id.json?id=99",
        "/telfa_users/user_by_login.json?login=nobody",
        "/telfa_users/99/operator_log_in.xml",
        "/telfa_users/change_presence.xml?login=nobody",
        "/calls/current.xml?login=nobody",
    ],
)
async def test_unknown_users_are_not_found(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, path: str
) -> None:
    method = "POST" if "operator" in path or "presence" in path else "GET"
    status, _, body = await send(session, pbx_simulator, method, path)
    assert status == 404
    assert "Telfa user not found" in body


async def test_user_lookup_needs_its_parameter(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, _, body = await send(session, pbx_simulator, "GET", "/telfa_users/user_by_id.json")
    assert (status, json.loads(body)) == (422, {"errors": ["id can't be blank"]})


async def test_operator_login_logout_and_change_presence(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    agent = pbx_simulator.state.agents["2"]
    status, _, body = await send(
        session, pbx_simulator, "POST", "/telfa_users/2/operator_log_out.xml"
    )
    assert status == 200
    assert parse(body).findtext("present") == "false"
    assert not agent.logged_in
    await send(session, pbx_simulator, "POST", "/telfa_users/2/operator_log_in.xml")
    assert agent.logged_in
    path = "/telfa_users/change_presence.xml?login=agent2.demo.telfa.cz"
    _, _, body = await send(session, pbx_simulator, "POST", path)
    assert not agent.logged_in
    assert parse(body).tag == "telfa-user"
    await send(session, pbx_simulator, "POST", path)
    assert agent.logged_in
    assert pbx_simulator.sim.counters["telfa", "POST /telfa_users/change_presence"] == 2


# --- call groups --------------------------------------------------------------------------


async def test_call_groups_have_the_documented_shape(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    _, _, body = await send(session, pbx_simulator, "GET", "/call_groups.xml")
    root, doc = parse(body), doc_xml("call_groups.xml")
    assert (root.tag, len(root)) == (doc.tag, len(state.queues))
    shape = typed_shape(root[0])
    assert [tag for tag, _ in shape] == [tag for tag, _ in typed_shape(doc[0])]
    _, _, body = await send(session, pbx_simulator, "GET", "/call_groups.json")
    groups = json.loads(body)
    assert [set(g) for g in groups] == [set(json.loads(fixture("call_groups.json")))] * 2
    assert groups[0]["name"] == state.queues["1"].name
    assert JSON_UTC_TIME.fullmatch(groups[0]["created_at"])


async def test_call_group_members(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    call = state.incoming_call("+420777123456", queue_id="2")
    state.answer(call.id, "1")
    state.hangup(call.id)
    _, _, body = await send(session, pbx_simulator, "GET", "/call_groups/2.xml")
    root, doc = parse(body), doc_xml("call_group.xml")
    assert element_names(root) == element_names(doc)
    members = root.find("call-groups-telfa-users")
    assert members is not None
    assert members.get("type") == "array"
    assert typed_shape(members[0]) == typed_shape(doc[5][0])
    assert [m.findtext("telfa-user-id") for m in members] == state.queues["2"].member_ids
    assert root.findtext("average-call-length") == "0"
    _, _, body = await send(session, pbx_simulator, "GET", "/call_groups/2.json")
    # As documented (T:508-509): no comma after a member's name, so no JSON parser reads it.
    with pytest.raises(json.JSONDecodeError, match="delimiter"):
        json.loads(body)
    group = json.loads(re.sub(r'("name":"[^"]*")\n', r"\1,\n", body))
    documented = json.loads(re.sub(r'("name":"[^"]*")\n', r"\1,\n", fixture("call_group.json")))
    assert set(group) == set(documented)
    assert list(group["call_groups_telfa_users"][0]) == list(
        documented["call_groups_telfa_users"][0]
    )
    assert set(group) == {
        "id",
        "name",
        "average_call_length",
        "created_at",
        "updated_at",
        "call_groups_telfa_users",
    }
    assert group["call_groups_telfa_users"][0] == {
        "telfa_user_id": 1,
        "name": state.agents["1"].name,
        "mobile": False,
        "sequence": 1,
    }
    status, _, body = await send(session, pbx_simulator, "GET", "/call_groups/9.json")
    assert (status, json.loads(body)) == (404, {"errors": ["Call group not found"]})


# --- calls --------------------------------------------------------------------------------


async def test_click_to_call(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    status, _, body = await send(
        session, pbx_simulator, "POST", "/calls.xml?number=245008328&method=both&auto_answer=true"
    )
    assert status == 200
    root = parse(body)
    assert element_names(root) == ["id", "caller_number", "dialed_number", "start"]
    call = state.calls[root.findtext("id") or ""]
    assert (call.agent_id, call.callee, call.status) == ("1", "245008328", CallStatus.RINGING)
    assert root.findtext("caller_number") == "agent1.demo.telfa.cz"
    assert XML_CALL_TIME.fullmatch(root.findtext("start") or "")
    _, _, body = await send(
        session, pbx_simulator, "POST", "/calls.xml?number=245008328&telfa_user_id=3"
    )
    assert state.calls[parse(body).findtext("id") or ""].agent_id == "3"
    _, _, body = await send(
        session,
        pbx_simulator,
        "POST",
        "/calls.xml?number=%2B421900123456&telfa_user_login=agent4.demo.telfa.cz",
    )
    call = state.calls[parse(body).findtext("id") or ""]
    assert (call.agent_id, call.callee) == ("4", "00421900123456")


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("number=abc", "Number is invalid"),
        ("", "number can't be blank"),
        ("number=245008328&method=fax", "Method is invalid"),
        ("number=245008328&telfa_user_id=99", "Telfa user not found"),
        ("number=245008328&telfa_user_login=nobody", "Telfa user not found"),
    ],
)
async def test_click_to_call_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, query: str, error: str
) -> None:
    status, _, body = await send(session, pbx_simulator, "POST", f"/calls.xml?{query}")
    assert status == 422
    assert [e.text for e in parse(body)] == [error]
    assert not pbx_simulator.state.calls


async def test_click_to_call_needs_a_user(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    for agent_id in list(pbx_simulator.state.agents):
        pbx_simulator.state.remove_agent(agent_id)
    status, _, body = await send(session, pbx_simulator, "POST", "/calls.xml?number=245008328")
    assert status == 422
    assert "The API key has no user" in body


async def test_announce(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    state = pbx_simulator.state
    _, _, body = await send(
        session,
        pbx_simulator,
        "POST",
        "/calls/announce.xml?number=245008328&text=ahoj%20pane&voice=2",
    )
    call = state.calls[parse(body).findtext("id") or ""]
    assert (call.announcement, call.callee, call.caller) == ("ahoj pane", "245008328", "245008328")
    _, _, body = await send(
        session, pbx_simulator, "POST", "/calls/announce.xml?number=245008328&recording_id=10"
    )
    assert state.calls[parse(body).findtext("id") or ""].announcement == "recording_id:10"
    _, _, body = await send(
        session, pbx_simulator, "POST", "/calls/announce.xml?number=245008328&recipe_id=534"
    )
    assert state.calls[parse(body).findtext("id") or ""].announcement == "recipe_id:534"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("number=245008328&text=a&voice=5", "Voice is invalid"),
        ("number=245008328", "Give exactly one of text, recording_id, recipe_id"),
        (
            "number=245008328&text=a&recording_id=1",
            "Give exactly one of text, recording_id, recipe_id",
        ),
        ("number=245008328&recipe_id=1", "Recipe not found"),
        ("number=x&text=a", "Number is invalid"),
    ],
)
async def test_announce_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, query: str, error: str
) -> None:
    status, _, body = await send(session, pbx_simulator, "POST", f"/calls/announce.xml?{query}")
    assert (status, [e.text for e in parse(body)]) == (422, [error])


async def test_announce_without_numbers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    pbx_simulator.state.numbers.clear()
    _, _, body = await send(
        session, pbx_simulator, "POST", "/calls/announce.xml?number=245008328&text=a"
    )
    assert pbx_simulator.state.calls[parse(body).findtext("id") or ""].caller == "0"


async def test_interrupt_with_the_documented_body(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    call = pbx_simulator.state.incoming_call("+420777123456")
    body = fixture("interrupt_call_request.xml").replace("<id>1</id>", f"<id>{call.id}</id>")
    status, _, text = await send(
        session, pbx_simulator, "POST", "/calls/interrupt.xml", data=body, headers=XML
    )
    assert (status, text) == (200, "")
    assert (call.status, call.hangup_cause) == (CallStatus.ENDED, "interrupted")
    status, _, text = await send(
        session, pbx_simulator, "POST", "/calls/interrupt.xml", data=body, headers=XML
    )
    assert status == 404
    assert [e.text for e in parse(text)] == ["Call not found"]


async def test_interrupt_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    call = pbx_simulator.state.incoming_call("+420777123456")
    body = f"<interrupt_call><id>{call.id}</id><recording_id>x</recording_id></interrupt_call>"
    status, _, _ = await send(
        session, pbx_simulator, "POST", "/calls/interrupt.xml", data=body, headers=XML
    )
    assert status == 422
    # Without the XML Content-Type the body is not read at all.
    status, _, text = await send(
        session,
        pbx_simulator,
        "POST",
        "/calls/interrupt.xml",
        data=f"<interrupt_call><id>{call.id}</id></interrupt_call>",
        headers={"Content-Type": "text/plain"},
    )
    assert (status, [e.text for e in parse(text)]) == (422, ["id can't be blank"])
    assert call.status is not CallStatus.ENDED


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("/calls/interrupt.xml", "interrupt_call"),
        ("/calls/transfer_call.xml", "transfer_call"),
        ("/calls/play_recording.xml", "play_recording"),
        ("/sms.xml", "sms"),
    ],
)
async def test_xml_bodies_need_their_documented_root(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, path: str, root: str
) -> None:
    """T:130, T:149, T:186, T:707: each body is a documented structure, its root included."""
    call = pbx_simulator.state.incoming_call("+420777123456")
    fields = (
        f"<id>{call.id}</id><call_id>{call.id}</call_id><recording_id>6</recording_id>"
        "<continue_with_recipe_id>534</continue_with_recipe_id>"
        "<number_id>2</number_id><recipient>602123456</recipient><message>x</message>"
    )
    status, _, text = await send(
        session, pbx_simulator, "POST", path, data=f"<call>{fields}</call>", headers=XML
    )
    assert (status, [e.text for e in parse(text)]) == (422, [f"{root} can't be blank"])
    assert call.status is not CallStatus.ENDED
    assert not telfa(pbx_simulator).played
    assert not pbx_simulator.state.sms


async def test_transfer_with_the_documented_body(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    call = pbx_simulator.state.incoming_call("+420777123456", agent_id="1")
    body = (
        fixture("transfer_call_request.xml")
        .replace("<call_id>1</call_id>", f"<call_id>{call.id}</call_id>")
        .replace(">6<", ">535<")
    )
    status, _, text = await send(
        session, pbx_simulator, "POST", "/calls/transfer_call.xml", data=body, headers=XML
    )
    assert (status, text) == (200, "")
    assert (call.transferred_to, call.agent_id) == ("recipe:535", None)
    status, _, text = await send(
        session,
        pbx_simulator,
        "POST",
        "/calls/transfer_call.xml",
        data=body.replace(">535<", ">6<"),
        headers=XML,
    )
    assert (status, [e.text for e in parse(text)]) == (422, ["Recipe not found"])


async def test_current_call_of_a_user(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    path = "/calls/current.xml?login=agent2.demo.telfa.cz"
    _, _, body = await send(session, pbx_simulator, "GET", path)
    assert parse(body).tag == "nil-classes"
    call = pbx_simulator.state.incoming_call("+420777123456", agent_id="2")
    pbx_simulator.state.answer(call.id)
    _, _, body = await send(session, pbx_simulator, "GET", path)
    root = parse(body)
    assert element_names(root) == element_names(doc_xml("current_call.xml"))
    assert root.findtext("caller_number") == "777123456"
    assert XML_CALL_TIME.fullmatch(root.findtext("answered_at") or "")


async def test_all_current_calls(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    _, _, body = await send(session, pbx_simulator, "GET", "/calls/all_current.xml")
    assert body.strip().endswith('<nil-classes type="array"/>')
    queued = state.incoming_call("+420777123456", queue_id="1")
    outgoing = state.originate("101", "245008328", agent_id="1")
    ended = state.incoming_call("+420777123457")
    state.hangup(ended.id)
    _, _, body = await send(session, pbx_simulator, "GET", "/calls/all_current.xml")
    root = parse(body)
    doc = doc_xml("calls.xml")
    assert (root.tag, root.get("type")) == ("calls", "array")
    assert [element_names(call) for call in root] == [element_names(doc[0])] * 2
    by_id = {call.findtext("id"): call for call in root}
    assert set(by_id) == {queued.id, outgoing.id}
    assert by_id[queued.id].findtext("call_group_id") == "1"
    assert XML_CALL_TIME.fullmatch(by_id[queued.id].findtext("group_start_at") or "")
    assert by_id[queued.id].findtext("inbound") == "true"
    assert by_id[outgoing.id].findtext("caller_number") == "agent1.demo.telfa.cz"
    assert by_id[outgoing.id].findtext("inbound") == "false"
    assert "<answered_at/>" in body


async def test_call_list_filters_and_pages(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    calls = [state.incoming_call(f"+42077712{n:04d}") for n in range(25)]
    for call in calls[:3]:
        state.answer(call.id, "1")
        state.hangup(call.id)
    _, _, body = await send(session, pbx_simulator, "GET", "/calls.json?from=2013-12-11+10%3A30")
    rows = json.loads(body)
    assert len(rows) == 20  # documented page size
    documented = json.loads(fixture("calls.json"))[0]
    assert set(rows[0]) == set(documented)
    assert rows[0]["id"] == int(calls[0].id)
    assert JSON_CALL_TIME.fullmatch(rows[0]["created_at"])
    assert rows[0]["telfa_user_id"] == 1
    assert rows[0]["answered_by_user_id"] == 1
    assert rows[5]["answered_at"] is None
    _, _, body = await send(
        session, pbx_simulator, "GET", "/calls.json?from=2013-12-11+10%3A30&page=2"
    )
    assert len(json.loads(body)) == 5
    _, _, body = await send(
        session, pbx_simulator, "GET", "/calls.json?from=2013-12-11+10%3A30&per_page=5000"
    )
    assert len(json.loads(body)) == 25
    _, _, body = await send(
        session, pbx_simulator, "GET", "/calls.xml?from=2013-12-11+10%3A30&page=3"
    )
    assert body.strip().endswith('<nil-classes type="array"/>')
    _, _, body = await send(session, pbx_simulator, "GET", f"/calls.xml?id={calls[1].id}")
    (row,) = parse(body)
    assert row.findtext("id") == calls[1].id
    assert XML_CALL_TIME.fullmatch(row.findtext("hungup_at") or "")
    future = state.now().year + 1
    _, _, body = await send(session, pbx_simulator, "GET", f"/calls.json?from={future}-01-01+00:00")
    assert json.loads(body) == []


@pytest.mark.parametrize(
    "query",
    [
        "from=yesterday",
        "from=2013-12-11+10%3A30&page=x",
        "from=2013-12-11+10%3A30&per_page=x",
        "per_page=50",
        "",
    ],
)
async def test_call_list_refusals(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession, query: str
) -> None:
    status, _, _ = await send(session, pbx_simulator, "GET", f"/calls.json?{query}")
    assert status == 422


# --- SMS ----------------------------------------------------------------------------------


async def test_send_sms_with_the_documented_bodies(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    state = pbx_simulator.state
    state.numbers["1"].gsm_gateway = True
    body = fixture("sms_request.json").replace('"1799"', '"1"')
    status, _, text = await send(
        session,
        pbx_simulator,
        "POST",
        "/sms.json",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert (status, text) == (200, "")
    (sms,) = state.sms.values()
    assert (sms.sender, sms.recipient, sms.text) == (
        "245008328",
        "602123456",
        "Ahoj, posilam ti SMS.",
    )
    body = fixture("sms_request.xml").replace(">1799<", ">2<")
    status, _, text = await send(session, pbx_simulator, "POST", "/sms.xml", data=body, headers=XML)
    assert (status, text) == (200, "")
    assert [s.sender for s in state.sms.values()] == ["245008328", "245008329"]


@pytest.mark.parametrize(
    ("sms", "code", "text"),
    [
        ({"number_id": "2", "recipient": "", "message": "x"}, 901, "EMPTY_RECIPIENT"),
        ({"number_id": "2", "recipient": "abc", "message": "x"}, 400, "INVALID_RECIPIENT"),
        (
            {"number_id": "1799", "recipient": "602123456", "message": "x"},
            902,
            "INCORRECT_NUMBER_ID",
        ),
        # A landline has no SIM card in a GSM gateway (T:699).
        ({"number_id": "1", "recipient": "602123456", "message": "x"}, 902, "INCORRECT_NUMBER_ID"),
        ({"number_id": "2", "recipient": "602123456", "message": "x" * 1001}, 413, "TOO_LONG"),
    ],
)
async def test_sms_error_codes(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    sms: dict[str, str],
    code: int,
    text: str,
) -> None:
    """The code and text in the body (T:735-750); as the status, the code where it is an
    HTTP error status, else 200 (the status is undocumented: a refusal in a 2xx)."""
    status, _, body = await send(session, pbx_simulator, "POST", "/sms.json", json={"sms": sms})
    expected_status = code if code < 600 else 200
    assert (status, json.loads(body)) == (expected_status, {"error_code": code, "error_text": text})
    xml_body = "<sms>" + "".join(f"<{k}>{v}</{k}>" for k, v in sms.items()) + "</sms>"
    status, _, body = await send(
        session, pbx_simulator, "POST", "/sms.xml", data=xml_body, headers=XML
    )
    root = parse(body)
    assert (status, root.findtext("error_code"), root.findtext("error_text")) == (
        expected_status,
        str(code),
        text,
    )
    assert not pbx_simulator.state.sms


async def test_sms_limit_exceeded(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    telfa(pbx_simulator).sms_limit = 1
    sms = {"number_id": "2", "recipient": "602123456", "message": "x"}
    status, _, _ = await send(session, pbx_simulator, "POST", "/sms.json", json={"sms": sms})
    assert status == 200
    status, _, body = await send(session, pbx_simulator, "POST", "/sms.json", json={"sms": sms})
    assert (status, json.loads(body)) == (
        550,
        {"error_code": 550, "error_text": "SEND_LIMIT_EXCEEDED_OR_SIM_NOT_REGISTERED"},
    )


async def test_sms_without_its_object(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, _, body = await send(session, pbx_simulator, "POST", "/sms.json", json={"x": 1})
    assert (status, json.loads(body)) == (422, {"errors": ["sms can't be blank"]})


# --- numbers, recipes and hooks -----------------------------------------------------------


async def test_number_has_the_documented_shape(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, _, body = await send(session, pbx_simulator, "GET", "/numbers/1.json")
    number = json.loads(body)
    documented = json.loads(fixture("number.json"))
    assert list(number) == list(documented)
    assert number["id"] == "1"  # a string, as documented
    assert number["number"] == "245008328"
    assert all(number[key] is None for key in documented if key.endswith("_hook_url"))
    status, _, body = await send(session, pbx_simulator, "GET", "/numbers/9.json")
    assert (status, json.loads(body)) == (404, {"errors": ["Number not found"]})


async def test_update_number_hooks_as_documented(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    number = pbx_simulator.state.numbers["1"]
    number.hooks = {"transfer_hook": "https://old.cz", "sms_hook": "https://sms.cz"}
    body = "{" + fixture("number_update_body.txt").strip() + "}"
    status, _, text = await send(
        session,
        pbx_simulator,
        "PUT",
        "/numbers/1.json",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    assert number.hooks == {
        "incoming_hook": "https://moje.url.cz,https://backup.url.cz",
        "group_hook": "https://moje.url.cz",
        "ring_hook": "https://moje.url.cz",
        "hangup_hook": "https://moje.url2.cz",
    }
    answer = json.loads(text)
    assert answer["incoming_hook_url"] == "https://moje.url.cz,https://backup.url.cz"
    assert answer["sms_hook_url"] is None
    # Hooks not named keep their URLs.
    await send(
        session,
        pbx_simulator,
        "PUT",
        "/numbers/1.json",
        json={"number": {"sms_hook_url": "https://sms.cz"}},
    )
    assert number.hooks["incoming_hook"] == "https://moje.url.cz,https://backup.url.cz"
    assert number.hooks["sms_hook"] == "https://sms.cz"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"number": {"ring_hook_url": "ftp://x"}}, ["ring_hook_url is invalid"]),
        ({"number": {"ring_hook_url": ","}}, ["ring_hook_url is invalid"]),
        ({"incoming_hook_url": "https://x.cz"}, ["number can't be blank"]),
    ],
)
async def test_update_number_refusals(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    body: dict[str, Any],
    errors: list[str],
) -> None:
    status, _, text = await send(session, pbx_simulator, "PUT", "/numbers/1.json", json=body)
    assert (status, json.loads(text)) == (422, {"errors": errors})
    assert pbx_simulator.state.numbers["1"].hooks == {}


async def test_recipes_list_the_numbers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, _, body = await send(session, pbx_simulator, "GET", "/recipes.json")
    recipes = json.loads(body)
    documented = json.loads(fixture("recipes.json"))[0]
    assert [list(r) for r in recipes] == [list(documented)] * 2
    assert [(r["id"], r["number_id"], r["number"]) for r in recipes] == [
        (534, 1, "245008328"),
        (535, 2, "245008329"),
    ]
    assert [r["gsm_gateway"] for r in recipes] == [False, True]  # the SIM card is number 2
    _, _, body = await send(session, pbx_simulator, "GET", "/recipes.json?page=2")
    assert json.loads(body) == []
    status, _, _ = await send(session, pbx_simulator, "GET", "/recipes.json?page=x")
    assert status == 422


def hook_deliveries(running: RunningSimulator) -> list[tuple[str, str, ET.Element]]:
    return [
        (d.url, d.headers["Content-Type"], parse(d.body))
        for d in running.sim.webhooks.deliveries
        if d.headers["Content-Type"] == "application/xml"
    ]


async def test_call_hooks_follow_the_documented_shapes(pbx_simulator: RunningSimulator) -> None:
    state = pbx_simulator.state
    sink = f"{pbx_simulator.origin}/hook-sink"
    hooks = (
        "incoming_hook",
        "group_hook",
        "ring_hook",
        "transfer_hook",
        "outgoing_hook",
        "hangup_hook",
    )
    state.numbers["1"].hooks = {hook: f"{sink}/{hook},{sink}/copy" for hook in hooks}
    ringing = state.incoming_call("+420777123456", agent_id="2")
    state.answer(ringing.id)
    state.hangup(ringing.id)
    queued = state.incoming_call("+420777123457", queue_id="1")
    state.hangup(queued.id)
    outgoing = state.originate("101", "602123456", agent_id="1")
    await pbx_simulator.sim.webhooks.drain()
    deliveries = hook_deliveries(pbx_simulator)
    assert all(
        status == 404 for status in (d.status for d in pbx_simulator.sim.webhooks.deliveries)
    )
    first_copies = [(url, root) for url, _, root in deliveries if not url.endswith("/copy")]
    assert len(deliveries) == 2 * len(first_copies)
    kinds = [(root.findtext("hook_type"), root.findtext("id")) for _, root in first_copies]
    assert kinds == [
        ("incoming_hook", ringing.id),
        ("ring_hook", ringing.id),
        ("transfer_hook", ringing.id),
        ("hangup_hook", ringing.id),
        ("incoming_hook", queued.id),
        ("group_hook", queued.id),
        ("hangup_hook", queued.id),
        ("outgoing_hook", outgoing.id),
    ]
    for url, root in first_copies:
        hook = root.findtext("hook_type") or ""
        assert url.endswith(hook)
        assert element_names(root) == element_names(doc_xml(f"{hook}.xml"))
    by_kind = {(root.findtext("hook_type"), root.findtext("id")): root for _, root in first_copies}
    assert by_kind["ring_hook", ringing.id].findtext("transferred_to") == "agent2.demo.telfa.cz"
    answered = by_kind["transfer_hook", ringing.id]
    assert answered.findtext("answered_by_login") == "agent2.demo.telfa.cz"
    assert XML_CALL_TIME.fullmatch(answered.findtext("answered_at") or "")
    assert by_kind["hangup_hook", ringing.id].findtext("answered_by_user") == "agent2.demo.telfa.cz"
    missed = by_kind["hangup_hook", queued.id]
    assert missed.findtext("answered_at") == ""
    assert missed.findtext("transfer_description") == state.queues["1"].name
    out = by_kind["outgoing_hook", outgoing.id]
    assert (out.findtext("caller_number"), out.findtext("dialed_number")) == (
        "agent1.demo.telfa.cz",
        "602123456",
    )


async def test_no_hooks_without_urls(pbx_simulator: RunningSimulator) -> None:
    state = pbx_simulator.state
    state.incoming_call("+420777123456")
    state.receive_sms("+420777123456", "245008328", "hi")
    state.numbers.clear()
    state.incoming_call("+420777123456")
    state.agent_logout("1")
    await pbx_simulator.sim.webhooks.drain()
    assert pbx_simulator.sim.webhooks.deliveries == []


async def test_sms_hook_is_json(pbx_simulator: RunningSimulator) -> None:
    state = pbx_simulator.state
    sink = f"{pbx_simulator.origin}/hook-sink"
    state.numbers["2"].hooks = {"sms_hook": sink}
    state.receive_sms("+420608608608", "+420245008329", "Dobrý večer, jak se máte?")
    state.receive_sms("+420608608608", "245008328", "not for number 2")
    state.send_sms("245008329", "608608608", "sent, not received")
    await pbx_simulator.sim.webhooks.drain()
    (delivery,) = pbx_simulator.sim.webhooks.deliveries
    assert delivery.headers == {"Content-Type": "application/json"}
    body = json.loads(delivery.body)
    assert list(body) == list(json.loads(fixture("sms_hook.json")))
    assert body["number_id"] == "2"
    assert (body["sender"], body["recipient"]) == ("+420608608608", "+420245008329")
    assert body["message"] == "Dobrý večer, jak se máte?"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["received_at"])


# --- play a recording, list SMS -----------------------------------------------------------


async def test_play_recording_with_the_documented_body(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """T:124-134: the documented body plays recording 6 into call 1 for both sides."""
    call = pbx_simulator.state.incoming_call("+420777123456")
    body = fixture("play_recording_request.xml").replace(">1<", f">{call.id}<")
    status, _, text = await send(
        session, pbx_simulator, "POST", "/calls/play_recording.xml", data=body, headers=XML
    )
    assert (status, text) == (200, "")
    assert telfa(pbx_simulator).played == [(call.id, "6", "both")]
    assert call.status is not CallStatus.ENDED  # mixed into the call, which goes on


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ("<play_recording><recording_id>6</recording_id></play_recording>", 422, "call_id"),
        ("<play_recording><call_id>{call}</call_id></play_recording>", 422, "recording_id"),
        (
            "<play_recording><call_id>{call}</call_id><recording_id>x</recording_id></play_recording>",
            422,
            "Recording",
        ),
        (
            (
                "<play_recording><call_id>{call}</call_id><recording_id>6</recording_id>"
                "<side>left</side></play_recording>"
            ),
            422,
            "Side",
        ),
        (
            "<play_recording><call_id>1</call_id><recording_id>6</recording_id></play_recording>",
            404,
            "Call not found",
        ),
        ("<interrupt_call><id>{call}</id></interrupt_call>", 422, "play_recording"),
    ],
)
async def test_play_recording_refusals(
    pbx_simulator: RunningSimulator,
    session: aiohttp.ClientSession,
    body: str,
    status: int,
    error: str,
) -> None:
    call = pbx_simulator.state.incoming_call("+420777123456")
    answer, _, text = await send(
        session,
        pbx_simulator,
        "POST",
        "/calls/play_recording.xml",
        data=body.replace("{call}", call.id),
        headers=XML,
    )
    assert answer == status
    assert error in text
    assert telfa(pbx_simulator).played == []


async def test_sms_list_has_the_documented_shapes(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    """T:753-817: received and sent SMS; `inbound`, `from`, `to`, `search`, pages."""
    state = pbx_simulator.state
    received = state.receive_sms("+420608608608", "245008329", "Ahoj, jak se máš?")
    state.send_sms("245008329", "602123456", "Odpověď")
    _, _, body = await send(session, pbx_simulator, "GET", "/sms.json")
    rows = json.loads(body)
    documented = json.loads(fixture("sms_list.json"))
    assert [list(row) for row in rows] == [list(documented)] * 2
    assert [(r["inbound"], r["sender"], r["recipient"]) for r in rows] == [
        (True, "608608608", "245008329"),
        (False, "245008329", "602123456"),
    ]
    assert rows[0]["id"] == int(received.id)
    assert rows[0]["number_id"] == rows[1]["number_id"] == 2
    assert rows[0]["received_at"] is not None
    assert rows[1]["received_at"] is None
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \+0000", rows[0]["created_at"])
    _, _, body = await send(session, pbx_simulator, "GET", "/sms.json?inbound=true")
    assert [r["message"] for r in json.loads(body)] == ["Ahoj, jak se máš?"]
    _, _, body = await send(session, pbx_simulator, "GET", "/sms.json?inbound=false&search=Odp")
    assert [r["message"] for r in json.loads(body)] == ["Odpověď"]
    _, _, body = await send(session, pbx_simulator, "GET", "/sms.json?from=2099-01-01+00%3A00")
    assert json.loads(body) == []
    _, _, body = await send(session, pbx_simulator, "GET", "/sms.json?to=2000-01-01+00%3A00")
    assert json.loads(body) == []
    _, _, body = await send(session, pbx_simulator, "GET", "/sms.json?per_page=1&page=2")
    assert [r["message"] for r in json.loads(body)] == ["Odpověď"]
    _, _, body = await send(session, pbx_simulator, "GET", "/sms.xml?inbound=false")
    (row,) = parse(body)
    assert typed_shape(row) == typed_shape(doc_xml("sms_list.xml")[0])
    for query in ("inbound=yes", "from=today", "page=x"):
        status, _, _ = await send(session, pbx_simulator, "GET", f"/sms.json?{query}")
        assert status == 422, query
