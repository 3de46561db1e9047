"""What providers (or something posing as them) may really send: every client still raises
only its own errors, sends a dial or an SMS once, and keeps secrets and numbers out of
messages and logs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import logging
from typing import Any

import aiohttp
import pytest

from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.api.client import (
    MAX_RETRY_AFTER,
    REDACTED,
    HttpResponse,
    PbxClient,
    parse_int,
    parse_retry_after,
)
from custom_components.pbx_bridge.api.errors import (
    PbxConnectionError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxPartialSendError,
    PbxResponseError,
)
from custom_components.pbx_bridge.api.models import SmsRequest, WebhookRequest
from custom_components.pbx_bridge.api.providers.telfa import TelfaClient, parse_time, safe_xml
from custom_components.pbx_bridge.api.providers.voipsun import VoipsunClient
from custom_components.pbx_bridge.api.providers.yemot import YemotClient

CONFIGS: dict[str, dict[str, str]] = {
    "telfa": {"api_key": "telfa-key-0123456789"},
    "daktela": {"base_url": "https://demo.daktela.com", "access_token": "a" * 40},
    "daktela_v6": {"base_url": "https://demo.daktela.com", "access_token": "b" * 40},
    "odorik": {"user": "3001234", "password": "odorik-pass"},
    "yemot": {"token": "0773137770:yemot-pass"},
    "voipsun": {"base_url": "http://192.0.2.10", "username": "api", "password": "voip-pass"},
}
OPTIONS: dict[str, dict[str, Any]] = {"yemot": {"queue_paths": ["ivr2:/5"]}}

# A value where each provider's answers carry counts, ports, waits and ids.
ODD_VALUES = {
    "superscript digit": '"\u00b2"',
    "infinity": "1e999",
    "too many digits": '"' + "9" * 5000 + '"',
    "huge integer": "9" * 4000,
}


def shaped_answer(provider: str, path: str, value: str) -> str:
    """A well-formed answer of `provider` to `path` whose numbers are all `value`."""
    match provider:
        case "telfa":
            if path.startswith("/telfa_users/user_by_id"):
                number = value.strip('"')
                return f'<telfa-user><user-id type="integer">{number}</user-id></telfa-user>'
            if path.endswith(".xml"):
                number = value.strip('"')
                return f'<calls type="array"><call><id type="integer">{number}</id></call></calls>'
            if path.startswith("/call_groups/"):
                return '{"call_groups_telfa_users": []}'
            return f'[{{"id": {value}, "inbound": true, "present": true}}]'
        case "daktela":
            row = f'"id": "1", "agent_name": "a", "exten": "1", "calls_wait": {value}, '
            row += f'"port": {value}'
            return f'{{"status": 1, "result": [{{{row}, "calls_time": {value}}}]}}'
        case "daktela_v6":
            row = f'"name": "a", "extension": {value}, "id_call": {value}, "total": {value}'
            return f'{{"error": [], "result": {{"data": [{{{row}}}], "total": {value}}}}}'
        case "odorik":
            return "12.5" if path == "/balance" else f'[{{"id": 1, "count": {value}}}]'
        case "yemot":
            return (
                f'{{"responseStatus": "OK", "accounts": [{{"userName": "a"}}], '
                f'"contexts": [{{"via_port": {value}}}], "members": [], '
                f'"entries": [{{"CallId": "1", "Wait": {value}}}], '
                f'"queueData": {{"Completed": {value}}}}}'
            )
        case _:
            row = (
                f'"user": "a", "port": {value}, "channelName": "SIP/a-1", "duration": {value}, '
                f'"queueName": "q", "calls": {value}, "members": [], '
                f'"waiters": [{{"wait": {value}}}]'
            )
            return f'{{"success": "true", "results": [{{{row}}}]}}'


type Answer = bytes | tuple[int, bytes]


def scripted(
    provider: str, answer: Callable[[str], Answer], sent: list[tuple[str, str]] | None = None
) -> PbxClient:
    """A client whose requests get `answer(path)` (HTTP 200 unless a status is given)."""
    client = PROVIDERS[provider](None, CONFIGS[provider], options=OPTIONS.get(provider))  # type: ignore[arg-type]

    async def request(method: str, path: str, **kwargs: Any) -> HttpResponse:
        if sent is not None:
            sent.append((method, path))
        found = answer(path)
        status, body = found if isinstance(found, tuple) else (200, found)
        return HttpResponse(status, {}, body)

    client._request = request  # type: ignore[method-assign]
    return client


async def read_everything(client: PbxClient) -> None:
    """Validate and take a snapshot: every answer the client parses on its own."""
    for step in (client.async_validate, client.async_fetch_snapshot):
        with contextlib.suppress(PbxResponseError, PbxConnectionError):
            await step()


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"<r>" * 100_000 + b"</r>" * 100_000,
        b"9" * 5000,
    ],
    ids=["deep list", "deep object", "deep xml", "long number"],
)
async def test_unreadable_answers_are_response_errors(provider: str, body: bytes) -> None:
    await read_everything(scripted(provider, lambda path: body))


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("value", list(ODD_VALUES.values()), ids=list(ODD_VALUES))
async def test_odd_numbers_are_ignored_or_refused(provider: str, value: str) -> None:
    await read_everything(
        scripted(provider, lambda path: shaped_answer(provider, path, value).encode())
    )


def test_parse_int_takes_plain_decimal_integers_only() -> None:
    assert [parse_int(v) for v in (7, "-7", " 42 ", "+3")] == [7, -7, 42, 3]
    for value in ("\u00b2", "١٢", "9" * 5000, 10**30, True, 1.5, "1.5", "", None, "0x1"):
        assert parse_int(value) is None


def test_deep_xml_is_refused_before_it_is_read() -> None:
    with pytest.raises(ValueError, match="too deeply"):
        safe_xml(b"<calls>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</calls>")
    assert safe_xml(b'<calls type="array"><call><id>1</id></call></calls>').tag == "calls"


def test_time_zones_of_a_day_or_more_are_unreadable() -> None:
    assert parse_time("2024-02-03T10:00:00+99:99") is None
    assert parse_time("2024-02-03T10:00:00+23:59") is not None


@pytest.mark.parametrize(
    "body",
    [
        b'{"message":' * 100_000 + b'"x"' + b"}" * 100_000,
        b'{"message": "\\ud800", "sender": "777123456"}',
        b'{"message": "hi", "sender": "\\udfff"}',
    ],
    ids=["deep json", "lone surrogate in the text", "lone surrogate in a field"],
)
def test_telfa_sms_hooks_that_are_not_text(body: bytes) -> None:
    client = TelfaClient(None, CONFIGS["telfa"])  # type: ignore[arg-type]
    with pytest.raises(PbxInvalidInput):
        client.parse_webhook(WebhookRequest("POST", {}, {}, body))


def test_telfa_call_hook_with_an_impossible_zone_has_no_time() -> None:
    client = TelfaClient(None, CONFIGS["telfa"])  # type: ignore[arg-type]
    body = (
        b"<call><hook_type>ring_hook</hook_type><id>1</id>"
        b"<ring_start_at>2024-02-03T10:00:00+99:99</ring_start_at></call>"
    )
    [event] = client.parse_webhook(WebhookRequest("POST", {}, {}, body))
    assert event.timestamp is None


# --- retry-after ------------------------------------------------------------------------


def test_retry_after_is_finite_and_bounded() -> None:
    assert parse_retry_after("1e400") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after("99999999999") == MAX_RETRY_AFTER
    # An RFC 5322 date in "-0000" is UTC (naive to the parser): long past, so no wait.
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:00 -0000") == 0.0


# --- secrets -----------------------------------------------------------------------------


def test_a_pin_inside_the_password_does_not_uncover_the_rest() -> None:
    password = "p@ss 1234/x"
    client = VoipsunClient(
        None,  # type: ignore[arg-type]
        {**CONFIGS["voipsun"], "password": password},
        options={"agent_pins": {"1000": "1234"}},
    )
    # What the PBX echoes is the URL as it went out (yarl's encoding), or urlencode's.
    echoes = [
        "http://192.0.2.10/api/api.php?password=p@ss+1234/x&agentPin=1234",
        "password=p%40ss+1234%2Fx&agentPin=1234",
        "password=p%40ss%201234%2Fx",
    ]
    for echo in echoes:
        redacted = client.redact(echo)
        assert "p@ss" not in redacted
        assert "p%40ss" not in redacted
        assert "/x" not in redacted
        assert "1234" not in redacted
        assert REDACTED in redacted


async def test_password_is_not_in_the_debug_log_in_url_form(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Odorik's password travels in the query: the logged URL shows it encoded."""
    caplog.set_level(logging.DEBUG)
    password = "tajné&heslo"
    async with aiohttp.ClientSession() as session:
        client = PROVIDERS["odorik"](
            session,
            {**CONFIGS["odorik"], "password": password, "base_url": "http://127.0.0.1:9"},
        )
        with pytest.raises(PbxConnectionError):
            await client.async_validate()
    assert "/balance" in caplog.text
    assert "tajn" not in caplog.text
    assert "heslo" not in caplog.text


