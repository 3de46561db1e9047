"""The provider-independent client interface and the shared HTTP request helper."""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import logging
import math
import re
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus, urlencode

import aiohttp
from yarl import URL

from .declaration import ConnectionField, OptionKind, ProviderDeclaration
from .errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxInvalidInput,
    PbxOutcomeUnknownError,
    PbxPartialSendError,
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
    WebhookReply,
    WebhookRequest,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# Longer waits than this a rate limit asks for are waited no longer (a broken header
# must not park the coordinator for ever, nor overflow its timer).
MAX_RETRY_AFTER = 3600.0
REDACTED = "**REDACTED**"
# Integers in answers: ASCII digits ("²".isdigit() is true), and no more than fit 64 bits.
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")


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
    """Read a Retry-After header (seconds or an HTTP date), at most `MAX_RETRY_AFTER`."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except TypeError, ValueError:
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def read_json(body: bytes | str, *, ignore_after: str = "") -> Any:
    """Parse a JSON answer or webhook body; `ValueError` for anything unreadable.

    `ignore_after`: characters that may stray after a complete value (Daktela's documented
    CreateCall answer ends in one `}` too many). Nesting too deep for the parser (a
    RecursionError) is unreadable too.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    text = text.lstrip("\ufeff").strip()
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if text[end:].strip(ignore_after + " \t\r\n"):
        raise ValueError("data after the JSON value")
    return value


