"""The shared client base: error mapping of the request helper, redaction, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import logging

import aiohttp
import pytest

from custom_components.pbx_bridge.api import PROVIDERS, client_class
from custom_components.pbx_bridge.api.client import REDACTED, PbxClient, parse_retry_after
from custom_components.pbx_bridge.api.declaration import (
    ConnectionField,
    OptionField,
    OptionKind,
    ProviderDeclaration,
)
from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxOutcomeUnknownError,
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.api.models import (
    AccountInfo,
    AnnounceRequest,
    Capability,
    DialRequest,
    HangupRequest,
    HangupTargetKind,
    SmsRequest,
    Snapshot,
    TransferRequest,
    WebhookRequest,
)
from custom_components.pbx_bridge.api.numbers import NumberForm, NumberPlan
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.testing import RunningSimulator

SECRET = "0773137770:4567"


class ProbeClient(PbxClient):
    """The smallest client: reads one Yemot command through the shared helper."""

    declaration = ProviderDeclaration(
        provider="probe",
        title="Probe",
        connection_fields=(
            ConnectionField("base_url", is_url=True),
            ConnectionField("token", secret=True),
        ),
        capabilities=frozenset({Capability.QUEUES}),
        options=(OptionField(key="pins", kind=OptionKind.MAPPING, secret=True),),
        poll_interval=timedelta(seconds=30),
        number_plan=NumberPlan(country_code="420", sends=NumberForm.E164),
    )
    default_base_url = "http://127.0.0.1:9"

    async def async_validate(self) -> AccountInfo:
        return AccountInfo("probe", "Probe")

    async def async_fetch_snapshot(self) -> Snapshot:
        return Snapshot(AccountInfo("probe", "Probe"))

    async def probe(self, *, once: bool = False) -> int:
        response = await self._request(
            "GET", "/GetQueueRealTime", params={"token": self._config["token"]}, once=once
        )
        assert response.text
        return response.status


def _probe_client(
    running: RunningSimulator, session: aiohttp.ClientSession, **kwargs: object
) -> ProbeClient:
    return ProbeClient(session, running.config["yemot"], **kwargs)  # type: ignore[arg-type]


def test_registry_names_every_provider() -> None:
    assert set(PROVIDERS) == {"telfa", "daktela", "daktela_v6", "odorik", "yemot", "voipsun"}
    for provider, cls in PROVIDERS.items():
        assert client_class(provider) is cls
        assert cls.provider == provider
        assert any(field.secret for field in cls.connection_fields)
    with pytest.raises(KeyError):
        client_class("nope")


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("not a date") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 50 < (parse_retry_after(later) or 0) <= 60


async def test_redaction_and_repr() -> None:
    async with aiohttp.ClientSession() as session:
        client = ProbeClient(session, {"token": SECRET}, options={"pins": {"1000": "8642"}})
        assert client.redact(f"token={SECRET}&pin=8642") == f"token={REDACTED}&pin={REDACTED}"
        assert SECRET not in repr(client)
        assert client.base_url == "http://127.0.0.1:9"
        assert client.supports(Capability.QUEUES)
        assert not client.supports(Capability.DIAL)
        assert client.format_number("+420245008328") == "+420245008328"


async def test_unsupported_actions_are_refused() -> None:
    async with aiohttp.ClientSession() as session:
        client = ProbeClient(session, {"token": SECRET})
        refused = [
            client.async_dial(DialRequest("+420245008328")),
            client.async_hangup(HangupRequest(HangupTargetKind.CALL, "1")),
            client.async_announce(AnnounceRequest(number="+420245008328", text="Hi")),
            client.async_send_sms(SmsRequest(("+420245008328",), "Hi")),
            client.async_transfer(TransferRequest("1", "101")),
            client.async_agent_login("1"),
            client.async_agent_logout("1"),
            client.async_agent_pause("1", "Lunch"),
            client.async_agent_unpause("1"),
            client.async_queue_login("1", "1"),
            client.async_queue_logout("1", "1"),
            client.async_queue_kick("1", "1"),
            client.async_register_webhook("http://example.invalid/hook"),
            client.async_unregister_webhook("http://example.invalid/hook"),
        ]
        for action in refused:
            with pytest.raises(PbxUnsupportedError, match="Probe does not support"):
                await action
        with pytest.raises(PbxUnsupportedError):
            client.parse_webhook(WebhookRequest("POST", {}, {}, b""))


@pytest.mark.parametrize(
    ("fault", "error", "once"),
    [
        (Fault("yemot", FaultKind.UNAUTHORIZED), PbxAuthError, False),
        (Fault("yemot", FaultKind.FORBIDDEN), PbxAuthError, False),
        (Fault("yemot", FaultKind.SERVER_ERROR), PbxConnectionError, False),
        # The provider may have acted on a request before its server failed.
        (Fault("yemot", FaultKind.SERVER_ERROR), PbxOutcomeUnknownError, True),
        (Fault("yemot", FaultKind.RATE_LIMIT, retry_after=9), PbxRateLimitError, False),
        (Fault("yemot", FaultKind.HANG), PbxConnectionError, False),
        (Fault("yemot", FaultKind.HANG), PbxOutcomeUnknownError, True),
    ],
)
async def test_request_errors_are_mapped_without_secrets(
    pbx_simulator: RunningSimulator,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    error: type[Exception],
    once: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    pbx_simulator.sim.faults.append(fault)
    async with aiohttp.ClientSession() as session:
        client = _probe_client(pbx_simulator, session, timeout=0.3)
        with pytest.raises(error) as raised:
            await client.probe(once=once)
    secret = pbx_simulator.config["yemot"]["token"]
    assert secret not in str(raised.value)
    assert secret not in caplog.text
    assert "GetQueueRealTime" in caplog.text  # the request was logged, redacted
    if isinstance(raised.value, PbxRateLimitError):
        assert raised.value.retry_after == 9


async def test_unreachable_host_is_a_connection_error(socket_enabled: None) -> None:
    async with aiohttp.ClientSession() as session:
        client = ProbeClient(session, {"token": SECRET, "base_url": "http://127.0.0.1:9"})
        with pytest.raises(PbxConnectionError, match=r"Cannot reach Probe \(") as raised:
            await client.probe()
        assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("once", "error"), [(True, PbxOutcomeUnknownError), (False, PbxConnectionError)]
)
async def test_dropped_connection(
    pbx_simulator: RunningSimulator, once: bool, error: type[Exception]
) -> None:
    """A single-shot request whose connection drops may have been carried out."""
    pbx_simulator.sim.faults.append(Fault("yemot", FaultKind.DISCONNECT))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(error) as raised:
            await _probe_client(pbx_simulator, session).probe(once=once)
    assert ("may have been carried out" in str(raised.value)) is once


async def test_too_large_response_is_refused(
    pbx_simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.pbx_bridge.api import client as client_module

    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 10)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(PbxConnectionError, match="too large"):
            await _probe_client(pbx_simulator, session).probe()


def test_response_error_carries_code_and_reason() -> None:
    error = PbxResponseError("Neplatné číslo", code="4")
    assert (error.code, error.reason, str(error)) == ("4", "Neplatné číslo", "Neplatné číslo")


async def test_plain_request(pbx_simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        assert await _probe_client(pbx_simulator, session).probe() == 200


async def test_repr_hides_credentials_written_into_the_url() -> None:
    async with aiohttp.ClientSession() as session:
        client = ProbeClient(
            session, {"token": SECRET, "base_url": "http://admin:hunter2@pbx.lan/api"}
        )
        assert repr(client) == "<ProbeClient http://pbx.lan/api>"
