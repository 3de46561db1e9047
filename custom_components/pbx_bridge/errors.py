"""The one place that turns client errors into Home Assistant's translated errors.

Coordinator refreshes (`translate_update_error`), entity actions, the integration's
actions and notify entities (`translate_action_error`, through `helpers`) share one mapping
(`_classify`), one set of translation keys and one set of placeholders: `provider` (the
provider's title) and `error` (what went wrong, with the provider's own code where it
gave one); a partial SMS send adds `sent` and `total`.

The client's own messages start with the provider's title ("Telfa rejected the
credentials (HTTP 401)"), so the templates do not name the provider again; only a
provider's refusal in its own words ("Call not found") is introduced with its name.
"""

from __future__ import annotations

from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed

from .api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxPartialSendError,
    PbxPermissionError,
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from .const import DOMAIN


def _detail(err: BaseException) -> str:
    """What went wrong: the message, and the provider's code if the message lacks it."""
    if isinstance(err, PbxResponseError) and err.code and err.code not in err.reason:
        # Providers number their refusals (VoIPSUN errno, Telfa SMS codes): keep the number.
        return f"{err.reason} ({err.code})"
    return str(err)


def _classify(err: PbxError, provider: str, *, update: bool) -> tuple[str, bool]:
    """The translation key for `err`, and whether it is the user's mistake (not retryable)."""
    user_error = False
    match err:
        case PbxAuthError():
            key = "invalid_auth"
        case PbxPermissionError():
            key = "missing_permission"
        case PbxRateLimitError():
            key = "rate_limited"
        case PbxOutcomeUnknownError():
            key = "outcome_unknown"
        case PbxConnectionError():
            key = "communication_error"
        case PbxPartialSendError():
            key = "partial_send"
        case PbxResponseError() if not update and not str(err).startswith(provider):
            # The provider's refusal in its own words: name the provider once, before them.
            key = "provider_refused"
        case PbxUnsupportedError():
            key, user_error = "unsupported", True
        case PbxInvalidInput():
            key, user_error = "invalid_input", True
        case _:
            # An answer the client could not use (it says so, naming the provider), or a
            # refusal during a refresh.
            key = "invalid_response"
    if isinstance(err, PbxPartialSendError) or not err.translation_key:
        return key, user_error
    return err.translation_key, user_error  # the client knows a more precise message


def _placeholders(err: PbxError, provider: str, recipients: int | None) -> dict[str, str]:
    if isinstance(err, PbxPartialSendError):
        # The counts only: the numbers stay in `sent_to`, out of messages and logs.
        cause = err.__cause__
        return {
            "provider": provider,
            "error": _detail(cause) if isinstance(cause, PbxError) else str(err),
            "sent": str(len(err.sent_to)),
            "total": str(recipients) if recipients is not None else "?",
        }
    return {"provider": provider, "error": _detail(err)}


def translate_update_error(err: PbxError, provider: str) -> Exception:
    """The error a coordinator refresh raises: auth -> reauth, the rest -> UpdateFailed."""
    key, _ = _classify(err, provider, update=True)
    placeholders = _placeholders(err, provider, None)
    if isinstance(err, PbxAuthError):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders=placeholders,
        )
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
        retry_after=err.retry_after if isinstance(err, PbxRateLimitError) else None,
    )


def translate_action_error(
    err: PbxError, provider: str, *, recipients: int | None = None
) -> HomeAssistantError:
    """The error an action raises for `err`; user mistakes are validation errors.

    `recipients` is how many an SMS was for (the total of a partial send).
    """
    key, user_error = _classify(err, provider, update=False)
    error_class = ServiceValidationError if user_error else HomeAssistantError
    return error_class(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=_placeholders(err, provider, recipients),
    )


def rejected_credentials(err: PbxError) -> bool:
    return isinstance(err, PbxAuthError) or isinstance(err.__cause__, PbxAuthError)


def permission_of(err: PbxPermissionError) -> str:
    return err.permission or str(err)
