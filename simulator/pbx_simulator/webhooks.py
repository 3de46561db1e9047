"""Deliver a provider's webhooks (HTTP requests to URLs the account registered)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Delivery:
    """One webhook request the simulator sent, and how it went."""

    provider: str
    method: str
    url: str
    headers: dict[str, str]
    body: str
    status: int | None = None
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


class WebhookSender:
    """Sends webhook requests in the background, in order per URL, and logs them."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.deliveries: list[Delivery] = []
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tail: dict[str, asyncio.Task[None]] = {}

    def send(
        self,
        provider: str,
        method: str,
        url: str,
        *,
        body: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> Delivery:
        delivery = Delivery(provider, method, url, dict(headers or {}), body)
        self.deliveries.append(delivery)
        previous = self._tail.get(url)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, previous))
        self._tail[url] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _deliver(self, delivery: Delivery, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # keep the provider's order per URL
            await asyncio.gather(previous, return_exceptions=True)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
        try:
            async with self._session.request(
                delivery.method,
                delivery.url,
                data=delivery.body.encode() or None,
                headers=delivery.headers,
            ) as response:
                delivery.status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            delivery.error = type(err).__name__
        finally:
            delivery.done.set()

    async def drain(self) -> None:
        """Wait until every delivery sent so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
