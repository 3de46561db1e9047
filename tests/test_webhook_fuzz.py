"""Property-based: random and mutated requests never break the webhook.

For every provider, random and mutated bodies, query strings and headers go through Home
Assistant's HTTP server to the webhook: the answer is never a 5xx, nothing is logged as an
error, and a refused request fires no event and leaves the snapshot as it was.

Providers that take webhooks get most of the requests, mostly with the methods their hooks
use, so that the requests reach the parser; the others refuse every request by its method
and get a few. The examples are the same on every run (`derandomize`), so a failure shows
up, and reproduces, everywhere; `--hypothesis-seed=N` draws other ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any
from unittest.mock import patch
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient
from homeassistant.core import Event, HomeAssistant, callback
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.pbx_bridge.events import EVENT_CALL, EVENT_SMS
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options

FIXTURES = Path(__file__).parent / "fixtures"
HOOK_PATH = "/api/webhook/hook-1234"
# Requests per provider: many where a parser reads them, a few where the method refuses all.
PARSER_EXAMPLES = 1000
REFUSED_EXAMPLES = 50
# One request takes milliseconds; this only turns a hung request into a failure.
REQUEST_TIMEOUT = 60
METHODS = ("GET", "POST", "PUT", "HEAD")  # what Home Assistant passes on to a webhook

# Documented hook bodies (Telfa), and Daktela v6's rendered from our own template.
HOOK_BODIES = [
    path.read_bytes()
    for provider in ("telfa", "daktela_v6")
    for path in sorted((FIXTURES / provider).glob("*_hook.*"))
]
DAKTELA_QUERY_KEYS = (
    "callerId",
    "calleeId",
    "line",
    "idcall",
    "action",
    "callid",
    "dnd",
    "number",
    "message",
    "id",
    "direction",
    "secret",
)
# A number longer than a state may be (255 characters).
LONG_NUMBER = "+420" + "7" * 300
DAKTELA_VALUES = (
    "ringing",
    "answer",
    "hangup",
    "in",
    "out",
    "777123456",
    "+420",
    "",
    "1.2",
    LONG_NUMBER,
    "f6657b78a2f35d6d04dd203400828362",  # a Yemot ApiCallId
    "5/1",
    "yes",
    "1701424800",
)
HEADER_NAMES = ("Content-Type", "User-Agent", "X-Webhook-Secret", "Accept", "X-Anything")
CONTENT_TYPES = ("application/xml", "application/json", "text/plain", "text/xml; charset=utf-8")

# Entity expansion ("billion laughs") and external entities must be refused.
HOSTILE_XML = (
    (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><call><hook_type>'
        b"incoming_hook</hook_type><id>1</id><caller_number>&lol2;</caller_number></call>"
    ),
    (
        b'<?xml version="1.0"?><!DOCTYPE call [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<call><hook_type>incoming_hook</hook_type><id>1</id><caller_number>&xxe;"
        b"</caller_number></call>"
    ),
    (
        b'<!DOCTYPE call SYSTEM "http://127.0.0.1:9/evil.dtd"><call><hook_type>incoming_hook'
        b"</hook_type><id>1</id></call>"
    ),
)

# method, query (pairs), headers, body
type Request = tuple[str, list[tuple[str, str]], dict[str, str], bytes]


@st.composite
def mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """A documented body with bytes flipped, cut, repeated or inserted."""
    body = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 6))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        match draw(st.sampled_from(("flip", "cut", "insert", "repeat", "truncate"))):
            case "flip":
                body[at] = draw(st.integers(0, 255))
            case "cut":
                del body[at : at + draw(st.integers(1, 20))]
            case "insert":
                body[at:at] = draw(
                    st.sampled_from((b"<", b">", b"&", b"]]>", b'"', b"\x00", b"\xff", b"{", b"}"))
                )
            case "repeat":
                body[at:at] = body[at : at + draw(st.integers(1, 40))] * draw(st.integers(2, 5))
            case "truncate":
                del body[at:]
    return bytes(body)


bodies = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    mutated(HOOK_BODIES),
    st.sampled_from(HOOK_BODIES),
    st.sampled_from(HOSTILE_XML),
    st.just(b""),
)
# The keys of the documented Daktela hooks: incoming; ringing, answer and hangup; SMS.
DAKTELA_HOOKS = (
    ("callid", "dnd"),
    ("callerId", "calleeId", "line", "idcall", "action"),
    ("number", "message", "id", "direction"),
    # Yemot's API extension (README: Yemot API extension).
    ("ApiCallId", "ApiPhone", "ApiDID", "ApiRealDID", "ApiExtension", "ApiTime", "hangup"),
)
query_values = st.one_of(st.sampled_from(DAKTELA_VALUES), st.text(max_size=40))


@st.composite
def hook_query(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A documented Daktela hook's keys, some left out, with any values."""
    keys = draw(st.sampled_from(DAKTELA_HOOKS))
    return [(key, draw(query_values)) for key in keys if draw(st.booleans())]


