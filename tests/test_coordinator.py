"""The coordinator's refresh and the translation of client errors."""

from __future__ import annotations

from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxPartialSendError,
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from custom_components.pbx_bridge.entity import (
    agent_identifier,
    hub_identifier,
    line_identifier,
    queue_identifier,
)
from custom_components.pbx_bridge.errors import translate_action_error, translate_update_error
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.testing import RunningSimulator


@pytest.mark.parametrize(
    ("error", "expected", "key"),
    [
        (PbxAuthError("no"), ConfigEntryAuthFailed, "invalid_auth"),
        (PbxRateLimitError("slow down", 12.0), UpdateFailed, "rate_limited"),
        (PbxConnectionError("down"), UpdateFailed, "communication_error"),
        (PbxResponseError("garbage"), UpdateFailed, "invalid_response"),
    ],
)
def test_update_errors(error: PbxError, expected: type[Exception], key: str) -> None:
    """Refresh errors: auth -> reauth, the rest -> translated UpdateFailed."""
    translated = translate_update_error(error, "Telfa")
    assert type(translated) is expected
    assert translated.translation_key == key  # type: ignore[attr-defined]
    assert translated.translation_placeholders == {  # type: ignore[attr-defined]
        "provider": "Telfa",
        "error": str(error),
    }
    if isinstance(error, PbxRateLimitError):
        assert translated.retry_after == 12.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("error", "expected", "key"),
    [
        (PbxAuthError("no"), HomeAssistantError, "invalid_auth"),
        (PbxRateLimitError("slow down"), HomeAssistantError, "rate_limited"),
        (PbxOutcomeUnknownError("maybe"), HomeAssistantError, "outcome_unknown"),
        (PbxConnectionError("down"), HomeAssistantError, "communication_error"),
        (PbxResponseError("Agent is busy"), HomeAssistantError, "provider_refused"),
        (PbxUnsupportedError("no pause"), ServiceValidationError, "unsupported"),
        (PbxInvalidInput("no PIN"), ServiceValidationError, "invalid_input"),
        (PbxError("odd"), HomeAssistantError, "invalid_response"),
    ],
)
def test_action_errors(error: PbxError, expected: type[Exception], key: str) -> None:
    """Action errors: translated, user mistakes as validation errors, with the reason."""
    translated = translate_action_error(error, "Daktela")
    assert type(translated) is expected
    assert translated.translation_key == key
    assert translated.translation_placeholders == {"provider": "Daktela", "error": str(error)}


def test_refusal_keeps_the_provider_code() -> None:
    """The provider's refusal in its own words, with its error number."""
    translated = translate_action_error(PbxResponseError("Agent is busy", "3"), "Daktela")
    assert translated.translation_key == "provider_refused"
    assert translated.translation_placeholders == {
        "provider": "Daktela",
        "error": "Agent is busy (3)",
    }


def test_unreadable_answer_is_not_a_refusal() -> None:
    """The client's own account of an answer (it names the provider) is not a refusal."""
    error = PbxResponseError("Daktela sent an unreadable answer to Pause (HTTP 200)", "200")
    translated = translate_action_error(error, "Daktela")
    assert type(translated) is HomeAssistantError
    assert translated.translation_key == "invalid_response"
    assert translated.translation_placeholders == {"provider": "Daktela", "error": str(error)}


def test_partial_send() -> None:
    """SMS sent to some recipients, then a failure: counts and the cause, never numbers."""
    cause = PbxResponseError("INCORRECT_NUMBER", "905")
    error = PbxPartialSendError("Telfa sent the SMS to 2 of 3 recipients", ("+420601", "+420602"))
    error.__cause__ = cause
    translated = translate_action_error(error, "Telfa", recipients=3)
    assert type(translated) is HomeAssistantError
    assert translated.translation_key == "partial_send"
    assert translated.translation_placeholders == {
        "provider": "Telfa",
        "error": "INCORRECT_NUMBER (905)",
        "sent": "2",
        "total": "3",
    }


@pytest.mark.parametrize("provider", ["odorik"])
async def test_refresh_failure_is_translated(
    loaded_entry: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """A broken answer during a refresh: a translated UpdateFailed naming the provider."""
    coordinator = loaded_entry.runtime_data.coordinator
    pbx_simulator.sim.faults.append(Fault(provider="odorik", kind=FaultKind.TRUNCATED, count=9))
    await coordinator.async_refresh()
    assert not coordinator.last_update_success
    error = coordinator.last_exception
    assert isinstance(error, UpdateFailed)
    assert error.translation_placeholders["provider"] == "Odorik"  # type: ignore[index]
    pbx_simulator.sim.faults.clear()
    await coordinator.async_refresh()
    assert coordinator.last_update_success


def test_device_identifiers() -> None:
    """Identifiers other modules (device triggers) use to find our devices."""
    assert hub_identifier("telfa_1") == ("pbx_bridge", "telfa_1")
    assert agent_identifier("telfa_1", "7") == ("pbx_bridge", "telfa_1_agent_7")
    assert queue_identifier("telfa_1", "2") == ("pbx_bridge", "telfa_1_queue_2")
    assert line_identifier("telfa_1", "101") == ("pbx_bridge", "telfa_1_line_101")