def parse_int(value: object) -> int | None:
    """An integer written as a JSON number or a decimal string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 2**63 else None
    if isinstance(value, str) and _INTEGER.fullmatch(value := value.strip()):
        return int(value)
    return None


class _DroppedAfterSendingError(aiohttp.ClientError):
    """The connection failed once the request could have reached the provider."""


async def _never_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Keep aiohttp from sending a request a second time.

    aiohttp resends a GET, PUT or DELETE whose connection fails, and it retries nothing
    but `ClientOSError` and `ServerDisconnectedError`: raised as another error, those end
    the request. Daktela's actions are GETs, and a dial or an SMS must go out only once.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # not connected, so nothing was sent (and aiohttp does not resend these)
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as err:
        raise _DroppedAfterSendingError(type(err).__name__) from err


class PbxClient(ABC):
    """One provider account.

    Subclasses declare themselves in `declaration` (what they support, their forms and
    options) and implement the methods of their capabilities; everything else raises
    `PbxUnsupportedError`. Dial, announce and SMS are sent
    exactly once: the request helper never retries, and a timeout on them raises
    `PbxOutcomeUnknownError` because the provider may have acted already.
    """

    declaration: ClassVar[ProviderDeclaration]
    default_base_url: ClassVar[str]
    # Shortcuts to the declaration, for the client's own code.
    provider: ClassVar[str]
    title: ClassVar[str]
    connection_fields: ClassVar[tuple[ConnectionField, ...]]
    capabilities: ClassVar[frozenset[Capability]]
    webhook_methods: ClassVar[frozenset[str]]
    default_country_code: ClassVar[str]
    # HTTP statuses that mean the credentials were rejected (some APIs answer 403 for a
    # missing permission instead, which new credentials would not fix).
    auth_failure_statuses: ClassVar[frozenset[int]] = frozenset({401, 403})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if declaration := cls.__dict__.get("declaration"):
            cls.provider = declaration.provider
            cls.title = declaration.title
            cls.connection_fields = declaration.connection_fields
            cls.capabilities = declaration.capabilities
            cls.webhook_methods = declaration.webhook_methods
            cls.default_country_code = declaration.number_plan.country_code

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
        ) + tuple(self._secret_option_values())

    def _secret_option_values(self) -> list[str]:
        """The values of the options the declaration marks secret (PINs, say)."""
        values: list[str] = []
        for option in self.declaration.options:
            value = self._options.get(option.key)
            if not option.secret or not value:
                continue
            if option.kind is OptionKind.MAPPING and isinstance(value, Mapping):
                values += (str(item) for item in value.values() if item)
            elif isinstance(value, list | tuple):
                values += (str(item) for item in value if item)
            else:
                values.append(str(value))
        return values

    def __repr__(self) -> str:
        # A user may have written credentials into the URL (http://user:pass@pbx).
        return f"<{type(self).__name__} {URL(self.base_url).with_user(None)}>"

    @property
    def admin_url(self) -> str:
        """The provider's administration page for this account (never with credentials)."""
        address = URL(self.base_url)
        return str(address.with_user(None).with_path(self.declaration.admin_path).with_query(None))

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

    async def async_agent_login(self, agent_id: str, extension: str | None = None) -> None:
        """Log the agent in; `extension`: the phone or line they sit at, where one is needed."""
        raise self._unsupported("agent_login")

    async def async_agent_logout(self, agent_id: str) -> None:
        raise self._unsupported("agent_logout")

    async def async_agent_pause(self, agent_id: str, reason: str | None = None) -> None:
        raise self._unsupported("agent_pause")

    async def async_agent_unpause(self, agent_id: str) -> None:
        raise self._unsupported("agent_unpause")

    async def async_queue_login(
        self, agent_id: str, queue_id: str, extension: str | None = None
    ) -> None:
        """Add the agent to a queue; `extension` as for `async_agent_login`."""
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

    def webhook_reply(
        self, request: WebhookRequest, items: list[WebhookItem]
    ) -> WebhookReply | None:
        """The body to answer an accepted webhook request with; None: an empty 200.

        Pure, like `parse_webhook`: the answer never waits on the provider.
        """
        return None

    def resolve_webhook_items(
        self, items: list[WebhookItem], snapshot: Snapshot | None
    ) -> list[WebhookItem]:
        """Fill in what a webhook names only indirectly, from what the polls read: the
        last polled `snapshot`, or what the client learned while polling.

        Pure and without I/O (a webhook request never waits on the provider, nor makes it
        ask anything later): a login or a line becomes the agent id the snapshot keys
        agents by; what the polls cannot resolve stays as the webhook said it.
        """
        return items

    async def async_check_options(self) -> dict[str, str]:
        """The options the account refuses, as option key -> error key, read when the
        options are saved; {} where the provider has nothing to check them against."""
        return {}

    async def async_webhook_targets(self) -> dict[str, str]:
        """Where `async_register_webhook` can put a URL: id -> label (Telfa's numbers).

        Empty where the provider keeps hooks in one place (Daktela's SMS callback).
        """
        if Capability.REGISTER_WEBHOOK not in self.capabilities:
            raise self._unsupported("webhook registration")
        return {}

    async def async_register_webhook(self, url: str) -> list[str]:
        """Add `url` to the provider's hook settings, keeping what is there.

        Returns the ids of the targets it is registered at (empty for one place).
        """
        raise self._unsupported("webhook registration")

    async def async_unregister_webhook(self, url: str) -> None:
        """Remove `url` (and only it) from the provider's hook settings."""
        raise self._unsupported("webhook registration")

    def format_number(self, e164: str) -> str:
        """Write an E.164 number (`+420…`) the way the provider's API expects it."""
        return self.declaration.number_plan.write(e164)

    # --- HTTP ---------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Remove every configured secret from `text`, also as written in a URL.

        The longest come first, so that a secret inside another (a PIN among the digits of
        a password) cannot break the longer one up and leave the rest of it readable.
        """
        forms = {form for secret in self._secrets for form in _url_forms(secret)}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, REDACTED)
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
        check_status: bool = True,
    ) -> HttpResponse:
        """Send one request and map transport failures to `PbxError`s.

        `once` marks requests that must not be repeated (dial, announce, SMS): a timeout
        then means the outcome is unknown. `check_status=False` returns any status, for a
        provider whose error bodies must be read before the status decides (the caller
        then calls `_raise_for_status`).
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
                middlewares=(_never_resend,) if once else None,
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
                err,
                aiohttp.ServerDisconnectedError
                | aiohttp.ClientPayloadError
                | _DroppedAfterSendingError,
            ):
                raise PbxOutcomeUnknownError(
                    f"{self.title} closed the connection; the request may have been carried out"
                ) from None
            raise PbxConnectionError(f"Cannot reach {self.title} ({type(err).__name__})") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise PbxConnectionError(f"{self.title} sent a response that is too large")
        answer = HttpResponse(status, response_headers, body)
        if check_status:
            self._raise_for_status(answer, once=once)
        return answer

    def _raise_for_status(self, response: HttpResponse, *, once: bool = False) -> None:
        """Raise for the statuses every provider means alike: credentials, rate, server.

        A server error to a request that must not be repeated (`once`) may come after the
        provider acted on it (a gateway that gave up waiting, a crash after the call was
        placed): its outcome is unknown, so that nobody is invited to dial twice.
        """
        status = response.status
        if status in self.auth_failure_statuses:
            raise PbxAuthError(f"{self.title} rejected the credentials (HTTP {status})")
        if status == 429:
            raise PbxRateLimitError(
                f"{self.title} is rate limiting requests",
                parse_retry_after(response.headers.get("retry-after")),
            )
        if status >= 500:
            if once:
                raise PbxOutcomeUnknownError(
                    f"{self.title} answered with a server error (HTTP {status}); the request "
                    "may have been carried out"
                )
            raise PbxConnectionError(f"{self.title} answered with a server error (HTTP {status})")

    async def _send_to_each(
        self, recipients: Sequence[str], send: Callable[[str], Awaitable[str | None]]
    ) -> tuple[str, ...]:
        """Send one message per recipient, in order, each once; return the message ids.

        Nothing is sent again: when a recipient fails after others were sent, the error
        says how many went out (`PbxPartialSendError`, numbers only in `sent_to`).
        """
        if not recipients:
            raise PbxInvalidInput(f"{self.title} SMS needs at least one recipient")
        message_ids: list[str] = []
        for done, recipient in enumerate(recipients):
            try:
                message_id = await send(recipient)
            except PbxError as err:
                if not done:
                    raise
                raise PbxPartialSendError(
                    f"{self.title} sent the SMS to {done} of {len(recipients)} recipients, "
                    f"then failed (nothing was resent): {err}",
                    sent_to=tuple(recipients[:done]),
                ) from err
            if message_id:
                message_ids.append(message_id)
        return tuple(message_ids)


def _url_forms(secret: str) -> set[str]:
    """`secret` as it is, and as urlencode, quote and yarl (what goes on the wire) write it."""
    wire = URL.build(query={"s": secret}).raw_query_string.removeprefix("s=")
    return {secret, quote_plus(secret), quote(secret, safe=""), wire}
