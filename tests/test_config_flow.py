"""Config flow: every provider against the simulator, every error then recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import TextSelector
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.pbx_bridge.api import PROVIDERS, ConnectionField
from custom_components.pbx_bridge.api.errors import PbxError
from custom_components.pbx_bridge.api.models import Capability
from custom_components.pbx_bridge.api.providers.daktela_v6 import OPTION_OUTGOING_QUEUE
from custom_components.pbx_bridge.api.providers.voipsun import OPTION_AGENT_PINS
from custom_components.pbx_bridge.api.providers.yemot import (
    OPTION_API_RETURN_FOLDER,
    OPTION_QUEUE_PATHS,
)
from custom_components.pbx_bridge.config_flow import _field_errors
from custom_components.pbx_bridge.const import (
    CONF_AUTO_REGISTER_WEBHOOK,
    CONF_DEFAULT_DIAL_SOURCE,
    CONF_DEFAULT_DIAL_SOURCE_KIND,
    CONF_HOOK_NUMBERS,
    CONF_PROVIDER,
    CONF_SMS_RECIPIENTS,
    CONF_SMS_SENDER,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
    DOMAIN,
)
from custom_components.pbx_bridge.events import EVENT_SMS
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider


def _form_values(running: RunningSimulator, provider: str) -> dict[str, str]:
    """What a user types: the simulator's address and credentials, as the form has them."""
    keys = {field.key for field in PROVIDERS[provider].connection_fields}
    return {k: v for k, v in running.config[provider].items() if k in keys}


def _secret_key(provider: str) -> str:
    return next(f.key for f in PROVIDERS[provider].connection_fields if f.secret)


async def _start(hass: HomeAssistant, provider: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == list(PROVIDERS)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": provider}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == provider
    return dict(result)


async def test_user_flow_creates_entry(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """Menu, form, connection test: an entry whose devices match the simulator's account."""
    result = await _start(hass, provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_values(pbx_simulator, provider)
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.title.startswith(PROVIDERS[provider].title)
    assert entry.unique_id.startswith(f"{provider}_")
    assert {k: v for k, v in entry.data.items() if k != CONF_WEBHOOK_ID} == {
        CONF_PROVIDER: provider,
        **_form_values(pbx_simulator, provider),
    }
    assert len(entry.data[CONF_WEBHOOK_ID]) > 20
    assert entry.options == {}

    snapshot = entry.runtime_data.coordinator.data
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    expected = 1 + len(snapshot.agents) + len(snapshot.queues) + len(snapshot.registrations)
    assert len(devices) == expected
    assert er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"base_url": "ftp://example.com"}, "base_url", "invalid_host"),
        ({"base_url": "not a url"}, "base_url", "invalid_host"),
        ({"base_url": "http://127.0.0.1:9/"}, "base_url", "cannot_connect"),
        ("wrong_secret", "secret", "invalid_auth"),
    ],
)
async def test_user_flow_errors_then_recovery(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    provider: str,
    *,
    change: dict[str, str] | str,
    field: str,
    error: str,
) -> None:
    """Each error lands on its field; the corrected form then creates the entry."""
    result = await _start(hass, provider)
    values = _form_values(pbx_simulator, provider)
    if change == "wrong_secret":
        secret = _secret_key(provider)
        bad = {**values, secret: "wrong-" + values[secret]}
        if provider == "daktela":  # it would log in with login and password instead
            bad = {k: v for k, v in bad.items() if k not in ("login", "password")} | {
                "access_token": "0" * 40
            }
    else:
        assert isinstance(change, dict)
        bad = {**values, **change}
    expected_field = {
        "secret": (
            "base"
            if sum(f.secret for f in PROVIDERS[provider].connection_fields) > 1
            else _secret_key(provider)
        )
    }.get(field, field)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {expected_field: error}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_provider_answering_garbage_cannot_connect(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """A host that answers, but not as the provider's API, counts as unreachable."""
    result = await _start(hass, provider)
    pbx_simulator.sim.faults.append(Fault(provider=provider, kind=FaultKind.HTML, count=1))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_values(pbx_simulator, provider)
    )
    assert result["errors"] == {"base_url": "cannot_connect"}


