"""Translated errors around what a user does: the integration's actions and entity actions.

The mapping itself is in `errors`; here rejected credentials start reauth and a missing
permission becomes a repair issue.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, Concatenate

from homeassistant.core import HomeAssistant

from .api.errors import PbxError, PbxPermissionError
from .coordinator import PbxConfigEntry
from .entity import PbxEntity
from .errors import permission_of, rejected_credentials, translate_action_error
from .repairs import async_permission_granted, async_permission_refused


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
        if rejected_credentials(err):
            entry.async_start_reauth(hass)
        elif isinstance(err, PbxPermissionError):
            async_permission_refused(hass, entry, origin, permission_of(err))
        raise translate_action_error(
            err, entry.runtime_data.client.title, recipients=recipients
        ) from err
    async_permission_granted(hass, entry, origin)


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