# Pairs, not a dict: a key may come more than once (and they are quicker to draw).
queries = st.one_of(
    hook_query(),
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(DAKTELA_QUERY_KEYS), st.text(min_size=1, max_size=10)),
            query_values,
        ),
        max_size=8,
    ),
)
headers = st.dictionaries(
    st.sampled_from(HEADER_NAMES),
    st.one_of(
        st.sampled_from(CONTENT_TYPES),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    ),
    max_size=3,
)


def requests(accepted: frozenset[str]) -> st.SearchStrategy[Request]:
    """Requests, mostly with a method in `accepted` (where there is one), so they get parsed."""
    methods = st.sampled_from(METHODS)
    if accepted:
        methods = st.one_of(st.sampled_from(sorted(accepted)), methods)
    return st.tuples(methods, queries, headers, bodies)


@pytest.fixture
async def entry(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> AsyncGenerator[MockConfigEntry]:
    """An entry of `provider` whose state nothing but the requests changes.

    Otherwise a refused request would be blamed for what happened meanwhile: no polling
    during the run (the default 30 s pass on a slow machine), and an accepted hangup's
    missed-call timer runs out within its own request (at its 3 s it fired in the middle of
    a later request, refused more often than not).
    """
    options = demo_options(pbx_simulator, provider)
    with patch("custom_components.pbx_bridge.events.missed.MISSED_GRACE_SECONDS", 0):
        yield await async_setup_provider(hass, pbx_simulator, provider, options)


async def test_webhook_survives_random_requests(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    pytestconfig: pytest.Config,
) -> None:
    client: TestClient = await hass_client_no_auth()
    coordinator = entry.runtime_data.coordinator
    accepted: frozenset[str] = entry.runtime_data.client.webhook_methods
    fired: list[Event[Any]] = []

    @callback
    def record(event: Event[Any]) -> None:
        fired.append(event)

    unsubscribe = [hass.bus.async_listen(name, record) for name in (EVENT_CALL, EVENT_SMS)]
    loop = asyncio.get_running_loop()
    statuses: set[int] = set()

    async def send(
        method: str, query: list[tuple[str, str]], head: dict[str, str], body: bytes
    ) -> None:
        before_events, before_data = len(fired), coordinator.data
        url = f"{HOOK_PATH}?{urlencode(query)}" if query else HOOK_PATH
        response = await client.request(method, url, data=body or None, headers=head)
        await response.read()
        await hass.async_block_till_done()
        statuses.add(response.status)
        assert response.status < 500, (method, query, head, body)
        if response.status != 200:
            assert len(fired) == before_events, (method, query, body)
            assert coordinator.data is before_data

    @settings(
        max_examples=PARSER_EXAMPLES if accepted else REFUSED_EXAMPLES,
        # The same examples on every run, unless a seed asks for others.
        derandomize=pytestconfig.getoption("--hypothesis-seed") is None,
        database=None,
        # A loaded CI machine is slow: no time limit per example, nor for drawing them.
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(requests(accepted))
    def check(request: Request) -> None:
        future = asyncio.run_coroutine_threadsafe(send(*request), loop)
        try:
            future.result(timeout=REQUEST_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise

    # Hypothesis drives the examples from a worker thread; the requests run on the loop.
    # asyncio's debug mode (on in every test) keeps a stack trace for each callback, future
    # and task: over thousands of requests that doubles the time, and what it checks is
    # checked by the other webhook tests. Home Assistant's own thread checks stay on.
    debug = loop.get_debug()
    loop.set_debug(False)
    try:
        await hass.async_add_executor_job(check)
    finally:
        loop.set_debug(debug)
    for body in HOSTILE_XML:
        before = len(fired)
        response = await client.post(HOOK_PATH, data=body)
        assert response.status in ((400, 405) if accepted else (200,))
        assert len(fired) == before
    for unsub in unsubscribe:
        unsub()
    assert max(statuses) < 500
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]
    assert errors == []
    assert await hass.config_entries.async_unload(entry.entry_id)
    if accepted:
        assert {200, 400} <= statuses  # the parser took good input and refused garbage
    else:
        # A provider without push has no webhook: Home Assistant answers as for any
        # unknown webhook (200, it never tells whether one exists), or its own security
        # filter refuses query strings that look like attacks (400); no event fired.
        assert statuses <= {200, 400}
        assert fired == []
