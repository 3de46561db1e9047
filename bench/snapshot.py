"""Snapshot cost per provider, against the simulator over loopback.

For each provider and account size: requests per `async_fetch_snapshot` (must not grow with
the size; catch-up reads, such as Telfa's login learning, are counted apart and must stay
within their bound), median and p95 wall time, and the client's memory for one snapshot. At the
largest size, each endpoint the snapshot used is replayed raw to time the simulator itself
(target: a median of at most `--endpoint-ms`, 5 ms by default).

The simulator runs in a child process, so the client's memory and time are its own.
Exits 1 when a target is missed.

    .venv/bin/python bench/snapshot.py [--quick] [--sizes 10,500,2000] [--providers telfa,…]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
import gc
import math
import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path
import statistics
import sys
import time
import tracemalloc
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

# Run as `python bench/snapshot.py`: the repository root holds `custom_components`.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "simulator")]

from custom_components.pbx_bridge.api import PROVIDERS, PbxClient, client_class  # noqa: E402
from custom_components.pbx_bridge.api.models import Snapshot  # noqa: E402
from custom_components.pbx_bridge.api.providers.telfa import (  # noqa: E402
    LOGINS_LEARNED_PER_POLL,
)
from pbx_simulator.app import LoggedRequest, Simulator  # noqa: E402
from pbx_simulator.providers.voipsun import VoipsunSim  # noqa: E402
from pbx_simulator.providers.yemot import YemotSim  # noqa: E402
from pbx_simulator.state import SimState  # noqa: E402
from pbx_simulator.testing import RunningSimulator  # noqa: E402

SIZES = (10, 500, 2000)
QUICK_SIZES = (10, 2000)
ROUNDS = 20
QUICK_ROUNDS = 5
ENDPOINT_ROUNDS = 30
QUICK_ENDPOINT_ROUNDS = 10
ENDPOINT_TARGET_MS = 5.0
BULK_SIZE = 2000  # "thousands of agents/queues/lines": endpoint latency is judged from here
# Providers that cost one request per queue: their accounts keep a few queues at every size.
PER_QUEUE = frozenset({"telfa", "yemot", "voipsun"})
FEW_QUEUES = 4
# Reads a provider adds to a snapshot, a bounded number at a time, until it has caught up
# with the account (Telfa learns a few users' logins a poll): a small account is done
# before the measured snapshot, a big one is not, so they are counted apart and judged by
# their bound: endpoint -> at most this many a snapshot.
CATCH_UP = {"telfa": ("GET /telfa_users/user_by_id", LOGINS_LEARNED_PER_POLL)}
TRUNKS = 2
# Request headers a replay leaves to aiohttp.
TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept", "accept-encoding", "user-agent"}
)


@dataclass(frozen=True)
class Shape:
    """An account's size as the simulator builds it."""

    agents: int
    queues: int
    lines: int
    calls: int

    @classmethod
    def for_provider(cls, provider: str, size: int) -> Shape:
        queues = FEW_QUEUES if provider in PER_QUEUE else max(2, size // 100)
        return cls(agents=size, queues=queues, lines=size, calls=size // 10)


@dataclass(frozen=True)
class SimulatorInfo:
    """What the child process tells the benchmark about the simulator it started."""

    config: dict[str, dict[str, str]]
    options: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Taken:
    """What the simulator saw of one provider since it was last asked."""

    count: int  # `Simulator.count(provider)`
    requests: list[LoggedRequest]
    handler_ms: list[float]  # time inside the simulator's handlers, every provider


@dataclass
class EndpointResult:
    provider: str
    endpoint: str
    size_bytes: int
    median_ms: float
    p95_ms: float
    handler_ms: float  # the median time inside the simulator


@dataclass
class Result:
    provider: str
    size: int
    shape: Shape
    requests: int  # without the catch-up reads
    median_ms: float
    p95_ms: float
    peak_kib: float
    retained_kib: float
    objects: str
    endpoints: list[EndpointResult] = field(default_factory=list)
    catch_up: int = 0  # `CATCH_UP` reads in the measured snapshot


# --- the simulator, in a child process --------------------------------------------------


def add_calls(state: SimState, count: int) -> None:
    """Active calls of every kind: queued, ringing at an agent, answered; and missed ones."""
    queues = list(state.queues.values())
    agents = list(state.agents.values())
    for index in range(count):
        caller = f"+420601{index:06d}"
        if index % 3 == 0 and queues:
            state.incoming_call(caller, queue_id=queues[index % len(queues)].id)
            continue
        call = state.incoming_call(caller, agent_id=agents[index % len(agents)].id)
        if index % 3 == 1:
            state.answer(call.id)
        elif index % 6 == 5:
            state.hangup(call.id, "no_answer")


def client_options(running: RunningSimulator) -> dict[str, dict[str, Any]]:
    """Options the integration's users would set: Yemot's queue paths, VoIPSUN's queue
    names and PINs (neither API lists its queues)."""
    state = running.state
    yemot = running.sim.providers["yemot"]
    assert isinstance(yemot, YemotSim)
    return {
        "yemot": {"queue_paths": [yemot.queue_path(queue) for queue in state.queues.values()]},
        "voipsun": {
            "queue_names": [queue.name for queue in state.queues.values()],
            "agent_pins": {
                VoipsunSim.agent_number(agent): agent.pin for agent in state.agents.values()
            },
        },
    }


def serve_simulator(conn: Connection, shape: Shape) -> None:
    """Child process: run a simulator of `shape` until told to stop."""
    asyncio.run(_serve_simulator(conn, shape))


async def _serve_simulator(conn: Connection, shape: Shape) -> None:
    state = SimState(
        seed=1, agents=shape.agents, queues=shape.queues, lines=shape.lines, trunks=TRUNKS
    )
    add_calls(state, shape.calls)
    handler_ms: list[float] = []

    @web.middleware
    async def time_handlers(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        try:
            return await handler(request)
        finally:
            handler_ms.append((time.perf_counter() - start) * 1000)

    # As `pbx_simulator.testing.start_simulator`, with the handlers timed.
    sim = Simulator(state)
    app = sim.build_app()
    app.middlewares.insert(0, time_handlers)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    running = RunningSimulator(sim, f"http://127.0.0.1:{runner.addresses[0][1]}")
    conn.send(SimulatorInfo(running.config, client_options(running)))
    loop = asyncio.get_running_loop()
    try:
        # Each command names a provider: answer what the simulator saw, then forget it.
        while (provider := await loop.run_in_executor(None, conn.recv)) is not None:
            conn.send(Taken(sim.count(provider), sim.requests_for(provider), list(handler_ms)))
            sim.requests.clear()
            sim.counters.clear()
            handler_ms.clear()
    finally:
        await runner.cleanup()


class SimulatorProcess:
    """A simulator child process and the pipe to it."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=serve_simulator, args=(child_conn, shape), daemon=True
        )
        self._process.start()
        child_conn.close()
        self.info: SimulatorInfo = self._conn.recv()

    def _ask(self, provider: str) -> Taken:
        self._conn.send(provider)
        taken: Taken = self._conn.recv()
        return taken

    async def take(self, provider: str) -> Taken:
        """What the simulator saw since the last call (and forget it)."""
        return await asyncio.get_running_loop().run_in_executor(None, self._ask, provider)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


@contextlib.contextmanager
def simulator_process(shape: Shape) -> Iterator[SimulatorProcess]:
    process = SimulatorProcess(shape)
    try:
        yield process
    finally:
        process.stop()


# --- measuring ---------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def timed(action: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    """Wall time of each of `rounds` awaited calls, in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def describe(snapshot: Snapshot) -> str:
    return (
        f"{len(snapshot.agents)}/{len(snapshot.queues)}/"
        f"{len(snapshot.registrations)}/{len(snapshot.calls)}"
    )


async def snapshot_memory(client: PbxClient) -> tuple[float, float, Snapshot]:
    """Peak traced memory during one snapshot and what stays allocated after it, in KiB."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        snapshot = await client.async_fetch_snapshot()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - before) / 1024, (current - before) / 1024, snapshot


async def replay(
    session: aiohttp.ClientSession,
    simulator: SimulatorProcess,
    request: LoggedRequest,
    rounds: int,
) -> EndpointResult:
    """Send one logged request again, raw, `rounds` times: the simulator's own latency."""
    url = f"{origin_of(simulator.info.config)}/{request.provider}{request.path}"
    headers = {k: v for k, v in request.headers.items() if k.lower() not in TRANSPORT_HEADERS}
    body = request.body.encode() if request.body else None
    size = 0

    async def send() -> None:
        nonlocal size
        async with session.request(
            request.method, url, params=request.query, headers=headers, data=body
        ) as response:
            payload = await response.read()
            if response.status >= 400:
                raise RuntimeError(f"{request.endpoint} answered HTTP {response.status}")
            size = len(payload)

    await send()  # warm-up
    await simulator.take(request.provider)
    times = await timed(send, rounds)
    taken = await simulator.take(request.provider)
    return EndpointResult(
        request.provider,
        request.endpoint,
        size,
        statistics.median(times),
        percentile(times, 0.95),
        statistics.median(taken.handler_ms),
    )


def origin_of(config: dict[str, dict[str, str]]) -> str:
    """http://127.0.0.1:PORT, from any provider's base URL."""
    base_url = next(iter(config.values()))["base_url"]
    scheme, _, rest = base_url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


async def bench_provider(
    session: aiohttp.ClientSession,
    simulator: SimulatorProcess,
    provider: str,
    size: int,
    args: argparse.Namespace,
) -> Result:
    info = simulator.info
    client = client_class(provider)(
        session, info.config[provider], options=info.options.get(provider)
    )
    await client.async_fetch_snapshot()  # the first snapshot may read the account once
    await simulator.take(provider)
    await client.async_fetch_snapshot()
    taken = await simulator.take(provider)
    catch_up_endpoint, _ = CATCH_UP.get(provider, ("", 0))
    catch_up = sum(request.endpoint == catch_up_endpoint for request in taken.requests)
    times = await timed(client.async_fetch_snapshot, args.rounds)
    peak, retained, snapshot = await snapshot_memory(client)
    result = Result(
        provider,
        size,
        simulator.shape,
        taken.count - catch_up,
        statistics.median(times),
        percentile(times, 0.95),
        peak,
        retained,
        describe(snapshot),
        catch_up=catch_up,
    )
    if size >= args.endpoint_size:
        seen: dict[str, LoggedRequest] = {}
        for request in taken.requests:
            seen.setdefault(request.endpoint, request)
        result.endpoints = [
            await replay(session, simulator, request, args.endpoint_rounds)
            for request in seen.values()
        ]
    await simulator.take(provider)  # leave the log empty
    return result


async def run(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    async with aiohttp.ClientSession() as session:
        for size in args.sizes:
            shapes: dict[Shape, list[str]] = {}
            for provider in args.providers:
                shapes.setdefault(Shape.for_provider(provider, size), []).append(provider)
            for shape, providers in shapes.items():
                with simulator_process(shape) as simulator:
                    for provider in providers:
                        result = await bench_provider(session, simulator, provider, size, args)
                        results.append(result)
                        print(row(result), flush=True)
    return results


# --- report ---------------------------------------------------------------------------------

HEADER = (
    f"{'provider':<8} {'size':>5} {'queues':>6} {'calls':>5} {'req':>6} {'median ms':>9} "
    f"{'p95 ms':>8} {'peak KiB':>9} {'kept KiB':>9}  agents/queues/regs/calls"
)


def row(result: Result) -> str:
    return (
        f"{result.provider:<8} {result.size:>5} {result.shape.queues:>6} "
        f"{result.shape.calls:>5} {requests_shown(result):>6} {result.median_ms:>9.1f} "
        f"{result.p95_ms:>8.1f} {result.peak_kib:>9.0f} {result.retained_kib:>9.0f}  "
        f"{result.objects}"
    )


def requests_shown(result: Result) -> str:
    """`6`, or `6+10` with catch-up reads."""
    return f"{result.requests}+{result.catch_up}" if result.catch_up else str(result.requests)


def check_requests(results: list[Result]) -> list[str]:
    """Requests per snapshot by size; a provider whose count grows, or whose catch-up
    reads exceed their bound, misses the target."""
    failures: list[str] = []
    print("\nrequests per snapshot (must not grow with the account; +catch-up reads)")
    for provider in dict.fromkeys(r.provider for r in results):
        ours = [r for r in results if r.provider == provider]
        counts = [r.requests for r in ours]
        grows = any(count > counts[0] for count in counts)
        endpoint, bound = CATCH_UP.get(provider, ("", 0))
        over = any(r.catch_up > bound for r in ours)
        note = f"+1 per queue, {FEW_QUEUES} queues" if provider in PER_QUEUE else "bulk"
        if endpoint:
            note += f"; catch-up: at most {bound} {endpoint}"
        shown = ", ".join(f"{r.size}: {requests_shown(r)}" for r in ours)
        verdict = "GROWS" if grows else "OVER BOUND" if over else "ok"
        print(f"  {provider:<8} {shown:<30} ({note}) {verdict}")
        if grows:
            failures.append(f"{provider}: requests per snapshot grow ({shown})")
        if over:
            failures.append(f"{provider}: catch-up reads over {bound} a snapshot ({shown})")
    return failures


def check_endpoints(results: list[Result], target_ms: float) -> list[str]:
    failures: list[str] = []
    endpoints = [e for r in results for e in r.endpoints]
    if not endpoints:
        return failures
    sizes = sorted({r.size for r in results if r.endpoints})
    print(
        f"\nsimulator endpoints, raw round trip at size {sizes[-1]} (target: median <= "
        f"{target_ms:g} ms)"
    )
    print(
        f"  {'provider':<8} {'endpoint':<34} {'bytes':>9} {'median ms':>9} {'p95 ms':>8} "
        f"{'handler ms':>10}"
    )
    for e in endpoints:
        slow = e.median_ms > target_ms
        print(
            f"  {e.provider:<8} {e.endpoint:<34} {e.size_bytes:>9} {e.median_ms:>9.2f} "
            f"{e.p95_ms:>8.2f} {e.handler_ms:>10.2f}{'  SLOW' if slow else ''}"
        )
        if slow:
            failures.append(
                f"{e.provider} {e.endpoint}: median {e.median_ms:.2f} ms > {target_ms:g} ms"
            )
    return failures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two sizes, few rounds")
    parser.add_argument("--sizes", help="agents (= lines) per account, comma separated")
    parser.add_argument("--providers", help="comma separated (default: all)")
    parser.add_argument("--rounds", type=int, help="timed snapshots per size")
    parser.add_argument(
        "--endpoint-ms", type=float, default=ENDPOINT_TARGET_MS, help="endpoint median target"
    )
    args = parser.parse_args(argv)
    default_sizes = QUICK_SIZES if args.quick else SIZES
    args.sizes = sorted(int(s) for s in args.sizes.split(",")) if args.sizes else default_sizes
    args.providers = args.providers.split(",") if args.providers else list(PROVIDERS)
    unknown = set(args.providers) - set(PROVIDERS)
    if unknown:
        parser.error(f"unknown providers: {', '.join(sorted(unknown))}")
    args.rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    args.endpoint_rounds = QUICK_ENDPOINT_ROUNDS if args.quick else ENDPOINT_ROUNDS
    # Endpoints are timed at the largest size, and judged only from BULK_SIZE objects on.
    args.endpoint_size = max(args.sizes)
    args.judge_endpoints = args.endpoint_size >= BULK_SIZE
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(HEADER)
    results = asyncio.run(run(args))
    failures = check_requests(results)
    endpoint_failures = check_endpoints(results, args.endpoint_ms)
    if args.judge_endpoints:
        failures += endpoint_failures
    else:
        print(f"  (not judged: the target applies from {BULK_SIZE} objects)")
    if failures:
        print("\nMISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
