"""Actions against the simulator: one request each, with the parameters the provider documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
from typing import Any
from unittest.mock import patch
from urllib.parse import parse_qsl

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.pbx_bridge.api.errors import PbxError, PbxUnsupportedError
from custom_components.pbx_bridge.const import DOMAIN
from pbx_simulator.app import LoggedRequest
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.state import CallStatus
from pbx_simulator.testing import RunningSimulator

type SetupEntry = Callable[..., Awaitable[MockConfigEntry]]

# Every action and the capability it needs, as the support table in docs/actions.md shows.
ALL_ACTIONS = (
    "dial",
    "send_sms",
    "announce",
    "hangup",
    "transfer",
    "agent_login",
    "agent_logout",
    "agent_pause",
    "agent_unpause",
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
    "agent_login": {"agent_id": "1"},
    "agent_logout": {"agent_id": "1"},
    "agent_pause": {"agent_id": "1"},
    "agent_unpause": {"agent_id": "1"},
    "queue_login": {"agent_id": "1", "queue_id": "1"},
    "queue_logout": {"agent_id": "1", "queue_id": "1"},
    "queue_kick": {"queue_id": "1", "call_id": "1"},
}
# Per provider: the actions it offers (the rest must be refused before any request).
SUPPORTED = {
    "yemot": {"dial", "send_sms", "announce", "agent_pause", "agent_unpause", "queue_kick"},
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
    await setup_entry("yemot")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "dial",
            {ATTR_CONFIG_ENTRY_ID: "no-such-entry", "number": "+420601234567"},
            blocking=True,
        )
    assert err.value.translation_key == "action_entry_not_found"
    assert err.value.translation_placeholders == {"action": "dial", "entry_id": "no-such-entry"}


async def test_entry_of_another_domain_is_refused(
    hass: HomeAssistant, setup_entry: SetupEntry
) -> None:
    await setup_entry("yemot")
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, other, "dial", number="+420601234567")
    assert err.value.translation_key == "action_entry_not_found"


async def test_unloaded_entry_is_refused(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "dial", number="+420601234567")
    assert err.value.translation_key == "action_entry_not_loaded"
    assert err.value.translation_placeholders == {"action": "dial", "entry_title": entry.title}
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
        ("agent_pause", {}),
        ("queue_kick", {"queue_id": "1"}),
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
    assert err.value.translation_key == "action_invalid_request"
    assert "IVR extension path" in err.value.translation_placeholders["reason"]
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
    assert err.value.translation_key == "action_refused"
    assert err.value.translation_placeholders["provider"] == "Yemot (call2all)"
    assert err.value.translation_placeholders["action"] == "send_sms"
    assert "not Vaild" in err.value.translation_placeholders["reason"]
    assert len(pbx_simulator.sim.requests_for("yemot", "SendSms")) == 1
    assert pbx_simulator.state.sms == {}


async def test_yemot_queue_kick(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    waiting = pbx_simulator.state.incoming_call("0501234567", queue_id="1")
    yemot_call_id = pbx_simulator.sim.providers["yemot"].call_id(waiting)  # type: ignore[attr-defined]
    queue_path = f"ivr2:/{pbx_simulator.state.queues['1'].extension}"
    await call(hass, entry, "queue_kick", queue_id=queue_path, call_id=yemot_call_id)
    params = only_request(pbx_simulator, "yemot", "QueueManagement")
    assert params["action"] == "kick"
    assert params["queuePath"] == queue_path
    assert params["callIds"] == [yemot_call_id]
    assert waiting.status is CallStatus.ENDED


async def test_yemot_queue_kick_of_an_unknown_call(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    queue_path = f"ivr2:/{pbx_simulator.state.queues['1'].extension}"
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "queue_kick", queue_id=queue_path, call_id="0" * 32)
    assert err.value.translation_key == "action_refused"
    assert err.value.translation_placeholders["reason"] == "Call not found"


@pytest.mark.parametrize(
    ("error", "translation_key", "error_class"),
    [
        (
            PbxUnsupportedError("only campaigns"),
            "action_request_not_supported",
            ServiceValidationError,
        ),
        (PbxError("something else"), "action_refused", HomeAssistantError),
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
    assert err.value.translation_placeholders["reason"] == str(error)


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
    assert err.value.translation_key == "action_outcome_unknown"
    assert err.value.translation_placeholders == {
        "provider": "Yemot (call2all)",
        "action": action,
    }
    assert len(pbx_simulator.sim.requests_for("yemot", endpoint)) == 1


@pytest.mark.parametrize(
    ("kind", "translation_key"),
    [
        (FaultKind.SERVER_ERROR, "action_cannot_connect"),
        (FaultKind.RATE_LIMIT, "action_rate_limited"),
        (FaultKind.HTML, "action_refused"),
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
    assert len(pbx_simulator.sim.requests_for("yemot", "SendSms")) == 1
    assert pbx_simulator.state.sms == {}


async def test_rejected_credentials_start_reauth(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry("yemot")
    pbx_simulator.state.credentials["yemot"]["token"] = "0773137770:changed"
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, entry, "send_sms", recipients=["0501234567"], message="Hi")
    assert err.value.translation_key == "action_auth_failed"
    assert "4567" not in str(err.value.__cause__)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
