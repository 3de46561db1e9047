"""The webhook of one account: checks a request and hands it to the provider's parser.

The provider parser (`PbxClient.parse_webhook`) turns (method, headers, query, body) into
normalized events, which go to the entry's `PbxEventHub`. Whatever arrives, the answer is a
4xx or a 200, and a refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
import hmac
from http import HTTPStatus
import logging
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError

from .api import PbxClient, client_class
from .api.errors import PbxError
from .api.models import WebhookRequest
from .const import (
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
    DOMAIN,
)
from .coordinator import PbxConfigEntry

if TYPE_CHECKING:
    from .events import PbxEventHub

_LOGGER = logging.getLogger(__name__)

# Provider hook bodies are a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES: Final = 64 * 1024
# Providers call a plain URL and may not add headers: the secret travels in the query.
SECRET_QUERY_PARAM: Final = "secret"  # noqa: S105 - a parameter name
SECRET_HEADER: Final = "X-Webhook-Secret"  # noqa: S105 - a header name


def webhook_urls(hass: HomeAssistant, webhook_id: str, secret: str | None) -> dict[str, str]:
    """The webhook URL, internal and external where configured, with the secret."""
    urls: dict[str, str] = {}
    for kind, external in (("internal", False), ("external", True)):
        try:
            url = webhook.async_generate_url(
                hass,
                webhook_id,
                allow_internal=not external,
                allow_external=external,
                prefer_external=external,
            )
        except NoURLAvailableError:
            continue
        if url not in urls.values():
            urls[kind] = with_secret(url, secret)
    return urls


def webhook_setup_text(
    hass: HomeAssistant, provider: str, webhook_id: str, secret: str | None
) -> tuple[str, str]:
    """The webhook URLs (internal first, one a line) and what to paste where.

    No words of ours: the flow's translated text around them says what they are.
    """
    urls = webhook_urls(hass, webhook_id, secret)
    if not urls:
        return "-", "-"
    shown = "\n".join(f"- `{url}`" for url in urls.values())
    return shown, setup_instructions(provider, urls.get("external") or urls["internal"])


def with_secret(url: str, secret: str | None) -> str:
    """`url` with the shared secret in its query, where there is one."""
    return f"{url}?{urlencode({SECRET_QUERY_PARAM: secret})}" if secret else url


def setup_instructions(provider: str, url: str) -> str:
    """What to paste where at the provider, as lines of provider syntax."""
    return client_class(provider).declaration.webhook_setup(url)


class PbxWebhook:
    """The webhook handler of one entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PbxConfigEntry,
        client: PbxClient,
        hub: PbxEventHub,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.hub = hub
        self.webhook_id: str = entry.data[CONF_WEBHOOK_ID]

    @callback
    def async_register(self) -> None:
        """Start answering requests to the entry's webhook."""
        # We filter methods ourselves: Home Assistant's own refusal logs the webhook id.
        webhook.async_register(
            self.hass,
            DOMAIN,
            self.entry.title,
            self.webhook_id,
            self.async_handle,
            allowed_methods=webhook.SUPPORTED_METHODS,
        )

    @callback
    def async_unregister(self) -> None:
        """Stop answering requests to the entry's webhook."""
        webhook.async_unregister(self.hass, self.webhook_id)

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Check one request, parse it and hand its events to the hub."""
        if request.method not in self.client.webhook_methods:
            return web.Response(status=HTTPStatus.METHOD_NOT_ALLOWED)
        if not self._secret_matches(request.query, request.headers):
            _LOGGER.debug(
                "Refused a %s webhook request: wrong or missing secret", self.client.title
            )
            return web.Response(status=HTTPStatus.UNAUTHORIZED)
        body = await _read_limited(request)
        if body is None:
            _LOGGER.debug("Refused a %s webhook request: body too large", self.client.title)
            return web.Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        parsed = WebhookRequest(
            method=request.method,
            headers=_without(request.headers, SECRET_HEADER),
            query={key: value for key, value in request.query.items() if key != SECRET_QUERY_PARAM},
            body=body,
        )
        try:
            items = self.client.parse_webhook(parsed)
        except PbxError as err:
            # The parser's message names the problem, never a secret.
            _LOGGER.debug("Refused a %s webhook request: %s", self.client.title, err)
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        # Nothing here asks the provider: what a hook names indirectly is resolved from
        # what the polls learned, and what they have not learned stays as the hook said it.
        items = self.client.resolve_webhook_items(items, self.hub.coordinator.data)
        self.hub.async_process(items)
        if (reply := self.client.webhook_reply(parsed, items)) is not None:
            return web.Response(text=reply.body, content_type=reply.content_type)
        return web.Response(status=HTTPStatus.OK)

    def _secret_matches(self, query: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        expected: str | None = self.entry.options.get(CONF_WEBHOOK_SECRET)
        if not expected:
            return True
        given = query.get(SECRET_QUERY_PARAM) or headers.get(SECRET_HEADER) or ""
        return hmac.compare_digest(given.encode(), expected.encode())


def _without(headers: Mapping[str, str], name: str) -> dict[str, str]:
    """The request's headers (case-insensitive, as aiohttp gives them) but `name`."""
    if name not in headers:  # the usual case: one lookup, no comparison per header
        return dict(headers)
    return {key: value for key, value in headers.items() if key.lower() != name.lower()}


async def _read_limited(request: web.Request) -> bytes | None:
    """The body, or None when it is longer than `MAX_BODY_BYTES`."""
    if (length := request.content_length) is not None:
        # aiohttp reads exactly the announced length, in one call.
        return await request.read() if length <= MAX_BODY_BYTES else None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(MAX_BODY_BYTES + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
    return b"".join(chunks)
