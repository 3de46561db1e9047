"""Actions against the simulator: one request each, with the parameters the provider documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
import logging
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch
from urllib.parse import parse_qsl

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util.yaml import load_yaml_dict
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.pbx_bridge.api.errors import (
    PbxError,
    PbxPartialSendError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.api.models import SipKind
from custom_components.pbx_bridge.api.providers.yemot import OPTION_QUEUE_PATHS
from custom_components.pbx_bridge.api.registry import PROVIDERS
from custom_components.pbx_bridge.const import DOMAIN
from custom_components.pbx_bridge.entity import ObjectKind, object_identifier
from custom_components.pbx_bridge.services import ACTIONS
from pbx_simulator.app import LoggedRequest
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.state import CallStatus
from pbx_simulator.testing import RunningSimulator

type SetupEntry = Callable[..., Awaitable[MockConfigEntry]]

# Every action and the capability it needs, as the support table in the README shows.
ALL_ACTIONS = (
    "dial",
    "send_sms",
    "announce",
    "hangup",
    "transfer",
    "queue_login",
    "queue_logout",
    "queue_kick",
)
# Minimal valid data per action (besides the entry), used to probe unsupported ones.
VALID_DATA: dict[str, dict[str, Any]] = {
    "dial": {"number": "+420601234567"},
    "send_sms": {"recipients": ["+420601234567"], "message": "Hi"},
    "announce": {"number": "+420601234567", "message": "Hi"},
    "hangup": {"call_id": "1"},
    "transfer": {"call_id": "1", "destination": "101"},
    # Devices are looked up after the provider's offer is checked: any id will do.
    "queue_login": {"agent": "device-1", "queue": "device-2"},
    "queue_logout": {"agent": "device-1", "queue": "device-2"},
    "queue_kick": {"queue": "device-2", "call_id": "1"},
}
# Per provider: the actions it offers (the rest must be refused before any request).
SUPPORTED = {
    "telfa": {"dial", "send_sms", "announce", "hangup", "transfer"},
    "daktela": {
        "dial",
        "send_sms",
        "announce",
        "hangup",
        "transfer",
        "queue_login",
        "queue_logout",
    },
    # Queue logout shares the queue-login capability; the client refuses it (unconfirmed).
    "daktela_v6": {"dial", "queue_login", "queue_logout"},
    "odorik": {"dial", "send_sms", "hangup"},
    "yemot": {"dial", "send_sms", "announce", "queue_kick"},
    "voipsun": {
        "dial",
        "hangup",
        "queue_login",
        "queue_logout",
    },
}


def sent(request: LoggedRequest) -> dict[str, Any]:
    """Every parameter of a logged request: query, form or JSON body."""
    params: dict[str, Any] = dict(request.query)
    content_type = request.headers.get("Content-Type", "")
    if "json" in content_type:
        params.update(json.loads(request.body))
    elif "x-www-form-urlencoded" in content_type:
        params.update(parse_qsl(request.body, keep_blank_values=True))
    return params


def only_request(running: RunningSimulator, provider: str, endpoint: str) -> dict[str, Any]:
    """The parameters of the one request sent to `endpoint` (fails if there were more)."""
    requests = running.sim.requests_for(provider, endpoint)
    assert len(requests) == 1, [r.path for r in running.sim.requests_for(provider)]
    return sent(requests[0])


@pytest.fixture
def setup_entry(hass: HomeAssistant, pbx_simulator: RunningSimulator) -> SetupEntry:
    """Set up an entry for a provider of the simulator; its requests log starts empty."""

    async def setup(provider: str, options: dict[str, Any] | None = None) -> MockConfigEntry:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"{provider} account",
            data={"provider": provider, **pbx_simulator.config[provider]},
            options=options or {},
            unique_id=f"{provider}-account",
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        pbx_simulator.sim.requests.clear()
        return entry

    return setup


async def call(
    hass: HomeAssistant, entry: MockConfigEntry, action: str, **data: Any
) -> dict[str, Any] | None:
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, **data},
        blocking=True,
        return_response=action in ("dial", "send_sms", "announce"),
    )
    return dict(response) if response is not None else None


def device_id(hass: HomeAssistant, entry: MockConfigEntry, kind: ObjectKind, object_id: str) -> str:
    """The id of the device of the agent, queue or line `object_id` of `entry`."""
    identifier = object_identifier(str(entry.unique_id), kind, object_id)
    device = dr.async_get(hass).async_get_device_by_identifier(identifier, entry.entry_id)
    assert device is not None, identifier
    return device.id


def entity_id(
    hass: HomeAssistant, entry: MockConfigEntry, kind: ObjectKind, object_id: str, key: str
) -> str:
    """The entity id of the `key` entity of the agent, queue or line `object_id`."""
    registry = er.async_get(hass)
    unique_id = f"{entry.unique_id}_{kind}_{object_id}_{key}"
    return next(
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id == unique_id
    )


async def switch(hass: HomeAssistant, entity: str, on: bool) -> None:
    """Turn an agent switch on or off (what the removed agent actions did)."""
    await hass.services.async_call(
        "switch", "turn_on" if on else "turn_off", {"entity_id": entity}, blocking=True
    )


# --- refusals before any request ------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "action"),
    [(p, a) for p, actions in SUPPORTED.items() for a in ALL_ACTIONS if a not in actions],
)
async def test_unsupported_action_is_refused(
    hass: HomeAssistant,
    *,
    pbx_simulator: RunningSimulator,
    setup_entry: SetupEntry,
    provider: str,
    action: str,
) -> None:
    entry = await setup_entry(provider)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, action, **VALID_DATA[action])
    assert err.value.translation_key == "action_not_supported"
    assert err.value.translation_placeholders == {
        "provider": entry.runtime_data.client.title,
        "action": action,
    }
    assert str(err.value) == f"{entry.runtime_data.client.title} does not offer the action {action}"
    assert pbx_simulator.sim.requests_for(provider) == []


async def test_unknown_entry_is_refused(hass: HomeAssistant, setup_entry: SetupEntry) -> None:
    """Home Assistant's own check and message (service.async_get_config_entry)."""
    await setup_entry("yemot")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "dial",
            {ATTR_CONFIG_ENTRY_ID: "no-such-entry", "number": "+420601234567"},
            blocking=True,
        )
    assert err.value.translation_domain == "homeassistant"
    assert err.value.translation_key == "service_config_entry_not_found"
    assert err.value.translation_placeholders == {"domain": DOMAIN, "entry_id": "no-such-entry"}


async def test_entry_of_another_domain_is_refused(
    hass: HomeAssistant, setup_entry: SetupEntry
) -> None:
    await setup_entry("yemot")
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, other, "dial", number="+420601234567")
    assert err.value.translation_key == "service_config_entry_wrong_domain"


