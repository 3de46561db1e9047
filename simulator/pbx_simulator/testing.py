"""Pytest plugin: `pbx_simulator` starts a simulator on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from aiohttp import web
import pytest_asyncio

from .app import Simulator
from .state import SimState


@dataclass
class RunningSimulator:
    """A simulator serving on loopback, with its state for direct scripting."""

    sim: Simulator
    origin: str  # http://127.0.0.1:PORT

    @property
    def state(self) -> SimState:
        return self.sim.state

    @property
    def config(self) -> dict[str, dict[str, str]]:
        """Per provider: `base_url` and working credentials."""
        return self.sim.config(self.origin)


async def start_simulator(state: SimState) -> tuple[RunningSimulator, web.AppRunner]:
    sim = Simulator(state)
    # Handlers held by a HANG fault end when their client gives up, not after a minute.
    runner = web.AppRunner(
        sim.build_app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.5
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return RunningSimulator(sim, f"http://127.0.0.1:{port}"), runner


@pytest_asyncio.fixture
async def pbx_simulator(socket_enabled: None) -> AsyncGenerator[RunningSimulator]:
    """A fresh simulator (seed 1: 5 agents, 2 queues, 6 lines, 1 trunk), stopped afterwards."""
    running, runner = await start_simulator(SimState(seed=1))
    try:
        yield running
    finally:
        await runner.cleanup()
