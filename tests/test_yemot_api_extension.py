"""Yemot in Home Assistant: the API extension through the real webhook, and the login form."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import parse_qsl

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.pbx_bridge.api.providers.yemot import (
    OPTION_API_RETURN_FOLDER,
    OPTION_QUEUE_PATHS,
)
from custom_components.pbx_bridge.const import CONF_WEBHOOK_SECRET, DOMAIN
from custom_components.pbx_bridge.events import EVENT_CALL
from pbx_simulator.providers.yemot import YemotSim
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options

HOOK_PATH = "/api/webhook/hook-1234"
QUERY = (
    Path(__file__).parent / "fixtures" / "yemot" / "api_extension_request_query.txt"
).read_text()
SECRET = "s3cret-for-yemot"


async def test_api_extension_call_through_the_webhook(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Incoming and hangup fire at once; the answer is the extension's next command."""
    caplog.set_level(logging.DEBUG)
    options = demo_options(pbx_simulator, "yemot") | {CONF_WEBHOOK_SECRET: SECRET}
    entry = await async_setup_provider(hass, pbx_simulator, "yemot", options)
    events = async_capture_events(hass, EVENT_CALL)
    client = await hass_client_no_auth()
    polls = len(pbx_simulator.sim.requests_for("yemot"))

    # Yemot sends no authentication: without the secret in the URL nothing happens.
    refused = await client.get(f"{HOOK_PATH}?{QUERY}")
    assert refused.status == 401
    assert events == []

    answer = await client.get(f"{HOOK_PATH}?secret={SECRET}&{QUERY}")
    assert answer.status == 200
    assert await answer.text() == "go_to_folder=/5"  # back where the call came from
    assert answer.content_type == "text/plain"
    await hass.async_block_till_done()
    incoming, answered = events
    assert incoming.data["type"] == "incoming"
    assert answered.data["type"] == "answered"  # by Yemot's IVR: the hangup is no missed call
    assert incoming.data["call_id"] == "f6657b78a2f35d6d04dd203400828362"
    assert incoming.data["caller"] == "+972541234567"

    # `api_url_post=yes`: the same fields as a form.
    hangup = await client.post(
        f"{HOOK_PATH}?secret={SECRET}",
        data=dict(parse_qsl(QUERY)) | {"hangup": "yes"},
    )
    assert hangup.status == 200
    assert await hangup.text() == ""
    await hass.async_block_till_done()
    assert [event.data["type"] for event in events] == ["incoming", "answered", "hangup"]
    # No provider request while a webhook request waits.
    assert len(pbx_simulator.sim.requests_for("yemot")) == polls

    malformed = await client.get(f"{HOOK_PATH}?secret={SECRET}&ApiPhone=0541234567")
    assert malformed.status == 400
    # Our logs: the caller's number only at debug level, the secret never.
    assert any(r.name.startswith("custom_components.pbx_bridge") for r in caplog.records)
    for record in caplog.records:
        if not record.name.startswith("custom_components.pbx_bridge"):
            continue  # Home Assistant's access log (debug only) shows the request line
        assert SECRET not in record.getMessage()
        if record.levelno > logging.DEBUG:
            assert "0541234567" not in record.getMessage()
            assert "972541234567" not in record.getMessage()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_api_extension_return_folder_option(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    options = demo_options(pbx_simulator, "yemot") | {OPTION_API_RETURN_FOLDER: "/1/2"}
    entry = await async_setup_provider(hass, pbx_simulator, "yemot", options)
    client = await hass_client_no_auth()
    answer = await client.get(f"{HOOK_PATH}?{QUERY}")
    assert await answer.text() == "go_to_folder=/1/2"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_options_refuse_a_return_folder_that_is_not_a_path(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    entry = await async_setup_provider(hass, pbx_simulator, "yemot")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init_webhook"
    assert "`type=api`" in result["description_placeholders"]["setup"]
    assert "`api_hangup_send=yes`" in result["description_placeholders"]["setup"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {OPTION_API_RETURN_FOLDER: "/5&read=x"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {OPTION_API_RETURN_FOLDER: "invalid_api_return_folder"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {OPTION_API_RETURN_FOLDER: "/5"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[OPTION_API_RETURN_FOLDER] == "/5"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_setup_with_system_number_and_password(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client: ClientSessionGenerator,
) -> None:
    """The form's system number and password: the entry logs in for a session token."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "yemot"}
    )
    base_url = pbx_simulator.config["yemot"]["base_url"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"base_url": base_url, "system_number": "0773137770", "token": "wrong-pass"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"token": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"base_url": base_url, "system_number": "0773137770", "token": "ym-4567-pass"},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == "yemot_0773137770"
    assert entry.runtime_data.coordinator.data.registrations
    logins = pbx_simulator.sim.requests_for("yemot", "Login")
    assert dict(parse_qsl(logins[-1].body)) == {
        "username": "0773137770",
        "password": "ym-4567-pass",
    }
    await async_setup_component(hass, "diagnostics", {})
    diagnostics = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
    sim = pbx_simulator.sim.providers["yemot"]
    assert isinstance(sim, YemotSim)
    for secret in ("ym-4567-pass", *sim.sessions):
        assert secret not in diagnostics
    assert '"system_number": "**REDACTED**"' in diagnostics
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_bad_queue_path_becomes_a_repair_issue(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """The path Yemot refuses is named in a repair issue; the other queue still shows."""
    await hass.config.async_update(external_url="https://ha.example.com")
    entry = await async_setup_provider(
        hass, pbx_simulator, "yemot", {OPTION_QUEUE_PATHS: ["/801", "/999"]}
    )
    assert list(entry.runtime_data.coordinator.data.queues) == ["ivr2:/801"]
    issues = {
        issue_id.removeprefix(f"{entry.entry_id}_"): issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith(entry.entry_id)
    }
    assert set(issues) == {"problem_unknown_queue_ivr2:/999"}
    assert issues["problem_unknown_queue_ivr2:/999"].translation_placeholders == {
        "account": entry.title,
        "subject": "ivr2:/999",
    }
    assert await hass.config_entries.async_unload(entry.entry_id)
