"""One place that turns client errors into Home Assistant's translated errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate

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
    PbxRateLimitError,
    PbxResponseError,
    PbxUnsupportedError,
)
from .const import DOMAIN

if TYPE_CHECKING:
    from .coordinator import PbxCoordinator
    from .entity import PbxEntity


def translate_update_error(err: PbxError, provider: str) -> Exception:
    """The error a coordinator refresh raises for `err`."""
    placeholders = {"provider": provider, "error": str(err)}
    if isinstance(err, PbxAuthError):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="invalid_auth",
            translation_placeholders=placeholders,
        )
    if isinstance(err, PbxRateLimitError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="rate_limited",
            translation_placeholders=placeholders,
            retry_after=err.retry_after,
        )
    if isinstance(err, PbxConnectionError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="communication_error",
            translation_placeholders=placeholders,
        )
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="invalid_response",
        translation_placeholders=placeholders,
    )


def translate_action_error(err: PbxError, provider: str) -> HomeAssistantError:
    """The error an entity action raises for `err` (never retried, so say what happened)."""
    placeholders = {"provider": provider, "error": str(err)}
    key: str
    error_class: type[HomeAssistantError] = HomeAssistantError
    match err:
        case PbxAuthError():
            key = "invalid_auth"
        case PbxRateLimitError():
            key = "rate_limited"
        case PbxOutcomeUnknownError():
            key = "outcome_unknown"
        case PbxConnectionError():
            key = "communication_error"
        case PbxResponseError():
            key = "provider_refused"
        case PbxUnsupportedError():
            key, error_class = "unsupported", ServiceValidationError
        case PbxInvalidInput():
            key, error_class = "invalid_input", ServiceValidationError
        case _:
            key = "invalid_response"
    return error_class(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def pbx_update_errors[CoordinatorT: PbxCoordinator, R](
    func: Callable[[CoordinatorT], Awaitable[R]],
) -> Callable[[CoordinatorT], Coroutine[Any, Any, R]]:
    """Decorate a coordinator's update method: auth -> reauth, others -> UpdateFailed."""

    @wraps(func)
    async def handler(coordinator: CoordinatorT) -> R:
        try:
            return await func(coordinator)
        except PbxError as err:
            raise translate_update_error(err, coordinator.client.title) from err

    return handler


def pbx_action_errors[EntityT: PbxEntity, **P, R](
    func: Callable[Concatenate[EntityT, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, R]]:
    """Decorate an entity action: translated errors; rejected credentials start reauth."""

    @wraps(func)
    async def handler(self: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        coordinator = self.coordinator
        try:
            return await func(self, *args, **kwargs)
        except PbxError as err:
            if isinstance(err, PbxAuthError):
                coordinator.config_entry.async_start_reauth(coordinator.hass)
            raise translate_action_error(err, coordinator.client.title) from err

    return handler
