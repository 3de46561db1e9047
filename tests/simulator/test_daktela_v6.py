"""The Daktela v6 simulator is as strict as the digest (shared/provider-docs/daktela-v6.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from pbx_simulator.providers.daktela_v6 import DEMO_STATIC_TOKEN, OUTGOING_QUEUE_NAME, DaktelaV6Sim
from pbx_simulator.testing import RunningSimulator


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def api(running: RunningSimulator, endpoint: str) -> str:
    return f"{running.config['daktela_v6']['base_url']}/api/v6/{endpoint}.json"


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = DEMO_STATIC_TOKEN,
    **kwargs: Any,
) -> tuple[int, Any]:
    headers = {"X-AUTH-TOKEN": token} if token else {}
    headers |= kwargs.pop("headers", {})
    async with session.request(method, url, headers=headers, **kwargs) as response:
        return response.status, await response.json()


async def test_token_carriers(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    url = api(pbx_simulator, "whoim")
    assert (await call(session, "GET", url))[0] == 200
    assert (await call(session, "GET", url, token=None, params={"accessToken": DEMO_STATIC_TOKEN}))[
        0
    ] == 200
    assert (await call(session, "GET", url, token=None, cookies={"c_user": DEMO_STATIC_TOKEN}))[
        0
    ] == 200
    # Bearer is seen in one SDK only: refused, like no token at all.
    status, answer = await call(
        session, "GET", url, token=None, headers={"Authorization": f"Bearer {DEMO_STATIC_TOKEN}"}
    )
    assert (status, answer["result"]) == (401, None)
    assert (await call(session, "GET", url, token="wrong"))[0] == 401


async def test_login_and_refresh(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    creds = pbx_simulator.sim.providers["daktela_v6"].credentials
    body = {"username": creds["username"], "password": creds["password"]}
    status, answer = await call(session, "POST", api(pbx_simulator, "login"), token=None, json=body)
    assert status == 200
    assert answer["error"] == []
    assert set(answer["result"]) == {"accessToken", "refreshToken", "accessTokenExpirationDate"}
    refresh = {"refreshToken": answer["result"]["refreshToken"]}
    status, renewed = await call(
        session, "PUT", api(pbx_simulator, "login"), token=None, json=refresh
    )
    assert status == 200
    assert renewed["result"]["accessToken"] != answer["result"]["accessToken"]
    # A refresh token is used once.
    assert (await call(session, "PUT", api(pbx_simulator, "login"), token=None, json=refresh))[
        0
    ] == 401
    status, only = await call(
        session, "POST", api(pbx_simulator, "login"), token=None, json={**body, "only_token": "1"}
    )
    assert isinstance(only["result"], str)
    bad = {**body, "password": "nope"}
    assert (await call(session, "POST", api(pbx_simulator, "login"), token=None, json=bad))[
        0
    ] == 401


async def test_listings(pbx_simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
    status, answer = await call(
        session, "GET", api(pbx_simulator, "users"), params={"take": "5000"}
    )
    assert status == 200
    assert answer["result"]["total"] == len(pbx_simulator.state.agents)
    status, pauses = await call(session, "GET", api(pbx_simulator, "pauses"))
    # `data` as a map keyed by name, with the system pauses.
    assert {"wrap", "lajdak", "dnd"} <= set(pauses["result"]["data"])
    status, calls = await call(session, "GET", api(pbx_simulator, "activitiesCall"))
    assert isinstance(calls["result"]["total"], str)
    # An unknown sort field gives no rows; an unknown filter is refused.
    pbx_simulator.state.incoming_call("+420601222333", queue_id="1")
    params = {"sort[0][field]": "nope"}
    status, calls = await call(session, "GET", api(pbx_simulator, "activitiesCall"), params=params)
    assert calls["result"]["data"] == []
    params = {"filter[field]": "clid", "filter[operator]": "eq", "filter[value]": "1"}
    status, refused = await call(
        session, "GET", api(pbx_simulator, "activitiesCall"), params=params
    )
    assert status == 400
    assert refused["error"]["form"]
    params = {"filter[logic]": "or"}
    assert (await call(session, "GET", api(pbx_simulator, "activitiesCall"), params=params))[
        0
    ] == 400
    assert (await call(session, "DELETE", api(pbx_simulator, "users")))[0] == 405
    assert (await call(session, "GET", api(pbx_simulator, "users"), params={"take": "x"}))[0] == 400


async def test_click_to_call_strictness(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    url = api(pbx_simulator, "activities")
    call_body = {"number": "603927227", "type": "CALL", "queue": OUTGOING_QUEUE_NAME}
    for missing in ("number", "type", "queue"):
        body = {k: v for k, v in call_body.items() if k != missing}
        status, answer = await call(session, "POST", url, json=body)
        assert status == 400
        assert missing in answer["error"]["form"]
    # A refusal without a documented status comes inside a 200 (daktela-v6.md:101-112).
    status, answer = await call(session, "POST", url, json=call_body)
    assert (status, answer["result"]) == (200, None)
    assert "not logged in" in answer["error"]["primary"][0]
    login = {"queues": [{"login": True, "name": OUTGOING_QUEUE_NAME, "penalty": 0}]}
    assert (await call(session, "POST", api(pbx_simulator, "usersSession"), json=login))[0] == 201
    state = pbx_simulator.state
    line = state.line_of_agent(state.agents["1"])
    assert line is not None
    state.set_registered(line.id, False)
    status, answer = await call(session, "POST", url, json=call_body)
    assert (status, answer["result"]) == (200, None)
    assert answer["error"] == {"primary": ["User have not available devices", "error"]}
    state.set_registered(line.id, True)
    status, answer = await call(session, "POST", url, json=call_body)
    assert status == 201
    assert answer["result"]["item"]["id_call"] in state.calls


async def test_queue_login_strictness(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    url = api(pbx_simulator, "usersSession")
    assert (await call(session, "POST", url, json={}))[0] == 400
    logout = {"queues": [{"login": False, "name": 3001, "penalty": 0}]}
    assert (await call(session, "POST", url, json=logout))[0] == 400
    unknown = {"queues": [{"login": True, "name": 1, "penalty": 0}]}
    assert (await call(session, "POST", url, json=unknown))[0] == 404
    # DOC-CLI's form data works as the JSON does (daktela-v6.md:311); without a name, no.
    assert (await call(session, "POST", url, data={"queues[0][login]": "true"}))[0] == 400
    form = {"queues[0][login]": "true", "queues[0][name]": "3002", "queues[0][penalty]": "0"}
    assert (await call(session, "POST", url, data=form))[0] == 201
    assert "1" in pbx_simulator.state.queues["2"].member_ids
    assert (await call(session, "POST", url, data={"queues[0]": "x", "queues[0][a]": "y"}))[
        0
    ] == 400
    json_headers = {"Content-Type": "application/json"}
    assert (await call(session, "POST", url, data="{", headers=json_headers))[0] == 400


async def test_forbidden_and_admin_hook(
    pbx_simulator: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    sim = pbx_simulator.sim.providers["daktela_v6"]
    assert isinstance(sim, DaktelaV6Sim)
    sim.forbidden.add("users")
    assert (await call(session, "GET", api(pbx_simulator, "users")))[0] == 403
    control = f"{pbx_simulator.origin}/_sim/daktela_v6/admin-hook"
    async with session.post(control, json={"url": "http://127.0.0.1:9/h", "secret": "s"}) as r:
        assert r.status == 200
    assert (sim.automation_url, sim.automation_secret) == ("http://127.0.0.1:9/h", "s")
    async with session.post(f"{pbx_simulator.origin}/_sim/odorik/admin-hook", json={}) as r:
        assert r.status == 404
    async with session.post(f"{pbx_simulator.origin}/_sim/nope/admin-hook", json={}) as r:
        assert r.status == 404
