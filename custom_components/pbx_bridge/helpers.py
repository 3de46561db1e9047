"""The one place that turns client errors into Home Assistant's translated errors.

Coordinator refreshes (`pbx_update_errors`), entity actions (`pbx_action_errors`) and the
integration's actions and notify entities (`pbx_errors`) share one mapping
(`_classify`), one set of translation keys and one set of placeholders: `provider` (the
provider's title) and `error` (what went wrong, with the provider's own code where it
gave one); a partial SMS send adds `sent` and `total`.

The client's own messages start with the provider's title ("Telfa rejected the
credentials (HTTP 401)"), so the templates do not name the provider again; only a
provider's refusal in its own words ("Call not found") is introduced with its name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate

from homeassistant.core import HomeAssistant
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
from .repairs import ORIGIN_REFRESH, async_permission_granted, async_permission_refused

if TYPE_CHECKING:
    from . import PbxConfigEntry
    from .coordinator import PbxCoordinator
    from .entity import PbxEntity


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


def _rejected_credentials(err: PbxError) -> bool:
    return isinstance(err, PbxAuthError) or isinstance(err.__cause__, PbxAuthError)


def _permission(err: PbxPermissionError) -> str:
    return err.permission or str(err)


@contextmanager
def pbx_errors(
    hass: HomeAssistant, entry: PbxConfigEntry, origin: str, *, recipients: int | None = None
) -> Iterator[None]:
    """Translate the client errors of the action `origin`.

    Rejected credentials start reauth; a missing permission is a repair issue instead
    (new credentials would not help), cleared when the action next works.
    """
    try:
        yield
    except PbxError as err:
        if _rejected_credentials(err):
            entry.async_start_reauth(hass)
        elif isinstance(err, PbxPermissionError):
            async_permission_refused(hass, entry, origin, _permission(err))
        raise translate_action_error(
            err, entry.runtime_data.client.title, recipients=recipients
        ) from err
    async_permission_granted(hass, entry, origin)


def pbx_update_errors[CoordinatorT: PbxCoordinator, R](
    func: Callable[[CoordinatorT], Awaitable[R]],
) -> Callable[[CoordinatorT], Coroutine[Any, Any, R]]:
    """Decorate a coordinator's update method: auth -> reauth, others -> UpdateFailed."""

    @wraps(func)
    async def handler(coordinator: CoordinatorT) -> R:
        hass, entry = coordinator.hass, coordinator.config_entry
        try:
            result = await func(coordinator)
        except PbxPermissionError as err:
            async_permission_refused(hass, entry, ORIGIN_REFRESH, _permission(err))
            raise translate_update_error(err, coordinator.client.title) from err
        except PbxError as err:
            raise translate_update_error(err, coordinator.client.title) from err
        async_permission_granted(hass, entry, ORIGIN_REFRESH)
        return result

    return handler


def pbx_action_errors[EntityT: PbxEntity, **P, R](
    func: Callable[Concatenate[EntityT, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, R]]:
    """Decorate an entity action: translated errors; rejected credentials start reauth.

    A refused permission is one repair issue per kind of entity (its description's key),
    not one per agent.
    """

    @wraps(func)
    async def handler(self: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        coordinator = self.coordinator
        with pbx_errors(coordinator.hass, coordinator.config_entry, self.entity_description.key):
            return await func(self, *args, **kwargs)

    return handler
