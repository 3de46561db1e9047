"""Fault injection: make chosen requests of a provider fail in a chosen way."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web
from aiohttp.typedefs import Handler


class FaultKind(StrEnum):
    LATENCY = "latency"  # answer normally after `seconds`
    HANG = "hang"  # never answer (until the client gives up)
    SERVER_ERROR = "5xx"
    UNAUTHORIZED = "401"
    FORBIDDEN = "403"
    RATE_LIMIT = "429"  # with Retry-After: `retry_after`
    TRUNCATED = "truncated"  # the real body cut in half
    MALFORMED = "malformed"  # a body that is not what the content type says
    HTML = "html"  # an HTML error page with status 200, as a misconfigured proxy sends
    DISCONNECT = "disconnect"  # the connection drops after the request was received


@dataclass
class Fault:
    provider: str
    kind: FaultKind
    endpoint: str | None = None  # the provider's endpoint key; None: every request
    count: int | None = None  # how many requests it hits; None: until removed
    seconds: float = 1.0
    retry_after: int = 30
    status: int = 503

    def matches(self, provider: str, endpoint: str) -> bool:
        return (
            self.provider == provider
            and self.endpoint in (None, endpoint)
            and (self.count is None or self.count > 0)
        )


HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p>"
    "</body></html>"
)


async def apply_fault(
    fault: Fault, call_handler: Handler, request: web.Request
) -> web.StreamResponse:
    """Answer `request` the way `fault` says."""
    if fault.count is not None:
        fault.count -= 1
    match fault.kind:
        case FaultKind.LATENCY:
            await asyncio.sleep(fault.seconds)
            return await call_handler(request)
        case FaultKind.HANG:
            await asyncio.sleep(3600)
            raise web.HTTPGatewayTimeout
        case FaultKind.SERVER_ERROR:
            return web.Response(status=fault.status, text="Internal Server Error")
        case FaultKind.UNAUTHORIZED:
            return web.Response(status=401, text="Unauthorized")
        case FaultKind.FORBIDDEN:
            return web.Response(status=403, text="Forbidden")
        case FaultKind.RATE_LIMIT:
            return web.Response(
                status=429,
                text="Too Many Requests",
                headers={"Retry-After": str(fault.retry_after)},
            )
        case FaultKind.DISCONNECT:
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("fault: connection dropped")
        case FaultKind.HTML:
            return web.Response(status=200, text=HTML_PAGE, content_type="text/html")
        case FaultKind.TRUNCATED | FaultKind.MALFORMED:
            real = await call_handler(request)
            body = real.body if isinstance(real, web.Response) else b""
            raw = bytes(body) if isinstance(body, bytes | bytearray) else b""
            mangled = (
                raw[: len(raw) // 2]
                if fault.kind is FaultKind.TRUNCATED
                else (b"\x00{<<garbage" + raw[::-1][:40])
            )
            return web.Response(
                status=real.status, body=mangled, content_type=real.content_type or "text/plain"
            )