@pytest.mark.parametrize("provider", ["yemot"])
async def test_unexpected_error_then_recovery(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """An error the client library did not classify shows `unknown` and is logged."""
    result = await _start(hass, provider)
    with patch.object(PROVIDERS[provider], "async_validate", side_effect=PbxError("odd")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _form_values(pbx_simulator, provider)
        )
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_values(pbx_simulator, provider)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize("provider", ["daktela"])
async def test_credentials_required(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """Daktela takes login and password or a token; with none of them the form says so."""
    result = await _start(hass, provider)
    values = _form_values(pbx_simulator, provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_url": values["base_url"]}
    )
    assert result["errors"] == {"base": "credentials_required"}


@pytest.mark.parametrize("provider", ["daktela"])
async def test_daktela_access_token_alone(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """A ready access token is enough for Daktela."""
    result = await _start(hass, provider)
    values = _form_values(pbx_simulator, provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_url": values["base_url"], "access_token": values["access_token"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "login" not in result["data"]
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_same_account_twice_aborts(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """The account id is the unique id: the same account cannot be added twice."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    result = await _start(hass, provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_values(pbx_simulator, provider)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth(hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str) -> None:
    """New credentials of the same account: wrong ones first, then the right ones."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    secret = _secret_key(provider)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"

    values = _form_values(pbx_simulator, provider)
    secrets = {f.key for f in PROVIDERS[provider].connection_fields if f.secret}
    entered = {k: v for k, v in values.items() if k in secrets}
    wrong = {secret: "wrong-" + entered[secret]}
    if provider == "daktela":
        wrong = {"access_token": "0" * 40}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], wrong)
    assert result["type"] is FlowResultType.FORM
    assert list(result["errors"].values()) == ["invalid_auth"]

    result = await hass.config_entries.flow.async_configure(result["flow_id"], entered)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_WEBHOOK_ID] == "hook-1234"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["yemot"])
async def test_reauth_with_another_account_aborts(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """Reauth cannot swap the account behind an entry."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    pbx_simulator.state.credentials["yemot"]["token"] = "0771111111:other-pass"
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token": "0771111111:other-pass"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """A new address of the same account, keeping the stored secret: an error, then success."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    values = _form_values(pbx_simulator, provider)
    non_secret = {
        f.key: values[f.key]
        for f in PROVIDERS[provider].connection_fields
        if not f.secret and f.key in values
    }
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**non_secret, "base_url": "http://127.0.0.1:9"}
    )
    assert result["errors"] == {"base_url": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**non_secret, "base_url": values["base_url"] + "/"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["base_url"] == values["base_url"] + "/"
    assert entry.data[_secret_key(provider)] == values[_secret_key(provider)]
    assert entry.data[CONF_WEBHOOK_ID] == "hook-1234"
    assert await hass.config_entries.async_unload(entry.entry_id)


# Where the instance's host name is the account (NAME.daktela.com), another address is
# another account; everywhere else the same account may move to another address.
HOST_IS_THE_ACCOUNT = {"daktela", "daktela_v6"}


@asynccontextmanager
async def _moved(running: RunningSimulator, provider: str) -> AsyncIterator[str]:
    """The provider's base URL at another address: a port that forwards to the simulator."""
    target = URL(running.config[provider]["base_url"])

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(target.host, target.port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield str(target.with_port(port))
    finally:
        server.close()
        server.close_clients()
        await server.wait_closed()


def _entity_ids(hass: HomeAssistant, entry: Any) -> set[str]:
    registry = er.async_get(hass)
    return {e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}


async def test_reconfigure_moves_to_another_address(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """The same account at another address: the entry, its entities and devices stay."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    unique_id, entities = entry.unique_id, _entity_ids(hass, entry)
    values = _form_values(pbx_simulator, provider)
    async with _moved(pbx_simulator, provider) as moved:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**values, "base_url": moved}
        )
        assert result["type"] is FlowResultType.ABORT
        if provider in HOST_IS_THE_ACCOUNT:
            assert result["reason"] == "wrong_account"
            assert entry.data["base_url"] == values["base_url"]
        else:
            assert result["reason"] == "reconfigure_successful"
            await hass.async_block_till_done()
            assert entry.data["base_url"] == moved
            assert entry.unique_id == unique_id
            assert entry.runtime_data.coordinator.last_update_success
            assert _entity_ids(hass, entry) == entities
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_account_known_by_its_address(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """A provider that names no account: its own unique id, duplicates refused by address."""
    values = _form_values(pbx_simulator, provider)
    result = await _start(hass, provider)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    first = result["result"]
    await hass.async_block_till_done()
    assert "127.0.0.1" not in first.unique_id
    assert first.unique_id.startswith(f"{provider}_")

    # The same PBX, however its address is written: refused.
    for base_url in (values["base_url"] + "/", "HTTP" + values["base_url"].removeprefix("http")):
        result = await _start(hass, provider)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**values, "base_url": base_url}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"

    # Another address is another PBX (here the same simulator through another port).
    async with _moved(pbx_simulator, provider) as other:
        await _second_pbx(hass, provider, values, other, first)


async def _second_pbx(
    hass: HomeAssistant, provider: str, values: dict[str, str], other: str, first: Any
) -> None:
    result = await _start(hass, provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**values, "base_url": other}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    second = result["result"]
    await hass.async_block_till_done()
    assert second.unique_id != first.unique_id

    # Reconfigure cannot move one entry onto the other's address; reauth keeps its own.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": second.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**values, "base_url": values["base_url"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert second.data["base_url"] == other
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_REAUTH, "entry_id": second.entry_id}, data=second.data
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {_secret_key(provider): values[_secret_key(provider)]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert second.unique_id != first.unique_id
    await hass.async_block_till_done()
    for entry in (first, second):
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["yemot"])
async def test_reconfigure_to_another_account_aborts(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """Reconfigure refuses credentials of a different account."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    pbx_simulator.state.credentials["yemot"]["token"] = "0771111111:other-pass"
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"base_url": entry.data["base_url"], "token": "0771111111:other-pass"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["token"] != "0771111111:other-pass"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


OPTIONS_BY_PROVIDER: dict[str, set[str]] = {
    "telfa": {
        CONF_DEFAULT_DIAL_SOURCE_KIND,
        CONF_DEFAULT_DIAL_SOURCE,
        CONF_SMS_SENDER,
        CONF_SMS_RECIPIENTS,
        CONF_WEBHOOK_SECRET,
        CONF_AUTO_REGISTER_WEBHOOK,
        CONF_HOOK_NUMBERS,
        "dial_method",
        "sms_polling",
    },
    "daktela": {
        CONF_DEFAULT_DIAL_SOURCE_KIND,
        CONF_DEFAULT_DIAL_SOURCE,
        CONF_SMS_SENDER,
        CONF_SMS_RECIPIENTS,
        CONF_WEBHOOK_SECRET,
        CONF_AUTO_REGISTER_WEBHOOK,
        "announcement_route",
        "agent_extensions",
    },
    "daktela_v6": {
        OPTION_OUTGOING_QUEUE,
        CONF_DEFAULT_DIAL_SOURCE_KIND,
        CONF_DEFAULT_DIAL_SOURCE,
        CONF_WEBHOOK_SECRET,
    },
    "odorik": {
        CONF_DEFAULT_DIAL_SOURCE_KIND,
        CONF_DEFAULT_DIAL_SOURCE,
        CONF_SMS_SENDER,
        CONF_SMS_RECIPIENTS,
    },
    "yemot": {
        OPTION_QUEUE_PATHS,
        CONF_DEFAULT_DIAL_SOURCE_KIND,
        CONF_DEFAULT_DIAL_SOURCE,
        CONF_SMS_SENDER,
        CONF_SMS_RECIPIENTS,
        CONF_WEBHOOK_SECRET,  # the API extension pushes calls
        OPTION_API_RETURN_FOLDER,
    },
    "voipsun": {
        "queue_names",
        OPTION_AGENT_PINS,
        "agent_lines",
        "queue_penalty",
        CONF_DEFAULT_DIAL_SOURCE_KIND,
        CONF_DEFAULT_DIAL_SOURCE,
    },
}


async def test_options_fields_per_provider(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """The options form shows what the provider has use for, and stores them."""
    entry = await async_setup_provider(hass, pbx_simulator, provider, options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert {str(key) for key in result["data_schema"].schema} == OPTIONS_BY_PROVIDER[provider]

    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {}
    # No polling option: the provider's declaration sets the interval.
    declaration = PROVIDERS[provider].declaration
    assert entry.runtime_data.coordinator.update_interval == declaration.poll_interval
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_options_agent_pins(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """Agent PINs are typed one per line; a bad line is refused, then corrected."""
    entry = await async_setup_provider(hass, pbx_simulator, provider, options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    for bad in ("1000: 12a4", "1000 1234", ": 1234"):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {OPTION_AGENT_PINS: bad}
        )
        assert result["errors"] == {OPTION_AGENT_PINS: "invalid_agent_pins"}, bad

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {OPTION_AGENT_PINS: "1000: 1001\n\n1001=1002, 1002 : 1003\n"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[OPTION_AGENT_PINS] == {"1000": "1001", "1001": "1002", "1002": "1003"}

    # Shown again as lines.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested[OPTION_AGENT_PINS] == "1000: 1001\n1001: 1002\n1002: 1003"
    hass.config_entries.options.async_abort(result["flow_id"])
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["telfa"])
async def test_options_sms_dial_and_webhook(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """Recipients are normalized, the dial source needs both parts, secrets are kept."""
    entry = await async_setup_provider(hass, pbx_simulator, provider, options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SMS_RECIPIENTS: ["not a number"],
            CONF_DEFAULT_DIAL_SOURCE: "101",
            CONF_SMS_SENDER: "  ",  # blank: left out
        },
    )
    assert result["errors"] == {
        CONF_SMS_RECIPIENTS: "invalid_sms_recipients",
        CONF_DEFAULT_DIAL_SOURCE: "incomplete_default_dial_source",
    }

    options = {
        CONF_SMS_RECIPIENTS: ["603 123 456", "+420603123456"],
        CONF_DEFAULT_DIAL_SOURCE_KIND: "user",
        CONF_DEFAULT_DIAL_SOURCE: " 101 ",
        CONF_SMS_SENDER: "1",
        CONF_WEBHOOK_SECRET: "s3cret",
        CONF_AUTO_REGISTER_WEBHOOK: False,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        **options,
        CONF_SMS_RECIPIENTS: ["+420603123456"],
        CONF_DEFAULT_DIAL_SOURCE: "101",
    }
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["odorik"])
async def test_options_odorik_sms_sender_is_one_the_account_may_use(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """Saved, the SMS sender is checked against /sms/allowed_sender; unreachable, it is kept."""
    entry = await async_setup_provider(hass, pbx_simulator, provider, options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SMS_SENDER: "+420245008328"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SMS_SENDER: "sms_sender_not_allowed"}
    assert pbx_simulator.sim.requests_for("odorik", "GET /sms/allowed_sender")

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SMS_SENDER: "00420789123456"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {CONF_SMS_SENDER: "00420789123456"}

    pbx_simulator.sim.faults.append(
        Fault("odorik", FaultKind.SERVER_ERROR, endpoint="GET /sms/allowed_sender")
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SMS_SENDER: "Bank"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY  # refused when used, if at all
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


def _field(result: Any, key: str) -> Any:
    """The selector of option `key` on a form."""
    return next(value for marker, value in result["data_schema"].schema.items() if marker == key)


async def test_options_telfa_dial_method_and_sms_polling(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Telfa's own options reach the client: click-to-call's `method`, and received SMS
    read at each refresh (an event for each new one) when Telfa cannot reach the webhook."""
    entry = await async_setup_provider(hass, pbx_simulator, "telfa", options={})
    assert not entry.runtime_data.client.supports(Capability.SMS_POLLING)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert _field(result, "dial_method").config["options"] == ["voip", "mobile", "both"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"dial_method": "mobile", "sms_polling": True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    client = entry.runtime_data.client
    assert client.supports(Capability.SMS_POLLING)
    await hass.services.async_call(
        DOMAIN,
        "dial",
        {"config_entry_id": entry.entry_id, "number": "602123456"},
        blocking=True,
        return_response=True,
    )
    (dial,) = pbx_simulator.sim.requests_for("telfa", "POST /calls")
    assert dial.query["method"] == "mobile"
    received = async_capture_events(hass, EVENT_SMS)
    pbx_simulator.state.receive_sms("+420608608608", "245008329", "Ahoj")
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert [(e.data["sender"], e.data["text"]) for e in received] == [("+420608608608", "Ahoj")]
    assert pbx_simulator.sim.requests_for("telfa", "GET /sms")[-1].query["inbound"] == "true"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_telfa_hook_numbers(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """The numbers to register on are chosen from the account's, and reach the client."""
    entry = await async_setup_provider(hass, pbx_simulator, "telfa", options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    config = _field(result, CONF_HOOK_NUMBERS).config
    assert config["multiple"] is True
    assert config["options"] == [
        {"value": "1", "label": "245008328 (1)"},
        {"value": "2", "label": "245008329 (2)"},
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_HOOK_NUMBERS: ["2"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_HOOK_NUMBERS] == ["2"]
    assert entry.runtime_data.client._options["hook_numbers"] == ["2"]

    # A chosen number the account no longer lists stays offered, so it can be unticked.
    pbx_simulator.state.numbers.pop("2")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    values = [option["value"] for option in _field(result, CONF_HOOK_NUMBERS).config["options"]]
    assert values == ["2", "1"]
    hass.config_entries.options.async_abort(result["flow_id"])

    # The numbers cannot be read: their ids are typed, and must be ids.
    pbx_simulator.sim.faults.append(
        Fault(provider="telfa", kind=FaultKind.SERVER_ERROR, endpoint="GET /recipes")
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert isinstance(_field(result, CONF_HOOK_NUMBERS), TextSelector)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_HOOK_NUMBERS: ["main line"]}
    )
    assert result["errors"] == {CONF_HOOK_NUMBERS: "invalid_hook_numbers"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_HOOK_NUMBERS: [" 1 ", "1", "3"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_HOOK_NUMBERS] == ["1", "3"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unknown_entry_data_is_not_shown_to_the_client(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Only connection fields reach the client: not the webhook id or the provider id."""
    entry = await async_setup_provider(hass, pbx_simulator, "yemot")
    config = entry.runtime_data.client._config
    assert set(config) == {"token", "base_url"}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_flow_through_the_rest_api(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pbx_simulator: RunningSimulator,
    provider: str,
) -> None:
    """What scripts/develop does: menu step by provider id, then the provider's form."""
    # Everything that adds HTTP routes must be set up before the test client starts.
    for component in ("config", "webhook"):
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    api = "/api/config/config_entries/flow"
    response = await client.post(api, json={"handler": DOMAIN})
    flow = await response.json()
    assert flow["type"] == "menu"
    response = await client.post(f"{api}/{flow['flow_id']}", json={"next_step_id": provider})
    form = await response.json()
    fields = {field["name"] for field in form["data_schema"]}
    data = {k: v for k, v in pbx_simulator.config[provider].items() if k in fields}
    response = await client.post(f"{api}/{flow['flow_id']}", json=data)
    result = await response.json()
    assert result["type"] == "create_entry"
    assert PROVIDERS[provider].title in result["title"]
    await hass.async_block_till_done()
    for entry in hass.config_entries.async_entries(DOMAIN):
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["yemot"])
async def test_options_blank_lines_are_left_out(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str
) -> None:
    """A list of blank lines stores nothing, rather than an empty list."""
    entry = await async_setup_provider(hass, pbx_simulator, provider, options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {OPTION_QUEUE_PATHS: ["  ", ""]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_of_an_unloaded_entry_list_the_webhook_targets(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """The entry is not loaded: a client of its own reads the numbers to choose from."""
    entry = await async_setup_provider(hass, pbx_simulator, "telfa", options={})
    assert await hass.config_entries.async_unload(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    values = [option["value"] for option in _field(result, CONF_HOOK_NUMBERS).config["options"]]
    assert values == ["1", "2"]
    hass.config_entries.options.async_abort(result["flow_id"])


def test_connection_field_patterns() -> None:
    """A declared pattern refuses other values with `invalid_format`, on that field."""
    declaration = replace(
        PROVIDERS["yemot"].declaration,
        connection_fields=(
            ConnectionField("token", secret=True, pattern="[0-9]+:.+"),
            ConnectionField("base_url", is_url=True),
        ),
    )
    assert _field_errors(declaration, {"token": "0773137770:pw"}) == {}
    assert _field_errors(declaration, {"token": "no-colon", "base_url": "ftp://x"}) == {
        "token": "invalid_format",
        "base_url": "invalid_host",
    }
