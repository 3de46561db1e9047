"""Our webhook URL in the provider's hook settings (Telfa numbers, Daktela's SMS callback).

Registration runs as a background task of the entry: setup does not wait for one request
per Telfa number. What we registered is remembered in the entry's data, so that exactly
that URL (never one the user set) is taken off again. Failures become repair issues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.components import webhook
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError

from .api import PbxClient
from .api.errors import PbxError
from .api.models import Capability
from .const import (
    CONF_AUTO_REGISTER_WEBHOOK,
    CONF_HOOK_NUMBERS,
    CONF_REGISTERED_WEBHOOK,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
    DOMAIN,
)
from .repairs import (
    async_check_reachable_url,
    async_clear_registration_failed,
    async_registration_failed,
)
from .webhook import with_secret

if TYPE_CHECKING:
    from .coordinator import PbxConfigEntry

_LOGGER = logging.getLogger(__name__)

type ClientForNumbers = Callable[[Sequence[str]], PbxClient]


def registration_url(hass: HomeAssistant, entry: PbxConfigEntry) -> str:
    """The URL to register at the provider: reachable from outside where possible."""
    url = webhook.async_generate_url(hass, entry.data[CONF_WEBHOOK_ID], prefer_external=True)
    return with_secret(url, entry.options.get(CONF_WEBHOOK_SECRET))


@callback
def async_start_registration(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    client: PbxClient,
    client_for_numbers: ClientForNumbers,
) -> None:
    """Check that the webhook is reachable and sync the registration in the background.

    Both run again when Home Assistant's URLs change: the repair issue about a missing
    external URL clears itself, and the provider gets the new URL without a restart.
    `client_for_numbers` makes a client that works on the given webhook targets.
    """
    if not client.webhook_methods:
        return  # no push: nothing calls a webhook, nothing to register

    @callback
    def sync() -> None:
        entry.async_create_background_task(
            hass,
            async_sync_registration(hass, entry, client, client_for_numbers),
            f"{DOMAIN} webhook registration {entry.entry_id}",
        )

    @callback
    def urls_changed(_: Event[Any]) -> None:
        async_check_reachable_url(hass, entry, entry.data[CONF_WEBHOOK_ID], client.title)
        if not client.supports(Capability.REGISTER_WEBHOOK):
            return
        registered: Mapping[str, Any] | None = entry.data.get(CONF_REGISTERED_WEBHOOK)
        try:
            wanted: str | None = registration_url(hass, entry)
        except NoURLAvailableError:
            wanted = None
        on = bool(entry.options.get(CONF_AUTO_REGISTER_WEBHOOK))
        if (registered or on) and (registered or {}).get("url") != (wanted if on else None):
            sync()

    async_check_reachable_url(hass, entry, entry.data[CONF_WEBHOOK_ID], client.title)
    if client.supports(Capability.REGISTER_WEBHOOK):
        sync()
    entry.async_on_unload(hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, urls_changed))


async def async_sync_registration(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    client: PbxClient,
    client_for_numbers: ClientForNumbers,
) -> None:
    """Make the provider hold our URL as the options say, and remember what it holds.

    On: register the current URL (and numbers); when they differ from what we registered
    before (the external URL, the secret or the numbers changed), take the old one off
    first. Off: take off what we registered. The user's own URLs stay either way. A
    failure becomes a repair issue, which the next sync that works clears.
    """
    registered: Mapping[str, Any] | None = entry.data.get(CONF_REGISTERED_WEBHOOK)
    wanted: str | None = None
    if entry.options.get(CONF_AUTO_REGISTER_WEBHOOK):
        try:
            wanted = registration_url(hass, entry)
        except NoURLAvailableError:
            return  # the reachability issue says so; a URL change tries again
    chosen = entry.options.get(CONF_HOOK_NUMBERS)
    # The provider's refusal to take the old URL off, which the new one does not undo.
    refused: str | None = None
    if registered and (
        registered["url"] != wanted
        or (chosen and set(chosen) != set(registered.get("numbers", ())))
    ):
        try:
            await client_for_numbers(registered.get("numbers", ())).async_unregister_webhook(
                registered["url"]
            )
        except PbxError as err:
            refused = str(err)
            if wanted is None:
                async_registration_failed(hass, entry, client.title, refused)
                return  # still remembered: taken off at the next start
        # What replaces it is what we hold from now on.
        _async_set_registered(hass, entry, None)
    if wanted is not None:
        try:
            numbers = await client.async_register_webhook(wanted)
        except PbxError as err:
            async_registration_failed(hass, entry, client.title, str(err))
            return
        _async_set_registered(hass, entry, {"url": wanted, "numbers": numbers})
    if refused is not None:
        # Registered anew, but the old URL is still at the provider: say so once.
        async_registration_failed(hass, entry, client.title, refused)
    else:
        async_clear_registration_failed(hass, entry)


async def async_unregister_at_provider(
    hass: HomeAssistant, entry: PbxConfigEntry, client_for_numbers: ClientForNumbers
) -> None:
    """Take the URL we registered (and only it) off the provider: the entry is going."""
    registered: Mapping[str, Any] | None = entry.data.get(CONF_REGISTERED_WEBHOOK)
    if registered:
        await _async_unregister(client_for_numbers(registered.get("numbers", ())), registered)
        return
    client = client_for_numbers(entry.options.get(CONF_HOOK_NUMBERS, ()))
    if not entry.options.get(CONF_AUTO_REGISTER_WEBHOOK) or not client.supports(
        Capability.REGISTER_WEBHOOK
    ):
        return
    # Nothing remembered (an earlier version registered it, or registering failed):
    # the URL it would have registered is the best guess.
    try:
        url = registration_url(hass, entry)
    except NoURLAvailableError:
        _LOGGER.warning(
            "Cannot remove the %s webhook: Home Assistant has no URL to look for", client.title
        )
        return
    await _async_unregister(client, {"url": url})


async def _async_unregister(client: PbxClient, registered: Mapping[str, Any]) -> None:
    """Take `registered`'s URL off the provider; the entry is going, so a failure is logged.

    There is no entry left to attach a repair issue to.
    """
    try:
        await client.async_unregister_webhook(registered["url"])
    except PbxError as err:
        _LOGGER.warning("Cannot remove the %s webhook: %s", client.title, err)


@callback
def _async_set_registered(
    hass: HomeAssistant, entry: PbxConfigEntry, registered: dict[str, Any] | None
) -> None:
    data = {key: value for key, value in entry.data.items() if key != CONF_REGISTERED_WEBHOOK}
    if registered is not None:
        data[CONF_REGISTERED_WEBHOOK] = registered
    hass.config_entries.async_update_entry(entry, data=data)