async def test_unloaded_entry_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "dial", number="+420601234567")
    assert err.value.translation_key == "service_config_entry_not_loaded"
    assert err.value.translation_placeholders == {"domain": DOMAIN, "entry_title": entry.title}
    assert pbx_simulator.sim.requests == []


async def test_device_fields_are_checked_before_any_request(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """A missing device, another integration's, one of another account or of the wrong
    kind: each a translated error naming the field, and nothing is sent."""
    entry = await setup_entry("daktela")
    agent = device_id(hass, entry, ObjectKind.AGENT, "agent1")
    queue = device_id(
        hass, entry, ObjectKind.QUEUE, next(iter(entry.runtime_data.coordinator.data.queues))
    )
    other_entry = MockConfigEntry(domain="other")
    other_entry.add_to_hass(hass)
    foreign = dr.async_get(hass).async_get_or_create(
        config_entry_id=other_entry.entry_id, identifiers={("other", "1")}, name="Lamp"
    )
    second = await setup_entry("voipsun", options=VOIPSUN_PINS)
    voipsun_agent = device_id(hass, second, ObjectKind.AGENT, "1000")
    hub = dr.async_get(hass).async_get_device_by_identifier(
        ("pbx_bridge", str(entry.unique_id)), entry.entry_id
    )
    assert hub is not None
    cases: list[tuple[str, dict[str, Any], str, dict[str, str]]] = [
        (
            "queue_login",
            {"agent": "nope", "queue": queue},
            "action_device_not_found",
            {"field": "agent"},
        ),
        (
            "queue_login",
            {"agent": foreign.id, "queue": queue},
            "action_device_not_ours",
            {"field": "agent", "device": "Lamp"},
        ),
        (
            "queue_login",
            {"agent": voipsun_agent, "queue": queue},
            "action_device_of_another_account",
            {"field": "queue"},
        ),
        (
            "queue_login",
            {"agent": queue, "queue": agent},
            "action_wrong_device",
            {"field": "agent"},
        ),
        (
            "queue_logout",
            {"agent": agent, "queue": hub.id},
            "action_wrong_device",
            {"field": "queue"},
        ),
    ]
    for action, data, key, placeholders in cases:
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, action, data, blocking=True)
        assert err.value.translation_key == key, (action, data)
        assert err.value.translation_placeholders is not None
        assert placeholders.items() <= err.value.translation_placeholders.items(), key
    # A device of another account than the `config_entry_id` given.
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, second, "queue_logout", agent=agent, queue=queue)
    assert err.value.translation_key == "action_device_of_another_account"
    assert pbx_simulator.sim.requests == []


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("dial", {"number": "front door"}, "number"),
        ("dial", {"number": "+420601234567", "caller_id": "12"}, "caller_id"),
        ("send_sms", {"recipients": ["+420601234567", "call me"], "message": "Hi"}, "recipients"),
        ("announce", {"number": "0", "message": "Hi"}, "number"),
    ],
)
async def test_invalid_number_is_refused_before_any_request(
    hass: HomeAssistant,
    *,
    pbx_simulator: RunningSimulator,
    setup_entry: SetupEntry,
    action: str,
    data: dict[str, Any],
    field: str,
) -> None:
    entry = await setup_entry("yemot")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, action, **data)
    assert err.value.translation_key == "action_invalid_number"
    assert err.value.translation_placeholders is not None
    assert err.value.translation_placeholders["field"] == field
    # The message names the field, never the number (numbers stay out of logs).
    assert "601234567" not in str(err.value)
    assert pbx_simulator.sim.requests == []


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("dial", {}),
        ("dial", {"number": "  "}),
        ("dial", {"number": "+420601234567", "source": "101"}),
        ("dial", {"number": "+420601234567", "source_kind": "phone", "source": "1"}),
        ("dial", {"number": "+420601234567", "ring_timeout": 1}),
        ("send_sms", {"recipients": [], "message": "Hi"}),
        ("send_sms", {"recipients": ["+420601234567"], "message": ""}),
        ("announce", {"message": "Hi"}),
        ("announce", {"number": "+420601234567"}),
        ("hangup", {}),
        ("hangup", {"call_id": "1", "channel": "SIP/101-1"}),
        (
            "dial",
            {"number": "+420601234567", "source_device": "x", "source_kind": "user", "source": "1"},
        ),
        ("hangup", {"call_id": "1", "agent": "x"}),
        ("queue_kick", {"queue": "x"}),
    ],
)
async def test_schema_refuses_incomplete_data(
    hass: HomeAssistant, setup_entry: SetupEntry, action: str, data: dict[str, Any]
) -> None:
    entry = await setup_entry("yemot")
    with pytest.raises(probatio.Invalid):
        await call(hass, entry, action, **data)


# --- Yemot (call2all): numbers in the national 05… form ---------------------------------