async def test_yemot_kick_outcome_is_redacted() -> None:
    answer = b'{"responseStatus": "OK", "status": {"9": "denied for 0773137770:yemot-pass"}}'
    client = scripted("yemot", lambda path: answer)
    assert isinstance(client, YemotClient)
    with pytest.raises(PbxResponseError) as raised:
        await client.async_queue_kick("ivr2:/5", "9")
    assert "yemot-pass" not in str(raised.value)


async def test_telfa_unknown_sender_number_stays_out_of_the_message() -> None:
    client = scripted("telfa", lambda path: b'[{"number_id": 5, "number": "777000111"}]')
    with pytest.raises(PbxInvalidInput) as raised:
        await client.async_send_sms(SmsRequest(("+420601234567",), "hi", sender="+420777999888"))
    assert "777999888" not in str(raised.value)


# --- sent once ---------------------------------------------------------------------------


async def test_a_dropped_get_is_not_sent_again(socket_enabled: None) -> None:
    """aiohttp resends a GET whose connection drops; Daktela's SMS is a GET."""
    received: list[bytes] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            client = PROVIDERS["daktela"](
                session, {**CONFIGS["daktela"], "base_url": f"http://127.0.0.1:{port}"}
            )
            with pytest.raises(PbxOutcomeUnknownError):
                # A named sender: no settings to read first (that read would drop instead).
                await client.async_send_sms(SmsRequest(("+420601234567",), "hi", sender="Info"))
    finally:
        server.close()
        await server.wait_closed()
    assert len(received) == 1


