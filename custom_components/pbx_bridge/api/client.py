"""The provider-independent client interface and the shared HTTP request helper."""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import logging
from typing import Any, ClassVar
from urllib.parse import urlencode

import aiohttp

from .errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxOutcomeUnknownError,
    PbxRateLimitError,
    PbxUnsupportedError,
)
from .models import (
    AccountInfo,
    AnnounceRequest,
    CallResult,
    Capability,
    DialRequest,
    HangupRequest,
    SmsRequest,
    SmsResult,
    Snapshot,
    TransferRequest,
    WebhookItem,
    WebhookRequest,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
REDACTED = "**REDACTED**"

# Keys of the `options` a client accepts besides its connection fields.
OPTION_AGENT_PINS = "agent_pins"  # dict: agent number -> PIN (VoIPSUN agent actions)
OPTION_SMS_SENDER = "sms_sender"  # sender id / number id used for SMS


@dataclass(frozen=True, slots=True)
class ConnectionField:
    """One field of a provider's connection form."""

    key: str
    secret: bool = False
    required: bool = True
    is_url: bool = False
    default: str | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A provider's HTTP answer, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except TypeError, ValueError:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PbxClient(ABC):
    """One provider account.

    Subclasses declare what they support in `capabilities` and implement the matching
    methods; everything else raises `PbxUnsupportedError`. Dial, announce and SMS are sent
    exactly once: the request helper never retries, and a timeout on them raises
    `PbxOutcomeUnknownError` because the provider may have acted already.
    """

    provider: ClassVar[str]
    title: ClassVar[str]
    default_base_url: ClassVar[str]
    connection_fields: ClassVar[tuple[ConnectionField, ...]]
    capabilities: ClassVar[frozenset[Capability]]
    # HTTP methods the provider uses to call our webhook (empty: it has no push).
    webhook_methods: ClassVar[frozenset[str]] = frozenset()
    # Calling code for national numbers (without "+"), e.g. "420" for the Czech Republic.
    default_country_code: ClassVar[str] = "420"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: Mapping[str, str],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._config = dict(config)
        self._options: dict[str, Any] = dict(options or {})
        self._timeout = timeout
        base_url = self._config.get("base_url") or self.default_base_url
        self.base_url = base_url.rstrip("/")
        self._secrets = tuple(
            value
            for fld in self.connection_fields
            if fld.secret and (value := self._config.get(fld.key))
        ) + tuple(str(pin) for pin in self._options.get(OPTION_AGENT_PINS, {}).values() if pin)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    def supports(self, capability: Capability) -> bool:
        """Whether this provider offers `capability`."""
        return capability in self.capabilities

    # --- what every provider implements ------------------------------------

    @abstractmethod
    async def async_validate(self) -> AccountInfo:
        """Check the credentials and return the account's stable id and name."""

    @abstractmethod
    async def async_fetch_snapshot(self) -> Snapshot:
        """Read agents, queues, registrations and calls in as few requests as possible."""

    # --- actions (refused unless the provider overrides them) ---------------

    def _unsupported(self, what: str) -> PbxUnsupportedError:
        return PbxUnsupportedError(f"{self.title} does not support {what}")

    async def async_dial(self, request: DialRequest) -> CallResult:
        raise self._unsupported("dial")

    async def async_hangup(self, request: HangupRequest) -> None:
        raise self._unsupported("hangup")

    async def async_announce(self, request: AnnounceRequest) -> CallResult:
        raise self._unsupported("announce")

    async def async_send_sms(self, request: SmsRequest) -> SmsResult:
        raise self._unsupported("send_sms")

    async def async_transfer(self, request: TransferRequest) -> None:
        raise self._unsupported("transfer")

    async def async_agent_login(self, agent_id: str) -> None:
        raise self._unsupported("agent_login")

    async def async_agent_logout(self, agent_id: str) -> None:
        raise self._unsupported("agent_logout")

    async def async_agent_pause(self, agent_id: str, reason: str | None = None) -> None:
        raise self._unsupported("agent_pause")

    async def async_agent_unpause(self, agent_id: str) -> None:
        raise self._unsupported("agent_unpause")

    async def async_queue_login(self, agent_id: str, queue_id: str) -> None:
        raise self._unsupported("queue_login")

    async def async_queue_logout(self, agent_id: str, queue_id: str) -> None:
        raise self._unsupported("queue_logout")

    async def async_queue_kick(self, queue_id: str, call_id: str) -> None:
        raise self._unsupported("queue_kick")

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookItem]:
        """Turn a webhook request into normalized events.

        Pure: raises `PbxInvalidInput` for anything malformed and nothing else.
        """
        raise self._unsupported("webhooks")

    async def async_resolve_webhook_items(self, items: list[WebhookItem]) -> list[WebhookItem]:
        """Fill in what a webhook names only indirectly (an agent by login, say).

        Called after `parse_webhook`; may read the provider, never fails: what it cannot
        resolve stays as the webhook said it.
        """
        return items

    async def async_register_webhook(self, url: str) -> None:
        """Add `url` to the provider's hook settings, keeping what is there."""
        raise self._unsupported("webhook registration")

    async def async_unregister_webhook(self, url: str) -> None:
        """Remove `url` (and only it) from the provider's hook settings."""
        raise self._unsupported("webhook registration")

    def format_number(self, e164: str) -> str:
        """Write an E.164 number (`+420…`) the way the provider's API expects it."""
        return e164

    # --- HTTP ---------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Remove every configured secret from `text`."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: str | bytes | Mapping[str, str] | None = None,
        json: object = None,
        once: bool = False,
    ) -> HttpResponse:
        """Send one request and map transport failures to `PbxError`s.

        `once` marks requests that must not be repeated (dial, announce, SMS): a timeout
        then means the outcome is unknown.
        """
        url = self._url(path)
        if _LOGGER.isEnabledFor(logging.DEBUG):
            shown = url + ("?" + urlencode(params) if params else "")
            _LOGGER.debug("%s %s %s", self.title, method, self.redact(shown))
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                headers=headers,
                data=data,
                json=json,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
            ) as response:
                # read(n) returns what has arrived so far (at most n bytes): read to the end.
                received = bytearray()
                while chunk := await response.content.read(MAX_RESPONSE_BYTES + 1 - len(received)):
                    received += chunk
                body = bytes(received)
                status = response.status
                response_headers = {k.lower(): v for k, v in response.headers.items()}
        except TimeoutError as err:
            if once:
                raise PbxOutcomeUnknownError(
                    f"{self.title} did not answer in time; the request may have been carried out"
                ) from None
            raise PbxConnectionError(f"{self.title} did not answer in time") from err
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as err:
            # The exception text can hold the URL with its credentials: name the type only.
            if once and isinstance(
                err, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError
            ):
                raise PbxOutcomeUnknownError(
                    f"{self.title} closed the connection; the request may have been carried out"
                ) from None
            raise PbxConnectionError(f"Cannot reach {self.title} ({type(err).__name__})") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise PbxConnectionError(f"{self.title} sent a response that is too large")
        if status in (401, 403):
            raise PbxAuthError(f"{self.title} rejected the credentials (HTTP {status})")
        if status == 429:
            raise PbxRateLimitError(
                f"{self.title} is rate limiting requests",
                parse_retry_after(response_headers.get("retry-after")),
            )
        if status >= 500:
            raise PbxConnectionError(f"{self.title} answered with a server error (HTTP {status})")
        return HttpResponse(status, response_headers, body)
