"""The webhook: documented Telfa and Daktela hooks in, bus events and entity states out."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.pbx_bridge.api.models import WebhookItem, WebhookRequest
from custom_components.pbx_bridge.const import (
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
    DOMAIN,
)
from custom_components.pbx_bridge.events import EVENT_CALL, EVENT_SMS
from custom_components.pbx_bridge.webhook import (
    MAX_BODY_BYTES,
    setup_instructions,
    webhook_setup_text,
    webhook_urls,
)
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options, provider_params

FIXTURES = Path(__file__).parent / "fixtures"
HOOK_PATH = "/api/webhook/hook-1234"
TELFA_HOOKS = (
    "incoming_hook",
    "group_hook",
    "ring_hook",
    "transfer_hook",
    "outgoing_hook",
    "hangup_hook",
)
# The documented dialplan lines with values Asterisk would fill in.
DAKTELA_VALUES = {
    "${CALLERID(num)}": "777123456",
    "${FROM_DID}": "245008328",
    "${REAL_EXTEN}": "101",
    "${ID_CALL}": "1700000000.42",
}


def daktela_hook_queries() -> list[str]:
    """The query of each documented dialplan hook, filled in."""
    queries = []
    for line in (FIXTURES / "daktela" / "dialplan_hooks.txt").read_text().splitlines():
        query = line.split("script?", 1)[1].split('"', 1)[0]
        for placeholder, value in DAKTELA_VALUES.items():
            query = query.replace(placeholder, quote(value))
        queries.append(query)
    return queries


async def setup(
    hass: HomeAssistant, running: RunningSimulator, provider: str, **options: Any
) -> MockConfigEntry:
    return await async_setup_provider(
        hass, running, provider, {**demo_options(running, provider), **options}
    )


def our_logs_contain(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    """Whether a log record of the integration holds `text` (Home Assistant's own name the id)."""
    return any(
        text in record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.pbx_bridge")
    )


def stable_data(hass: HomeAssistant, event: Event[Any]) -> dict[str, Any]:
    """Bus data with the ids that change from run to run replaced by what they stand for."""
    device = dr.async_get(hass).async_get(event.data["device_id"])
    assert device is not None
    (identifier,) = device.identifiers
    entry = hass.config_entries.async_get_entry(event.data["config_entry_id"])
    assert entry is not None
    assert entry.unique_id is not None
    device_name = identifier[1].replace(entry.unique_id, "ACCOUNT")
    return {**event.data, "config_entry_id": "ENTRY", "device_id": device_name}


def entity_id(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> str:
    """The entity id of our entity whose unique id ends in `key`."""
    registry = er.async_get(hass)
    matches = [
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id == f"{entry.unique_id}_{key}"
    ]
    assert len(matches) == 1, key
    return matches[0]


async def test_telfa_documented_hooks(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """Every documented Telfa hook body, byte for byte, becomes the right bus events."""
    entry = await setup(hass, pbx_simulator, "telfa")
    client = await hass_client_no_auth()
    calls = async_capture_events(hass, EVENT_CALL)
    sms = async_capture_events(hass, EVENT_SMS)
    for hook in TELFA_HOOKS:
        body = (FIXTURES / "telfa" / f"{hook}.xml").read_bytes()
        response = await client.post(
            HOOK_PATH, data=body, headers={"Content-Type": "application/xml"}
        )
        assert response.status == 200, hook
    body = (FIXTURES / "telfa" / "sms_hook.json").read_bytes()
    response = await client.post(HOOK_PATH, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 200
    await hass.async_block_till_done()

    def stable(events: list[Event[Any]]) -> list[dict[str, Any]]:
        return [stable_data(hass, e) for e in events]

    assert stable(calls) == snapshot(name="call_events")
    assert stable(sms) == snapshot(name="sms_events")
    assert [e.data["type"] for e in calls] == [
        "incoming",
        "queued",
        "ringing",
        "answered",  # transfer_hook: the operator picked up (T:1065)
        "outgoing",
        "hangup",
    ]
    # The documented examples answer every call: nothing is missed.
    state = hass.states.get(entity_id(hass, entry, "call_events"))
    assert state is not None
    assert state.attributes["event_type"] == "hangup"
    assert state.attributes["call_id"] == "345032"
    state = hass.states.get(entity_id(hass, entry, "sms_events"))
    assert state is not None
    assert state.attributes["event_type"] == "received"
    assert state.attributes["text"] == "Dobrý večer, jak se máte?"
    # The same deliveries again change nothing.
    for hook in TELFA_HOOKS:
        body = (FIXTURES / "telfa" / f"{hook}.xml").read_bytes()
        assert (await client.post(HOOK_PATH, data=body)).status == 200
    await hass.async_block_till_done()
    assert len(calls) == 6
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_daktela_documented_hooks(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """The four dialplan GETs and the SMS callback, as Daktela sends them."""
    entry = await setup(hass, pbx_simulator, "daktela")
    client = await hass_client_no_auth()
    calls = async_capture_events(hass, EVENT_CALL)
    sms = async_capture_events(hass, EVENT_SMS)
    for query in daktela_hook_queries():
        response = await client.get(f"{HOOK_PATH}?{query}")
        assert response.status == 200, query
    # The SMS callback with the documented placeholders filled in.
    response = await client.get(
        f"{HOOK_PATH}?number=%2B420608608608&message=Ahoj&id=2222&direction=in"
    )
    assert response.status == 200
    await hass.async_block_till_done()
    assert [e.data["type"] for e in calls] == ["incoming", "ringing", "answered", "hangup"]
    # Daktela's hooks carry no time: the event is stamped when it arrives.
    assert all(datetime.fromisoformat(e.data["timestamp"]) for e in calls)
    assert [{**stable_data(hass, e), "timestamp": "ARRIVAL"} for e in calls] == snapshot(
        name="call_events"
    )
    assert [(e.data["sender"], e.data["text"]) for e in sms] == [("+420608608608", "Ahoj")]
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", provider_params())
async def test_refused_requests_change_nothing(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    provider: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Wrong method, huge body, garbage: a 4xx, no event, the same snapshot."""
    entry = await setup(hass, pbx_simulator, provider)
    client = await hass_client_no_auth()
    coordinator = entry.runtime_data.coordinator
    snapshot_before = coordinator.data
    events = async_capture_events(hass, EVENT_CALL)
    methods = entry.runtime_data.client.webhook_methods
    # A provider without push gets no webhook at all.
    assert ("hook-1234" in hass.data.get("webhook", {})) is bool(methods)
    if not methods:
        assert await hass.config_entries.async_unload(entry.entry_id)
        return
    for method in ("GET", "POST", "PUT"):
        response = await client.request(method, f"{HOOK_PATH}?action=nonsense", data=b"<x/>")
        assert response.status == (400 if method in methods else 405), method
    response = await client.post(HOOK_PATH, data=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status in (405, 413)
    await hass.async_block_till_done()
    assert events == []
    assert coordinator.data is snapshot_before
    assert not our_logs_contain(caplog, "hook-1234")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_body_size_limit(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A body over the limit is refused even when sent without a length (chunked)."""
    entry = await setup(hass, pbx_simulator, "telfa")
    client = await hass_client_no_auth()
    assert (await client.post(HOOK_PATH, data=b"<" * (MAX_BODY_BYTES + 1))).status == 413

    async def chunks() -> AsyncGenerator[bytes]:
        for _ in range(3):
            yield b" " * MAX_BODY_BYTES

    assert (await client.post(HOOK_PATH, data=chunks())).status == 413
    # Just at the limit: read, then refused for what it says.
    assert (await client.post(HOOK_PATH, data=b" " * MAX_BODY_BYTES)).status == 400
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_shared_secret(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a secret set, only requests that carry it (query or header) are heard."""
    caplog.set_level("DEBUG")
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_WEBHOOK_SECRET: "s3cr3t-value"})
    client = await hass_client_no_auth()
    events = async_capture_events(hass, EVENT_CALL)
    body = (FIXTURES / "telfa" / "incoming_hook.xml").read_bytes()
    assert (await client.post(HOOK_PATH, data=body)).status == 401
    assert (await client.post(f"{HOOK_PATH}?secret=wrong", data=body)).status == 401
    assert (
        await client.post(HOOK_PATH, data=body, headers={"X-Webhook-Secret": "nope"})
    ).status == 401
    await hass.async_block_till_done()
    assert events == []
    assert (await client.post(f"{HOOK_PATH}?secret=s3cr3t-value", data=body)).status == 200
    await hass.async_block_till_done()
    assert len(events) == 1
    ring = (FIXTURES / "telfa" / "ring_hook.xml").read_bytes()
    client_of_entry = entry.runtime_data.client
    parsed: list[WebhookRequest] = []
    parse = client_of_entry.parse_webhook

    def recording_parse(request: WebhookRequest) -> list[WebhookItem]:
        parsed.append(request)
        return parse(request)

    monkeypatch.setattr(client_of_entry, "parse_webhook", recording_parse)
    response = await client.post(HOOK_PATH, data=ring, headers={"x-webhook-SECRET": "s3cr3t-value"})
    assert response.status == 200
    await hass.async_block_till_done()
    assert len(events) == 2
    # The parser never sees the secret, whatever the case of its header.
    assert parsed
    assert all("s3cr3t-value" not in request.headers.values() for request in parsed)
    assert not our_logs_contain(caplog, "s3cr3t-value")
    assert not our_logs_contain(caplog, "hook-1234")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_stops_the_webhook(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    entry = await setup(hass, pbx_simulator, "telfa")
    client = await hass_client_no_auth()
    assert await hass.config_entries.async_unload(entry.entry_id)
    events = async_capture_events(hass, EVENT_CALL)
    body = (FIXTURES / "telfa" / "incoming_hook.xml").read_bytes()
    # Home Assistant answers 200 for unknown hooks so as not to reveal which exist.
    assert (await client.post(HOOK_PATH, data=body)).status == 200
    await hass.async_block_till_done()
    assert events == []


async def test_urls_and_instructions(hass: HomeAssistant) -> None:
    """The URLs shown to the user carry the secret; the instructions name every hook."""
    assert webhook_urls(hass, "hook-1234", "a b") == {}
    assert webhook_setup_text(hass, "telfa", "hook-1234", None) == ("-", "-")
    await hass.config.async_update(
        internal_url="http://192.168.1.2:8123", external_url="https://ha.example.com"
    )
    urls = webhook_urls(hass, "hook-1234", "a b")
    assert urls == {
        "internal": "http://192.168.1.2:8123/api/webhook/hook-1234?secret=a+b",
        "external": "https://ha.example.com/api/webhook/hook-1234?secret=a+b",
    }
    telfa = setup_instructions("telfa", urls["external"])
    assert telfa.count(urls["external"]) == 7
    assert "`sms_hook_url`" in telfa
    daktela = setup_instructions("daktela", "https://ha.example.com/api/webhook/x")
    assert (
        'answer: `AGI(notify_crm_api.agi,"https://ha.example.com/api/webhook/x?callerId='
        "${CALLERID(num)}&calleeId=${FROM_DID}&line=${REAL_EXTEN}&idcall=${ID_CALL}"
        '&action=answer","CRMAPI")`'
    ) in daktela
    assert "x?callid=${CALLERID(num)}&dnd=${FROM_DID}" in daktela
    assert "SetSMSSettings incoming_callback: `https://ha.example.com/api/webhook/x`" in daktela
    assert "?secret=1&callid=" in setup_instructions("daktela", "https://h/x?secret=1")
    assert setup_instructions("voipsun", "https://h/x") == "`https://h/x`"
    shown, setup = webhook_setup_text(hass, "telfa", "hook-1234", None)
    assert shown == (
        "- `http://192.168.1.2:8123/api/webhook/hook-1234`\n"
        "- `https://ha.example.com/api/webhook/hook-1234`"
    )
    assert "`https://ha.example.com/api/webhook/hook-1234`" in setup


async def test_flow_shows_the_webhook(hass: HomeAssistant, pbx_simulator: RunningSimulator) -> None:
    """The end of the setup and the options show the address and what to paste where."""
    await hass.config.async_update(external_url="https://ha.example.com")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "daktela"}
    )
    daktela_config = pbx_simulator.config["daktela"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {key: value for key, value in daktela_config.items() if key != "access_token"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["description"] == "webhook"
    entry = result["result"]
    url = f"https://ha.example.com/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert f"- `{url}`" in placeholders["urls"]
    assert f'`AGI(notify_crm_api.agi,"{url}?callerId=' in placeholders["setup"]
    await hass.async_block_till_done()

    # The options show them too; the words around them come from the translations.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init_webhook"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["provider"] == "Daktela"
    assert f"- `{url}`" in placeholders["urls"]
    assert f"SetSMSSettings incoming_callback: `{url}`" in placeholders["setup"]
    assert "Webhook" not in placeholders["urls"] + placeholders["setup"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)

    # A provider without push (Yemot pushes through an API extension now).
    odorik = await setup(hass, pbx_simulator, "odorik")
    result = await hass.config_entries.options.async_init(odorik.entry_id)
    assert result["step_id"] == "init"
    assert result["description_placeholders"] == {"provider": "Odorik"}
    assert await hass.config_entries.async_unload(odorik.entry_id)


async def test_same_internal_and_external_url_shown_once(hass: HomeAssistant) -> None:
    await hass.config.async_update(
        internal_url="https://ha.example.com", external_url="https://ha.example.com"
    )
    assert webhook_urls(hass, "hook-1234", None) == {
        "internal": "https://ha.example.com/api/webhook/hook-1234"
    }