# What a send reads before the SMS: Telfa's numbers, Daktela's SMS settings (D:2773).
SMS_LOOKUPS = {
    "/recipes": b'[{"number_id": 5, "number": "777000111", "gsm_gateway": true}]',
    "/api/3.1/GetSMSSettings": b'{"status": 1, "result": {"settings": {"enabled_sms": null}}}',
}


def sms_lookup(path: str) -> Answer | None:
    return next((a for prefix, a in SMS_LOOKUPS.items() if path.startswith(prefix)), None)


SMS_ANSWERS: dict[str, tuple[Answer, Answer]] = {
    "telfa": (b"{}", (422, b'{"error_code": "7", "error_text": "Neplatne cislo"}')),
    "daktela": (b'{"status": 1, "result": {"id": "s1"}}', b'{"status": 0, "error": "Chyba"}'),
    "odorik": (b"successfully_sent 11", b"error unsupported_recipient"),
}


@pytest.mark.parametrize("provider", list(SMS_ANSWERS))
async def test_a_failure_after_some_sms_says_so_and_resends_nothing(provider: str) -> None:
    ok, refusal = SMS_ANSWERS[provider]
    sent: list[tuple[str, str]] = []
    recipients = ("+420601000001", "+420601000002", "+420601000003")

    def answer(path: str) -> Answer:
        if (lookup := sms_lookup(path)) is not None:
            return lookup
        sms_requests = len(sent) - sum(sms_lookup(p) is not None for _, p in sent)
        return ok if sms_requests == 1 else refusal

    client = scripted(provider, answer, sent)
    with pytest.raises(PbxPartialSendError) as raised:
        await client.async_send_sms(SmsRequest(recipients, "hi"))
    assert raised.value.sent_to == recipients[:1]
    assert "1 of 3" in str(raised.value)
    assert not any(number[1:] in str(raised.value) for number in recipients)
    assert len([p for _, p in sent if sms_lookup(p) is None]) == 2


@pytest.mark.parametrize("provider", list(SMS_ANSWERS))
async def test_a_first_sms_failure_is_the_provider_refusal(provider: str) -> None:
    refusal = SMS_ANSWERS[provider][1]

    def answer(path: str) -> Answer:
        lookup = sms_lookup(path)
        return lookup if lookup is not None else refusal

    client = scripted(provider, answer)
    with pytest.raises(PbxResponseError):
        await client.async_send_sms(SmsRequest(("+420601000001", "+420601000002"), "hi"))