async def test_yemot_dial(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    response = await call(
        hass,
        entry,
        "dial",
        number="050-123-4567",
        source_kind="extension",
        source="/1/100",
        caller_id="+972 3 555 5555",
        ring_timeout=20,
    )
    params = only_request(pbx_simulator, "yemot", "CallExtensionBridging")
    assert params["phones"] == "0501234567"
    assert params["ivrPath"] == "ivr2:/1/100"
    assert params["callerId"] == "035555555"
    assert params["callsTimeOut"] == "20"
    assert response is not None
    assert response["call_id"].startswith("YA-1-035555555-")
    assert [c.callee for c in pbx_simulator.state.calls.values()] == ["0501234567"]


async def test_yemot_dial_uses_the_default_source(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry(
        "yemot",
        options={"default_dial_source_kind": "extension", "default_dial_source": "/2"},
    )
    await call(hass, entry, "dial", number="+972501234567")
    assert only_request(pbx_simulator, "yemot", "CallExtensionBridging")["ivrPath"] == "ivr2:/2"


async def test_yemot_dial_from_a_user_is_refused_with_the_reason(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "dial", number="0501234567", source_kind="user", source="agent1")
    assert err.value.translation_key == "invalid_input"
    assert "IVR extension path" in err.value.translation_placeholders["error"]
    assert pbx_simulator.sim.requests == []


async def test_yemot_announce(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    response = await call(
        hass,
        entry,
        "announce",
        number="+972 50 123 4567",
        message="Someone is at the front door",
        voice="Osnat",
    )
    params = only_request(pbx_simulator, "yemot", "SendTTS")
    assert params["phones"] == "0501234567"
    assert params["ttsMessage"] == "Someone is at the front door"
    assert params["ttsVoice"] == "Osnat"
    assert response is not None
    assert response["call_id"].startswith("YA-1-")
    (announced,) = pbx_simulator.state.calls.values()
    assert announced.announcement == "Someone is at the front door"


async def test_yemot_send_sms(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    response = await call(
        hass,
        entry,
        "send_sms",
        recipients=["050-123-4567", "00972 52 765 4321"],
        message="Sorry we missed your call",
        sender="Shop",
    )
    params = only_request(pbx_simulator, "yemot", "SendSms")
    assert params["phones"] == "0501234567:0527654321"
    assert params["message"] == "Sorry we missed your call"
    assert params["from"] == "Shop"
    # Yemot gives no message ids.
    assert response == {"message_ids": []}
    assert sorted(s.recipient for s in pbx_simulator.state.sms.values()) == [
        "0501234567",
        "0527654321",
    ]


async def test_yemot_send_sms_accepts_one_recipient_as_text(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    await call(hass, entry, "send_sms", recipients="0501234567", message="Hi")
    assert only_request(pbx_simulator, "yemot", "SendSms")["phones"] == "0501234567"


async def test_yemot_refusal_carries_its_reason(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    # Yemot sends SMS to Israeli mobiles only: it refuses the number with "not Vaild".
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "send_sms", recipients=["+420601234567"], message="Hi")
    assert err.value.translation_key == "provider_refused"
    assert err.value.translation_placeholders["provider"] == "Yemot (call2all)"
    assert "not Vaild" in err.value.translation_placeholders["error"]
    assert str(err.value).startswith("Yemot (call2all) refused the request: ")
    assert len(pbx_simulator.sim.requests_for("yemot", "SendSms")) == 1
    assert pbx_simulator.state.sms == {}


async def test_yemot_queue_kick(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    queue_path = f"ivr2:/{pbx_simulator.state.queues['1'].extension}"
    entry = await setup_entry("yemot", options={OPTION_QUEUE_PATHS: [queue_path]})
    waiting = pbx_simulator.state.incoming_call("0501234567", queue_id="1")
    yemot_call_id = pbx_simulator.sim.providers["yemot"].call_id(waiting)  # type: ignore[attr-defined]
    queue = device_id(hass, entry, ObjectKind.QUEUE, queue_path)
    # The queue device names the account: no config_entry_id needed.
    await hass.services.async_call(
        DOMAIN, "queue_kick", {"queue": queue, "call_id": yemot_call_id}, blocking=True
    )
    params = only_request(pbx_simulator, "yemot", "QueueManagement")
    assert params["action"] == "kick"
    assert params["queuePath"] == queue_path
    assert params["callIds"] == [yemot_call_id]
    assert waiting.status is CallStatus.ENDED


async def test_yemot_queue_kick_of_an_unknown_call(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    queue_path = f"ivr2:/{pbx_simulator.state.queues['1'].extension}"
    entry = await setup_entry("yemot", options={OPTION_QUEUE_PATHS: [queue_path]})
    queue = device_id(hass, entry, ObjectKind.QUEUE, queue_path)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "queue_kick", queue=queue, call_id="0" * 32)
    assert err.value.translation_key == "provider_refused"
    assert err.value.translation_placeholders["error"] == "Call not found"


@pytest.mark.parametrize(
    ("error", "translation_key", "error_class"),
    [
        (
            PbxUnsupportedError("only campaigns"),
            "unsupported",
            ServiceValidationError,
        ),
        (PbxError("something else"), "invalid_response", HomeAssistantError),
    ],
)
async def test_other_client_errors(
    hass: HomeAssistant,
    setup_entry: SetupEntry,
    error: PbxError,
    translation_key: str,
    error_class: type[HomeAssistantError],
) -> None:
    entry = await setup_entry("yemot")
    with (
        patch.object(entry.runtime_data.client, "async_dial", side_effect=error),
        pytest.raises(error_class) as err,
    ):
        await call(hass, entry, "dial", number="0501234567")
    assert err.value.translation_key == translation_key
    assert err.value.translation_placeholders["error"] == str(error)


async def test_partial_sms_send_says_how_many_went_out(
    hass: HomeAssistant, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    error = PbxPartialSendError("Telfa sent the SMS to 1 of 2 recipients", ("+420602123456",))
    error.__cause__ = PbxResponseError("INCORRECT_NUMBER", "905")
    with (
        patch.object(entry.runtime_data.client, "async_send_sms", side_effect=error) as send,
        pytest.raises(HomeAssistantError) as err,
    ):
        await call(hass, entry, "send_sms", recipients=["602123456", "603123456"], message="Hi")
    assert send.call_count == 1
    assert err.value.translation_key == "partial_send"
    assert err.value.translation_placeholders == {
        "provider": "Telfa",
        "error": "INCORRECT_NUMBER (905)",
        "sent": "1",
        "total": "2",
    }
    message = str(err.value)
    assert "1 of 2 recipients" in message
    assert "nothing was resent" in message
    assert "602123456" not in message
    assert "603123456" not in message


# --- transport failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "endpoint", "data"),
    [
        ("dial", "CallExtensionBridging", {"number": "0501234567"}),
        ("announce", "SendTTS", {"number": "0501234567", "message": "Hi"}),
        ("send_sms", "SendSms", {"recipients": ["0501234567"], "message": "Hi"}),
    ],
)
async def test_timeout_is_not_retried_and_says_the_outcome_is_unknown(
    hass: HomeAssistant,
    *,
    pbx_simulator: RunningSimulator,
    setup_entry: SetupEntry,
    action: str,
    endpoint: str,
    data: dict[str, Any],
) -> None:
    entry = await setup_entry("yemot")
    entry.runtime_data.client._timeout = 0.3
    pbx_simulator.sim.faults.append(Fault("yemot", FaultKind.HANG, endpoint))
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, action, **data)
    assert err.value.translation_key == "outcome_unknown"
    assert err.value.translation_placeholders["provider"] == "Yemot (call2all)"
    assert "not retried" in str(err.value)
    assert len(pbx_simulator.sim.requests_for("yemot", endpoint)) == 1


@pytest.mark.parametrize(
    ("kind", "translation_key"),
    [
        # The provider may have sent it before its server failed: said so, not retried.
        (FaultKind.SERVER_ERROR, "outcome_unknown"),
        (FaultKind.RATE_LIMIT, "rate_limited"),
        # An unreadable answer is not a refusal: the client's message names the provider.
        (FaultKind.HTML, "invalid_response"),
    ],
)
async def test_transport_failures(
    hass: HomeAssistant,
    *,
    pbx_simulator: RunningSimulator,
    setup_entry: SetupEntry,
    kind: FaultKind,
    translation_key: str,
) -> None:
    entry = await setup_entry("yemot")
    pbx_simulator.sim.faults.append(Fault("yemot", kind, "SendSms"))
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "send_sms", recipients=["0501234567"], message="Hi")
    assert err.value.translation_key == translation_key
    # The client's message starts with the provider: the template does not repeat it.
    assert str(err.value).count("Yemot (call2all)") == 1
    assert len(pbx_simulator.sim.requests_for("yemot", "SendSms")) == 1
    assert pbx_simulator.state.sms == {}


async def test_rejected_credentials_start_reauth(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    pbx_simulator.state.credentials["yemot"]["token"] = "0773137770:changed"
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "send_sms", recipients=["0501234567"], message="Hi")
    assert err.value.translation_key == "invalid_auth"
    assert str(err.value).count("Yemot (call2all)") == 1
    assert "4567" not in str(err.value.__cause__)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


def test_supported_actions_match_the_capabilities() -> None:
    """The table above (and the README's) follows what each client declares."""
    capability_of = {action.name: action.capability for action in ACTIONS}
    for provider, cls in PROVIDERS.items():
        offered = {
            name for name, capability in capability_of.items() if capability in cls.capabilities
        }
        assert offered == SUPPORTED[provider], provider


# --- Telfa: national numbers, a user login as the source --------------------------------


async def test_telfa_dial(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    agent = pbx_simulator.state.agents["2"]
    login = pbx_simulator.sim.providers["telfa"].login_of(agent)  # type: ignore[attr-defined]
    response = await call(
        hass,
        entry,
        "dial",
        number="+420 777 123 456",
        source_kind="user",
        source=login,
        auto_answer=True,
    )
    params = only_request(pbx_simulator, "telfa", "POST /calls")
    assert params == {"number": "777123456", "telfa_user_login": login, "auto_answer": "true"}
    (placed,) = pbx_simulator.state.calls.values()
    assert (placed.callee, placed.agent_id) == ("777123456", "2")
    assert response == {"call_id": placed.id}


async def test_telfa_dial_with_a_caller_id_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "dial", number="777123456", caller_id="245008328")
    assert err.value.translation_key == "action_field_unsupported"
    assert pbx_simulator.sim.requests == []


async def test_telfa_announce(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    response = await call(
        hass, entry, "announce", number="00420 777 123 456", message="Ahoj pane", voice="2"
    )
    params = only_request(pbx_simulator, "telfa", "POST /calls/announce")
    assert params == {"number": "777123456", "text": "Ahoj pane", "voice": "2"}
    (announced,) = pbx_simulator.state.calls.values()
    assert announced.announcement == "Ahoj pane"
    assert response == {"call_id": announced.id}


async def test_telfa_announce_recording(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    await call(hass, entry, "announce", number="777123456", recording="10")
    params = only_request(pbx_simulator, "telfa", "POST /calls/announce")
    assert params == {"number": "777123456", "recording_id": "10"}


async def test_telfa_hangup_and_transfer(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    first = pbx_simulator.state.incoming_call("777123456", agent_id="1")
    second = pbx_simulator.state.incoming_call("777654321", agent_id="2")
    await call(hass, entry, "transfer", call_id=first.id, destination="534")
    (transfer,) = pbx_simulator.sim.requests_for("telfa", "POST /calls/transfer_call")
    assert f"<call_id>{first.id}</call_id>" in transfer.body
    assert "<continue_with_recipe_id>534</continue_with_recipe_id>" in transfer.body
    assert first.transferred_to == "recipe:534"
    await call(hass, entry, "hangup", call_id=second.id)
    (interrupt,) = pbx_simulator.sim.requests_for("telfa", "POST /calls/interrupt")
    assert f"<id>{second.id}</id>" in interrupt.body
    assert second.status is CallStatus.ENDED


async def test_telfa_transfer_to_a_name_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "transfer", call_id="1", destination="reception")
    assert err.value.translation_key == "action_invalid_number"
    assert err.value.translation_placeholders["field"] == "destination"
    assert pbx_simulator.sim.requests == []


async def test_telfa_hangup_by_user_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    agent = device_id(hass, entry, ObjectKind.AGENT, "2")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "hangup", agent=agent)
    assert err.value.translation_key == "invalid_input"
    assert pbx_simulator.sim.requests == []


async def test_telfa_agent_logout_and_login(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    agent = pbx_simulator.state.agents["3"]
    logged_in = entity_id(hass, entry, ObjectKind.AGENT, "3", "logged_in")
    await switch(hass, logged_in, on=False)
    assert (
        len(pbx_simulator.sim.requests_for("telfa", "POST /telfa_users/{id}/operator_log_out")) == 1
    )
    assert agent.logged_in is False
    await switch(hass, logged_in, on=True)
    (login,) = pbx_simulator.sim.requests_for("telfa", "POST /telfa_users/{id}/operator_log_in")
    assert login.path == "/telfa_users/3/operator_log_in.xml"
    assert agent.logged_in is True


async def test_telfa_send_sms(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    response = await call(
        hass,
        entry,
        "send_sms",
        recipients=["+420 602 123 456", "603123456"],
        message="Ahoj, posilam ti SMS.",
        sender="2",  # the number with a SIM card (gsm_gateway)
    )
    # Telfa's API takes one recipient a request: one request per recipient, none repeated.
    requests = pbx_simulator.sim.requests_for("telfa", "POST /sms")
    assert [sent(r)["sms"] for r in requests] == [
        {"number_id": "2", "recipient": "602123456", "message": "Ahoj, posilam ti SMS."},
        {"number_id": "2", "recipient": "603123456", "message": "Ahoj, posilam ti SMS."},
    ]
    assert response == {"message_ids": []}
    assert sorted(s.recipient for s in pbx_simulator.state.sms.values()) == [
        "602123456",
        "603123456",
    ]


async def test_telfa_sms_without_a_gsm_number_asks_for_the_sender(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    pbx_simulator.state.numbers["2"].gsm_gateway = False
    entry = await setup_entry("telfa")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "send_sms", recipients=["602123456"], message="Hi")
    assert err.value.translation_key == "sms_sender_needed"
    assert err.value.translation_placeholders["provider"] == "Telfa"
    assert pbx_simulator.sim.requests_for("telfa", "POST /sms") == []


async def test_telfa_sms_error_code(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "send_sms", recipients=["602123456"], message="Hi", sender="9")
    # Telfa's documented SMS errors have translated messages of their own.
    assert err.value.translation_key == "sms_invalid_sender"
    assert err.value.translation_placeholders["error"].endswith("(902)")
    assert "INCORRECT_NUMBER_ID" in err.value.translation_placeholders["error"]
    assert len(pbx_simulator.sim.requests_for("telfa", "POST /sms")) == 1
    assert pbx_simulator.state.sms == {}


# --- Odorik: 00420… numbers, a line as the source ------------------------------------------


async def test_odorik_dial(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    odorik = pbx_simulator.sim.providers["odorik"]
    line = str(odorik.line_number(pbx_simulator.state.lines["1"]))  # type: ignore[attr-defined]
    entry = await setup_entry(
        "odorik", options={"default_dial_source_kind": "line", "default_dial_source": line}
    )
    response = await call(hass, entry, "dial", number="601 234 567")
    params = only_request(pbx_simulator, "odorik", "POST /callback")
    assert params["recipient"] == "00420601234567"
    # A line rings first as its in-network number (`*`, O:59) and bills the call (`line`).
    assert (params["caller"], params["line"]) == (f"*{line}", line)
    # Odorik answers `callback_ordered` without an id.
    assert response == {"call_id": None}


async def test_odorik_error_word(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("odorik")
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "dial", number="601234567", source_kind="line", source="1")
    assert err.value.translation_key == "provider_refused"
    assert err.value.translation_placeholders["error"] == "invalid_line"
    assert len(pbx_simulator.sim.requests_for("odorik", "POST /callback")) == 1
    assert pbx_simulator.state.calls == {}


async def test_odorik_dial_needs_a_source(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("odorik")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "dial", number="601234567")
    # No source given and none in the options: Odorik cannot ring anyone first.
    assert err.value.translation_key == "invalid_input"
    assert pbx_simulator.sim.requests == []


async def test_odorik_hangup(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("odorik")
    active = pbx_simulator.state.incoming_call("00420777123456", agent_id="1")
    await call(hass, entry, "hangup", call_id=active.id)
    (request,) = pbx_simulator.sim.requests_for("odorik", "DELETE /active_calls/{id}")
    assert request.path == f"/api/v1/active_calls/{active.id}.json"
    assert active.status is CallStatus.ENDED


async def test_odorik_send_sms(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("odorik")
    response = await call(
        hass, entry, "send_sms", recipients=["+420 601 234 567"], message="Call me back"
    )
    params = only_request(pbx_simulator, "odorik", "POST /sms")
    assert params["recipient"] == "00420601234567"
    assert params["message"] == "Call me back"
    assert len(pbx_simulator.state.sms) == 1
    assert response == {"message_ids": []}  # Odorik names no message (*pub* POST /sms)


# --- Daktela: national numbers, users by login, Czech error texts ---------------------------


def subset(params: dict[str, Any], **expected: str) -> dict[str, Any]:
    """The entries of `params` named in `expected` (the token and version are not compared)."""
    return {key: params.get(key) for key in expected}


async def daktela_call_id(entry: MockConfigEntry, running: RunningSimulator, agent: str) -> str:
    """A live call of `agent`, as the integration's snapshot names it."""
    running.state.incoming_call("777123456", agent_id=agent)
    running.state.answer(next(iter(running.state.calls)), agent)
    await entry.runtime_data.coordinator.async_refresh()
    running.sim.requests.clear()
    (call_id,) = entry.runtime_data.coordinator.data.calls
    return call_id


async def test_daktela_dial_from_a_user(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    response = await call(
        hass,
        entry,
        "dial",
        number="+420 800 123 456",
        source_kind="user",
        source="agent1",
        auto_answer=True,
        ring_timeout=30,
    )
    (request,) = pbx_simulator.sim.requests_for("daktela", "CreateCall")
    assert request.path == "/api/3.1/CreateCall/json"
    assert subset(sent(request), user="", number="", autoanswer="", waitingtime="") == {
        "user": "agent1",
        "number": "800123456",
        "autoanswer": "yes",
        "waitingtime": "30",
    }
    (placed,) = pbx_simulator.state.calls.values()
    assert placed.callee == "800123456"
    assert response is not None
    assert response["call_id"]


async def test_daktela_dial_from_an_extension(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    await call(hass, entry, "dial", number="800123456", source_kind="extension", source="101")
    (request,) = pbx_simulator.sim.requests_for("daktela", "CreateCall")
    assert request.path == "/api/3.0/CreateCall/json"
    assert subset(sent(request), extension="", number="") == {
        "extension": "101",
        "number": "800123456",
    }


async def test_daktela_call_controls(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    call_id = await daktela_call_id(entry, pbx_simulator, "1")
    await call(hass, entry, "announce", call_id=call_id, recording="welcome.wav")
    params = only_request(pbx_simulator, "daktela", "ControlPlayback")
    assert subset(params, user="", command="", recording="") == {
        "user": "agent1",
        "command": "play",
        "recording": "welcome.wav",
    }
    await call(hass, entry, "transfer", call_id=call_id, destination="102")
    params = only_request(pbx_simulator, "daktela", "Transfer")
    assert subset(params, user="", type="", number="") == {
        "user": "agent1",
        "type": "blind",
        "number": "102",
    }
    other = pbx_simulator.state.incoming_call("777654321", agent_id="2")
    pbx_simulator.state.answer(other.id, "2")
    await call(hass, entry, "hangup", agent=device_id(hass, entry, ObjectKind.AGENT, "agent2"))
    assert subset(only_request(pbx_simulator, "daktela", "Hangup"), user="") == {"user": "agent2"}
    assert other.status is CallStatus.ENDED


async def test_daktela_announce_text_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "announce", number="800123456", message="Hello")
    assert err.value.translation_key == "invalid_input"
    assert "recording" in err.value.translation_placeholders["error"]
    assert pbx_simulator.sim.requests == []


async def test_daktela_agent_controls(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """The pause-reason select and the switches do what the agent actions did."""
    entry = await setup_entry("daktela")
    agent = pbx_simulator.state.agents["2"]
    await hass.services.async_call(
        "select",
        "select_option",
        {
            "entity_id": entity_id(hass, entry, ObjectKind.AGENT, "agent2", "pause_reason"),
            "option": "Lunch",
        },
        blocking=True,
    )
    assert subset(only_request(pbx_simulator, "daktela", "PauseOn"), user="") == {"user": "agent2"}
    assert (agent.paused, agent.pause_reason) == (True, "Lunch")
    await switch(hass, entity_id(hass, entry, ObjectKind.AGENT, "agent2", "paused"), on=False)
    assert subset(only_request(pbx_simulator, "daktela", "PauseOff"), user="") == {"user": "agent2"}
    assert agent.paused is False
    logged_in = entity_id(hass, entry, ObjectKind.AGENT, "agent2", "logged_in")
    await switch(hass, logged_in, on=False)
    assert subset(only_request(pbx_simulator, "daktela", "Logout"), user="") == {"user": "agent2"}
    assert agent.logged_in is False
    await switch(hass, logged_in, on=True)
    assert subset(only_request(pbx_simulator, "daktela", "Login"), user="") == {"user": "agent2"}
    assert agent.logged_in is True


async def test_daktela_queue_controls(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    queue_id = next(iter(entry.runtime_data.coordinator.data.queues))
    queue = pbx_simulator.state.queues["1"]
    devices = {
        "agent": device_id(hass, entry, ObjectKind.AGENT, "agent1"),
        "queue": device_id(hass, entry, ObjectKind.QUEUE, queue_id),
    }
    await hass.services.async_call(DOMAIN, "queue_logout", devices, blocking=True)
    assert subset(only_request(pbx_simulator, "daktela", "LogoutQueue"), user="") == {
        "user": "agent1"
    }
    assert "1" not in queue.member_ids
    await hass.services.async_call(DOMAIN, "queue_login", devices, blocking=True)
    assert subset(only_request(pbx_simulator, "daktela", "LoginQueue"), user="") == {
        "user": "agent1"
    }
    assert "1" in queue.member_ids


async def test_daktela_unknown_pause_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """A reason Daktela does not list is refused before any request (by the select)."""
    entry = await setup_entry("daktela")
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "select",
            "select_option",
            {
                "entity_id": entity_id(hass, entry, ObjectKind.AGENT, "agent2", "pause_reason"),
                "option": "Nap",
            },
            blocking=True,
        )
    assert pbx_simulator.sim.requests_for("daktela", "PauseOn") == []


async def test_daktela_error_text(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    pbx_simulator.state.agents.pop("2")  # gone at Daktela, still known to Home Assistant
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, entity_id(hass, entry, ObjectKind.AGENT, "agent2", "logged_in"), on=True)
    assert err.value.translation_key == "provider_refused"
    # Daktela's own Czech error text.
    assert err.value.translation_placeholders["error"] == "Agent agent2 nebyl nalezen"
    assert len(pbx_simulator.sim.requests_for("daktela", "Login")) == 1


async def test_daktela_send_sms(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    response = await call(hass, entry, "send_sms", recipients=["+420602123456"], message="Ahoj")
    params = only_request(pbx_simulator, "daktela", "SendSMS")
    assert subset(params, number="", message="") == {"number": "602123456", "message": "Ahoj"}
    assert response is not None
    assert len(response["message_ids"]) == 1


# --- VoIPSUN PBX: originate, channels, agents by number and PIN ----------------------------

# The PINs of two agents and the queues (no VoIPSUN action lists them).
VOIPSUN_PINS = {
    "agent_pins": {"1000": "1001", "1001": "1002"},
    "queue_names": ["Sales", "Support"],
}


async def test_voipsun_dial(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("voipsun")
    await call(
        hass, entry, "dial", number="+420 800 123 456", source_kind="extension", source="101"
    )
    params = only_request(pbx_simulator, "voipsun", "originate")
    assert subset(params, srcExtenInternalNum="", dstNum="") == {
        "srcExtenInternalNum": "101",
        "dstNum": "800123456",
    }
    (placed,) = pbx_simulator.state.calls.values()
    assert placed.callee == "+420800123456"


async def test_voipsun_hangup(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("voipsun")
    first = pbx_simulator.state.incoming_call("777123456", agent_id="1")
    second = pbx_simulator.state.incoming_call("777654321", agent_id="2")
    await entry.runtime_data.coordinator.async_refresh()
    channels = {c.channel: c for c in entry.runtime_data.coordinator.data.calls.values()}
    first_channel, second_channel = sorted(channels)
    pbx_simulator.sim.requests.clear()
    await call(hass, entry, "hangup", channel=first_channel)
    assert subset(only_request(pbx_simulator, "voipsun", "hangupcall"), channelName="") == {
        "channelName": first_channel
    }
    pbx_simulator.sim.requests.clear()
    second_id = next(
        i
        for i, c in entry.runtime_data.coordinator.data.calls.items()
        if c.channel == second_channel
    )
    await call(hass, entry, "hangup", call_id=second_id)
    assert only_request(pbx_simulator, "voipsun", "hangupcall")["channelName"] == second_channel
    assert first.status is second.status is CallStatus.ENDED


async def test_voipsun_agent_controls(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """The agent switches send the agent's PIN from the options."""
    entry = await setup_entry("voipsun", options=VOIPSUN_PINS)
    agent = pbx_simulator.state.agents["1"]
    paused = entity_id(hass, entry, ObjectKind.AGENT, "1000", "paused")
    logged_in = entity_id(hass, entry, ObjectKind.AGENT, "1000", "logged_in")
    for switch_id, on, endpoint in (
        (paused, True, "agentpause"),
        (paused, False, "agentunpause"),
        (logged_in, False, "agentlogout"),
        (logged_in, True, "agentlogin"),
    ):
        await switch(hass, switch_id, on)
        params = only_request(pbx_simulator, "voipsun", endpoint)
        assert subset(params, agentNumber="", agentPin="") == {
            "agentNumber": "1000",
            "agentPin": "1001",
        }
        if endpoint == "agentpause":
            assert agent.paused is True
        if endpoint == "agentlogout":
            assert agent.logged_in is False
        pbx_simulator.sim.requests.clear()
    assert (agent.logged_in, agent.paused) == (True, False)


async def test_voipsun_queue_controls(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("voipsun", options=VOIPSUN_PINS)
    queue_id = next(iter(entry.runtime_data.coordinator.data.queues))
    devices = {
        "agent": device_id(hass, entry, ObjectKind.AGENT, "1000"),
        "queue": device_id(hass, entry, ObjectKind.QUEUE, queue_id),
    }
    await call(hass, entry, "queue_logout", **devices)
    params = only_request(pbx_simulator, "voipsun", "agentremove")
    assert subset(params, agentNumber="", queueName="") == {
        "agentNumber": "1000",
        "queueName": queue_id,
    }
    await call(hass, entry, "queue_login", **devices)
    params = only_request(pbx_simulator, "voipsun", "agentadd")
    assert subset(params, agentNumber="", queueName="") == {
        "agentNumber": "1000",
        "queueName": queue_id,
    }


async def test_voipsun_agent_without_pin_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("voipsun", options=VOIPSUN_PINS)
    queue_id = next(iter(entry.runtime_data.coordinator.data.queues))
    devices = {
        "agent": device_id(hass, entry, ObjectKind.AGENT, "1000"),
        "queue": device_id(hass, entry, ObjectKind.QUEUE, queue_id),
    }
    # The PINs removed from the options (saving them reloads the entry).
    hass.config_entries.async_update_entry(
        entry, options={"queue_names": VOIPSUN_PINS["queue_names"]}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    pbx_simulator.sim.requests.clear()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "queue_login", **devices)
    assert err.value.translation_key == "invalid_input"
    assert "PIN" in err.value.translation_placeholders["error"]
    assert pbx_simulator.sim.requests == []


async def test_voipsun_errno(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("voipsun", options=VOIPSUN_PINS)
    queue_id = next(iter(entry.runtime_data.coordinator.data.queues))
    devices = {
        "agent": device_id(hass, entry, ObjectKind.AGENT, "1000"),
        "queue": device_id(hass, entry, ObjectKind.QUEUE, queue_id),
    }
    # Gone at the PBX since the last refresh: the PBX says so, with its errno.
    pbx_simulator.state.queues.clear()
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "queue_login", **devices)
    assert err.value.translation_key == "provider_refused"
    reason = err.value.translation_placeholders["error"]
    assert reason.startswith(f"Queue {queue_id} not found! (")
    assert reason.endswith(")")
    assert len(pbx_simulator.sim.requests_for("voipsun", "agentadd")) == 1


async def test_logs_hold_no_secret_and_numbers_only_at_debug(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    setup_entry: SetupEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    entry = await setup_entry("yemot")
    await call(hass, entry, "send_sms", recipients=["0501234567"], message="Hi")
    with pytest.raises(HomeAssistantError):
        await call(hass, entry, "send_sms", recipients=["+420601234567"], message="Hi")
    password = pbx_simulator.config["yemot"]["token"].partition(":")[2]
    assert password not in caplog.text
    assert "+972501234567" in caplog.text  # at debug level, where it helps
    for record in caplog.records:
        if record.levelno > logging.DEBUG:
            assert "501234567" not in record.getMessage()
            assert "601234567" not in record.getMessage()


def test_descriptions_and_translations_cover_every_field() -> None:
    package = Path(__file__).parents[1] / "custom_components/pbx_bridge"
    descriptions = load_yaml_dict(str(package / "services.yaml"))
    strings = json.loads((package / "strings.json").read_text())["services"]
    assert set(descriptions) == set(strings) == {action.name for action in ACTIONS}
    for name, description in descriptions.items():
        assert set(description["fields"]) == set(strings[name]["fields"]), name
        # Account-level ones name the account; the queue actions' devices do that.
        assert (ATTR_CONFIG_ENTRY_ID in description["fields"]) is (not name.startswith("queue_")), (
            name
        )


async def test_daktela_transfer_to_an_agent_or_a_queue(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("daktela")
    call_id = await daktela_call_id(entry, pbx_simulator, "1")
    await call(
        hass,
        entry,
        "transfer",
        call_id=call_id,
        destination_agent=device_id(hass, entry, ObjectKind.AGENT, "agent2"),
    )
    params = only_request(pbx_simulator, "daktela", "Transfer")
    assert subset(params, user="", dst_user="", number="") == {
        "user": "agent1",
        "dst_user": "2",  # the user's numeric ID, as Transfer takes it
        "number": None,
    }
    other = pbx_simulator.state.incoming_call("777654321", agent_id="3")
    pbx_simulator.state.answer(other.id, "3")
    await entry.runtime_data.coordinator.async_refresh()
    pbx_simulator.sim.requests.clear()
    (call_id,) = set(entry.runtime_data.coordinator.data.calls) - {call_id}
    await call(
        hass,
        entry,
        "transfer",
        call_id=call_id,
        destination_queue=device_id(hass, entry, ObjectKind.QUEUE, "2"),
    )
    params = only_request(pbx_simulator, "daktela", "Transfer")
    assert subset(params, user="", dst_queue="") == {"user": "agent3", "dst_queue": "2"}


async def test_transfer_to_an_agent_where_the_provider_cannot(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("telfa")
    agent = device_id(hass, entry, ObjectKind.AGENT, "2")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "transfer", call_id="1", destination_agent=agent)
    assert err.value.translation_key == "action_not_supported"
    with pytest.raises(probatio.Invalid):  # exactly one destination
        await call(hass, entry, "transfer", call_id="1", destination="534", destination_queue="1")
    assert pbx_simulator.sim.requests == []


async def test_daktela_queue_login_at_a_named_line(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """queue_login's line device becomes LoginQueue's extension."""
    entry = await setup_entry("daktela")
    line_id = sorted(entry.runtime_data.coordinator.data.registrations)[-1]
    await call(
        hass,
        entry,
        "queue_login",
        agent=device_id(hass, entry, ObjectKind.AGENT, "agent2"),
        queue=device_id(hass, entry, ObjectKind.QUEUE, "2"),
        line=device_id(hass, entry, ObjectKind.LINE, line_id),
    )
    assert subset(only_request(pbx_simulator, "daktela", "LoginQueue"), extension="") == {
        "extension": line_id
    }


async def test_dial_from_a_device(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """An agent or SIP extension device is the source; the device names the account."""
    daktela = await setup_entry("daktela")
    for kind, object_id, endpoint, field in (
        (ObjectKind.AGENT, "agent1", "/api/3.1/CreateCall/json", "user"),
        (ObjectKind.LINE, "101", "/api/3.0/CreateCall/json", "extension"),
    ):
        await hass.services.async_call(
            DOMAIN,
            "dial",
            {"number": "800123456", "source_device": device_id(hass, daktela, kind, object_id)},
            blocking=True,
        )
        (request,) = pbx_simulator.sim.requests_for("daktela", "CreateCall")
        assert request.path == endpoint
        assert sent(request)[field] == object_id
        pbx_simulator.sim.requests.clear()

    voipsun = await setup_entry("voipsun")
    registrations = voipsun.runtime_data.coordinator.data.registrations
    extension = next(r for r in registrations.values() if r.kind is SipKind.EXTENSION)
    await call(
        hass,
        voipsun,
        "dial",
        number="800123456",
        source_device=device_id(hass, voipsun, ObjectKind.LINE, extension.registration_id),
    )
    params = only_request(pbx_simulator, "voipsun", "originate")
    assert params["srcSipUsername"] == extension.registration_id


async def test_dial_from_a_device_the_provider_cannot_start_from(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """A VoIPSUN agent or trunk is no dial source: refused before any request."""
    entry = await setup_entry("voipsun", options=VOIPSUN_PINS)
    registrations = entry.runtime_data.coordinator.data.registrations
    trunk = next(r for r in registrations.values() if r.kind is SipKind.TRUNK)
    for kind, object_id in ((ObjectKind.AGENT, "1000"), (ObjectKind.LINE, trunk.registration_id)):
        with pytest.raises(ServiceValidationError) as err:
            await call(
                hass,
                entry,
                "dial",
                number="800123456",
                source_device=device_id(hass, entry, kind, object_id),
            )
        assert err.value.translation_key == "action_not_a_dial_source"
        assert err.value.translation_placeholders is not None
        assert err.value.translation_placeholders["provider"] == "VoIPSUN PBX"
    # A queue is no source at all.
    queue = device_id(
        hass, entry, ObjectKind.QUEUE, next(iter(entry.runtime_data.coordinator.data.queues))
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "dial", number="800123456", source_device=queue)
    assert err.value.translation_key == "action_wrong_device"
    # Neither an account nor a source device: nothing names the account.
    with pytest.raises(probatio.Invalid):
        await hass.services.async_call(DOMAIN, "dial", {"number": "800123456"}, blocking=True)
    assert pbx_simulator.sim.requests == []


async def test_hangup_the_call_of_a_line(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    """Daktela Hangup by extension, from the line device."""
    entry = await setup_entry("daktela")
    line = device_id(hass, entry, ObjectKind.LINE, "101")
    with pytest.raises(HomeAssistantError):  # no call on that line
        await hass.services.async_call(DOMAIN, "hangup", {"line": line}, blocking=True)
    assert subset(only_request(pbx_simulator, "daktela", "Hangup"), extension="") == {
        "extension": "101"
    }


# --- optional fields: what a provider does not honour is refused -------------------------


@pytest.mark.parametrize(
    ("provider", "action", "data", "field"),
    [
        ("telfa", "dial", {"number": "777123456", "ring_once": True}, "ring_once"),
        (
            "telfa",
            "announce",
            {"number": "777123456", "message": "Ahoj", "speech_rate": 3},
            "speech_rate",
        ),
        (
            "daktela",
            "dial",
            {"number": "800123456", "source_kind": "user", "source": "agent1", "delay": 300},
            "delay",
        ),
        (
            "daktela",
            "announce",
            {"call_id": "1", "recording": "welcome.wav", "voice": "Jan"},
            "voice",
        ),
        ("daktela_v6", "dial", {"number": "800123456", "ring_timeout": 30}, "ring_timeout"),
        (
            "odorik",
            "dial",
            {
                "number": "601234567",
                "source_kind": "line",
                "source": "1",
                "caller_id": "+420777123456",
            },
            "caller_id",
        ),
        (
            "voipsun",
            "dial",
            {"number": "800123456", "source_kind": "extension", "source": "101", "auto_answer": 1},
            "auto_answer",
        ),
        ("yemot", "dial", {"number": "0501234567", "single_attempt": True}, "single_attempt"),
        ("yemot", "announce", {"number": "0501234567", "recording": "1"}, "recording"),
    ],
)
async def test_unhonoured_field_is_refused_before_any_request(
    hass: HomeAssistant,
    *,
    pbx_simulator: RunningSimulator,
    setup_entry: SetupEntry,
    provider: str,
    action: str,
    data: dict[str, Any],
    field: str,
) -> None:
    """The provider would drop the field and the call would not behave as asked."""
    entry = await setup_entry(provider)
    title = entry.runtime_data.client.title
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, action, **data)
    assert err.value.translation_key == "action_field_unsupported"
    assert err.value.translation_placeholders == {
        "action": action,
        "provider": title,
        "field": field,
    }
    message = f"Action {action}: {title} cannot honour the field {field}; leave it out"
    assert str(err.value) == message
    assert pbx_simulator.sim.requests_for(provider) == []


@pytest.mark.parametrize(
    ("provider", "options", "action", "data", "endpoint", "expected"),
    [
        # Odorik's callback: `delayed` in minutes and `simple` (O:14-16).
        (
            "odorik",
            {},
            "dial",
            {
                "number": "601234567",
                "source_kind": "user",
                "source": "+420777123456",
                "delay": "00:10:00",
                "single_attempt": True,
            },
            "POST /callback",
            {"recipient": "00420601234567", "delayed": "10", "simple": "true"},
        ),
        # VoIPSUN's originate: `overrideCallerId` and `srcRingTimeout` (V:54-64).
        (
            "voipsun",
            {},
            "dial",
            {
                "number": "800123456",
                "source_kind": "extension",
                "source": "101",
                "caller_id": "+420 226 211 245",
                "ring_timeout": 20,
            },
            "originate",
            {"overrideCallerId": "226211245", "srcRingTimeout": "20"},
        ),
        # Yemot's RunTzintuk (`ring_once`) and SendTTS's voice settings.
        (
            "yemot",
            {},
            "dial",
            {"number": "0501234567", "ring_once": True, "ring_timeout": 10},
            "RunTzintuk",
            {"phones": "0501234567", "TzintukTimeOut": "10"},
        ),
        (
            "yemot",
            {},
            "announce",
            {
                "number": "0501234567",
                "message": "Shalom",
                "caller_id": "+972 3 555 5555",
                "speech_rate": -3,
                "repeat": 3,
            },
            "SendTTS",
            {"callerId": "035555555", "ttsRate": "-3", "repeatFile": "3"},
        ),
        # Daktela: a recording to a number through the announcement route (D:1186-1194).
        (
            "daktela",
            {"announcement_route": "9999"},
            "announce",
            {"number": "226211245", "recording": "welcome.wav"},
            "CreateRemoteCall",
            {"secondarynumber": "9999", "variables[recording]": "welcome.wav"},
        ),
        # Telfa: a recording by its id (T:110-117).
        (
            "telfa",
            {},
            "announce",
            {"number": "777123456", "recording": "10"},
            "POST /calls/announce",
            {"number": "777123456", "recording_id": "10"},
        ),
        # A chosen SMS sender: Odorik's `sender`, Daktela's SMS Connect (D:2787).
        (
            "odorik",
            {},
            "send_sms",
            {"recipients": ["601234567"], "message": "Hi", "sender": "+420789123456"},
            "POST /sms",
            {"recipient": "00420601234567", "sender": "00420789123456"},
        ),
        (
            "daktela",
            {},
            "send_sms",
            {"recipients": ["+420602123456"], "message": "Ahoj", "sender": "Shop"},
            "SendSMSConnect",
            {"number": "+420602123456", "sender": "Shop"},
        ),
        # `false` leaves a behaviour off, as leaving the field out does: never refused.
        (
            "yemot",
            {},
            "dial",
            {"number": "0501234567", "auto_answer": False, "single_attempt": 0, "ring_once": False},
            "CallExtensionBridging",
            {"phones": "0501234567", "ivrPath": "ivr2:/"},
        ),
    ],
)
async def test_honoured_fields_go_through(
    hass: HomeAssistant,
    *,
    pbx_simulator: RunningSimulator,
    setup_entry: SetupEntry,
    provider: str,
    options: dict[str, Any],
    action: str,
    data: dict[str, Any],
    endpoint: str,
    expected: dict[str, str],
) -> None:
    entry = await setup_entry(provider, options=options)
    await call(hass, entry, action, **data)
    assert subset(only_request(pbx_simulator, provider, endpoint), **expected) == expected


# The README's columns of the optional-field table.
README_COLUMNS = ("telfa", "daktela", "daktela_v6", "odorik", "yemot", "voipsun")


def test_readme_table_of_optional_fields_follows_the_declarations() -> None:
    """One row per optional field of each action, a ✓ where the provider declares it."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    rows: dict[tuple[str, str], set[str]] = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        named = re.fullmatch(r"`(\w+)` `(\w+)`", cells[0])
        if named and len(cells) == 1 + len(README_COLUMNS):
            rows[(named[1], named[2])] = {
                provider
                for provider, cell in zip(README_COLUMNS, cells[1:], strict=True)
                if cell.startswith("✓")
            }
    assert rows, "the README lost its table of optional fields"
    assert set(rows) == {(a.name, f) for a in ACTIONS for f in a.optional_fields}
    for (name, field), honouring in rows.items():
        action = next(a for a in ACTIONS if a.name == name)
        declared = {
            provider
            for provider in README_COLUMNS
            if field in action.honoured_fields(PROVIDERS[provider].declaration)
        }
        assert honouring == declared, (name, field)
