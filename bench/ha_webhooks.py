"""Webhook to entity state in a real Home Assistant, against a reference handler.

Starts the simulator (in this process, so its request counters can be read), a real Home
Assistant with a temporary configuration (as `scripts/develop` does) holding PBX Bridge
and `bench/ha_probe` (a reference webhook that reads the body and fires one bus event,
plus timing views), and drives both webhooks with the same load from a separate process:
Telfa XML `ring_hook`s and Daktela dialplan GETs, each with a new call id, half naming a
known agent and half an unknown one. Everything listens on 127.0.0.1 and stops by itself.

Run: `.venv/bin/python bench/ha_webhooks.py` (`--quick` for a short run). See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import itertools
import multiprocessing
from pathlib import Path
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "simulator")]

from pbx_simulator.app import Simulator  # noqa: E402
from pbx_simulator.state import SimState  # noqa: E402

PROVIDERS = ("telfa", "daktela")
KNOWN_SHARE = 20  # agents that hooks name, and as many unknown names
# Targets (issue 15).
MIN_RATIO = 0.8
MAX_P99_MS = 100.0
MAX_SETUP_S = 3.0
MAX_HOLD_MS = 100.0
MAX_GROWTH_MIB = 20.0
POLL_SECONDS = 5.0  # the poll interval during the latency phase


# --- requests -------------------------------------------------------------------------


@dataclass(frozen=True)
class HookKit:
    """What the load generator needs to make one provider's hooks."""

    provider: str
    known: tuple[str, ...]  # how hooks name known agents (Telfa logins, Daktela lines)
    unknown: tuple[str, ...]


def hook_request(kit: HookKit, number: int) -> tuple[str, str, bytes]:
    """(method, query, body) of hook `number`: a new call, caller `+420 6xx` + number."""
    names = kit.known if number % 2 else kit.unknown
    name = names[number % len(names)]
    caller = f"6{number:08d}"
    if kit.provider == "telfa":
        body = (
            "<call><hook_type>ring_hook</hook_type>"
            f"<id>{number + 1}</id><caller_number>{caller}</caller_number>"
            "<dialed_number>245008328</dialed_number>"
            "<start>2026-12-01T10:00:00+01:00</start>"
            "<ring_start_at>2026-12-01T10:00:01+01:00</ring_start_at>"
            f"<transferred_to>{name}</transferred_to></call>"
        )
        return "POST", "", body.encode()
    query = (
        f"callerId={caller}&calleeId=245008328&line={name}&idcall=1700000000.{number}"
        "&action=ringing"
    )
    return "GET", query, b""


def caller_of(number: int) -> str:
    return f"+4206{number:08d}"


# --- the load generator (its own process) ---------------------------------------------


async def _send(session: aiohttp.ClientSession, url: str, kit: HookKit, number: int) -> bool:
    """Send hook `number`; whether it was answered 200."""
    method, query, body = hook_request(kit, number)
    async with session.request(
        method, f"{url}?{query}" if query else url, data=body or None
    ) as response:
        await response.read()
        return response.status == 200


async def _throughput(
    url: str, kit: HookKit, seconds: float, start: int, workers: int, *, keep_alive: bool
) -> dict[str, Any]:
    numbers = itertools.count(start)
    done = errors = 0
    deadline = time.perf_counter() + seconds
    # A provider's hook usually comes on a connection of its own; kept-alive connections
    # leave out the cost of accepting one, which is the same for ours and the reference.
    connector = aiohttp.TCPConnector(limit=workers, force_close=not keep_alive)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < deadline:
                errors += not await _send(session, url, kit, next(numbers))
                done += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - began
    return {"per_second": done / elapsed, "errors": errors, "next": next(numbers)}


async def _count(url: str, kit: HookKit, count: int, start: int, workers: int) -> dict[str, Any]:
    numbers = iter(range(start, start + count))
    errors = 0
    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            for number in numbers:
                errors += not await _send(session, url, kit, number)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - began
    return {"per_second": count / elapsed, "errors": errors}


async def _paced(url: str, kit: HookKit, rate: float, seconds: float, start: int) -> dict[str, Any]:
    """Hooks at `rate` a second; the send time of each caller (known agents only)."""
    sent: dict[str, float] = {}
    tasks: set[asyncio.Task[None]] = set()
    errors = 0
    async with aiohttp.ClientSession() as session:

        async def send(number: int) -> None:
            nonlocal errors
            sent[caller_of(number)] = time.time()
            errors += not await _send(session, url, kit, number)

        began = time.perf_counter()
        for index in range(int(rate * seconds)):
            delay = began + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(send(start + index))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return {"sent": sent, "errors": errors}


def load_process(job: dict[str, Any], results: Any) -> None:
    kit = HookKit(job["provider"], tuple(job["known"]), tuple(job["unknown"]))
    match job["mode"]:
        case "throughput":
            coro = _throughput(
                job["url"],
                kit,
                job["seconds"],
                job["start"],
                job["workers"],
                keep_alive=job["keep_alive"],
            )
        case "count":
            coro = _count(job["url"], kit, job["count"], job["start"], job["workers"])
        case _:
            coro = _paced(job["url"], kit, job["rate"], job["seconds"], job["start"])
    results.send(asyncio.run(coro))


def run_load(job: dict[str, Any]) -> dict[str, Any]:
    """Run one load job in a fresh process and return what it measured."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=load_process, args=(job, sender))
    process.start()
    sender.close()  # a load process that dies ends `recv` with EOFError, not a hang
    try:
        result: dict[str, Any] = receiver.recv()
    finally:
        process.join()
    return result


# --- Home Assistant --------------------------------------------------------------------


@contextlib.contextmanager
def home_assistant(port: int) -> Iterator[str]:
    """A Home Assistant with PBX Bridge and the probe, on a temporary configuration."""
    config = Path(tempfile.mkdtemp(prefix="pbx_bench_"))
    components = config / "custom_components"
    components.mkdir()
    (components / "pbx_bridge").symlink_to(ROOT / "custom_components" / "pbx_bridge")
    (components / "ha_probe").symlink_to(ROOT / "bench" / "ha_probe")
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: bench\n  time_zone: UTC\n  unit_system: metric\n"
        "  latitude: 50.08\n  longitude: 14.42\n  elevation: 200\n  country: CZ\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
        "webhook:\nha_probe:\nlogger:\n  default: warning\n"
    )
    log = (config / "stdout.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "homeassistant", "--config", str(config), "--skip-pip"],
        # Not from the repository: its own `custom_components` would shadow the config's.
        cwd=config,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield str(config)
    except BaseException:
        log.flush()
        lines = (config / "home-assistant.log").read_text(errors="replace").splitlines()
        print("\n".join(line for line in lines if "probe" in line or "pbx" in line)[-4000:])
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(config, ignore_errors=True)


async def wait_for(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"Home Assistant did not answer at {url}")


# --- the benchmark ---------------------------------------------------------------------


@dataclass
class Account:
    provider: str
    size: int
    sim: Simulator
    entry_id: str
    unique_id: str
    webhook_id: str
    kit: HookKit
    setup: dict[str, Any]
    # Endpoints the account's setup and first poll read: what a poll reads.
    polled: frozenset[str]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ha = f"http://127.0.0.1:{args.ha_port}"
        self.session: aiohttp.ClientSession
        self.failures: list[str] = []

    def check(self, ok: bool, what: str) -> str:
        if not ok:
            self.failures.append(what)
        return "ok" if ok else "MISSED"

    async def add_account(self, provider: str, size: int, sim: Simulator, origin: str) -> Account:
        unique_id = f"{provider}_bench_{size}"
        webhook_id = f"bench-{provider}-{size}"
        data = {"provider": provider, **sim.config(origin)[provider], "webhook_id": webhook_id}
        async with self.session.post(
            f"{self.ha}/api/ha_probe/entry",
            json={
                "data": data,
                "title": f"{provider} {size}",
                "unique_id": unique_id,
                "poll_seconds": POLL_SECONDS,
                "profile": self.args.profile and f"{self.args.profile}.{provider}.{size}",
            },
        ) as response:
            setup = await response.json()
        if "error" in setup:
            raise RuntimeError(f"{provider} {size}: {setup['error']}")
        agents = list(sim.state.agents.values())[:KNOWN_SHARE]
        if provider == "telfa":
            telfa = sim.providers["telfa"]
            known = tuple(telfa.login_of(agent) for agent in agents)  # type: ignore[attr-defined]
            unknown = tuple(f"gone{n}.demo.telfa.cz" for n in range(KNOWN_SHARE))
        else:
            known = tuple(agent.extension for agent in agents)
            unknown = tuple(f"9{n:03d}" for n in range(KNOWN_SHARE))
        polled = frozenset(endpoint for (p, endpoint) in sim.counters if p == provider)
        return Account(
            provider, size, sim, setup["entry_id"], unique_id, webhook_id,
            HookKit(provider, known, unknown), setup, polled,
        )  # fmt: skip

    def job(self, account: Account, url: str, **job: Any) -> dict[str, Any]:
        return {
            "provider": account.provider,
            "known": account.kit.known,
            "unknown": account.kit.unknown,
            "url": url,
            **job,
        }

    async def throughput(
        self, account: Account, start: int, *, keep_alive: bool
    ) -> tuple[float, float, int, dict[str, int]]:
        """Median req/s of ours and of the reference over alternating rounds, and the full
        collections that ran during each side's rounds."""
        ours_url = f"{self.ha}/api/webhook/{account.webhook_id}"
        reference_url = f"{self.ha}/api/webhook/bench-reference"
        ours: list[float] = []
        reference: list[float] = []
        collections = {ours_url: 0, reference_url: 0}
        for round_number in range(self.args.rounds):
            for url, into in ((ours_url, ours), (reference_url, reference)):
                collections_before = await self.full_collections()
                profiled = self.args.profile and round_number == 0 and url == ours_url
                if profiled:
                    await self.profile(None)
                result = await asyncio.to_thread(
                    run_load,
                    self.job(account, url, mode="throughput", seconds=self.args.seconds,
                             start=start, workers=self.args.workers, keep_alive=keep_alive),
                )  # fmt: skip
                if profiled:
                    connections = "kept" if keep_alive else "new"
                    await self.profile(
                        f"{self.args.profile}.hooks.{connections}.{account.provider}.{account.size}"
                    )
                start = result["next"]
                into.append(result["per_second"])
                collections[url] += await self.full_collections() - collections_before
                if result["errors"]:
                    self.failures.append(f"{account.provider} {account.size}: errors")
        return (
            statistics.median(ours),
            statistics.median(reference),
            start,
            {"ours": collections[ours_url], "reference": collections[reference_url]},
        )

    async def full_collections(self) -> int:
        """How many of Python's full collections Home Assistant has run so far."""
        async with self.session.get(f"{self.ha}/api/ha_probe/collections") as response:
            return int((await response.json())["count"])

    async def latency(self, account: Account, start: int) -> dict[str, float]:
        """p50/p99 from sending a hook to the last caller sensor's new state, at a rate."""
        async with self.session.post(
            f"{self.ha}/api/ha_probe/watch",
            json={"domain": "sensor", "unique_id": f"{account.unique_id}_last_caller"},
        ) as response:
            assert response.status == 200, await response.text()
        polls_before = self.poll_count(account)
        began = time.monotonic()
        result = await asyncio.to_thread(
            run_load,
            self.job(account, f"{self.ha}/api/webhook/{account.webhook_id}", mode="paced",
                     rate=self.args.rate, seconds=self.args.latency_seconds, start=start),
        )  # fmt: skip
        elapsed = time.monotonic() - began
        await asyncio.sleep(0.5)
        async with self.session.get(f"{self.ha}/api/ha_probe/results") as response:
            records = await response.json()
        seen = dict(records)
        sent: dict[str, float] = result["sent"]
        delays = [(seen[caller] - at) * 1000 for caller, at in sent.items() if caller in seen]
        return {
            "p50": percentile(delays, 0.5) if delays else float("nan"),
            "p99": percentile(delays, 0.99) if delays else float("nan"),
            "seen": len(delays) / max(1, len(sent)),
            "polls": self.poll_count(account) - polls_before,
            "intervals": elapsed / POLL_SECONDS,
        }

    async def profile(self, path: str | None) -> None:
        """Start profiling Home Assistant (None), or stop and write the profile to `path`."""
        async with self.session.post(f"{self.ha}/api/ha_probe/profile", json={"path": path}):
            pass

    def poll_count(self, account: Account) -> int:
        endpoint = "GET /telfa_users/status" if account.provider == "telfa" else "RTUsersState"
        return account.sim.counters[(account.provider, endpoint)]

    def hook_caused(self, account: Account) -> int:
        """Requests to endpoints no poll reads: only webhooks cause them (as Telfa's login
        lookup `GET /telfa_users/user_by_login` did). The polls' own reads, Telfa's user
        details that teach logins among them, are not counted."""
        return sum(
            count
            for (provider, endpoint), count in account.sim.counters.items()
            if provider == account.provider and endpoint not in account.polled
        )

    async def memory(self, account: Account, start: int) -> tuple[float, int]:
        """Resident memory growth (MiB) over `--memory-calls` unique call ids."""
        url = f"{self.ha}/api/webhook/{account.webhook_id}"
        warm = self.args.memory_calls // 10
        await asyncio.to_thread(
            run_load, self.job(account, url, mode="count", count=warm, start=start,
                               workers=self.args.workers),
        )  # fmt: skip
        before = await self.rss_kib()
        await asyncio.to_thread(
            run_load, self.job(account, url, mode="count", count=self.args.memory_calls,
                               start=start + warm, workers=self.args.workers),
        )  # fmt: skip
        return (await self.rss_kib() - before) / 1024, start + warm + self.args.memory_calls

    async def rss_kib(self) -> int:
        async with self.session.get(f"{self.ha}/api/ha_probe/memory") as response:
            return int((await response.json())["rss_kib"])

    async def run(self) -> int:
        sizes = [int(size) for size in self.args.sizes.split(",")]
        runners: list[web.AppRunner] = []
        sims: dict[int, tuple[Simulator, str]] = {}
        for index, size in enumerate(sizes):
            sim = Simulator(SimState(seed=1, agents=size, queues=4, lines=size))
            runner = web.AppRunner(sim.build_app(), access_log=None)
            await runner.setup()
            port = self.args.sim_port + index
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)
            sims[size] = (sim, f"http://127.0.0.1:{port}")
        try:
            with home_assistant(self.args.ha_port):
                await wait_for(f"{self.ha}/api/ha_probe/memory")
                async with aiohttp.ClientSession() as self.session:
                    return await self.measure(sizes, sims)
        finally:
            for runner in runners:
                await runner.cleanup()

    async def measure(self, sizes: list[int], sims: dict[int, tuple[Simulator, str]]) -> int:
        print("setup (adding an entry while the others run):")
        print(
            f"{'provider':9} {'size':>5} {'setup s':>8} {'hold ms':>8} {'own ms':>7} "
            f"{'full gc':>9} {'heap gc ms':>11} {'objects k':>10} {'entities':>9} {'enabled':>8}"
        )
        accounts: list[Account] = []
        for size in sizes:
            for provider in self.args.providers.split(","):
                sim, origin = sims[size]
                account = await self.add_account(provider, size, sim, origin)
                setup = account.setup
                print(
                    f"{provider:9} {size:>5} {setup['setup_s']:>8.2f} "
                    f"{setup['longest_hold_ms']:>8.1f} {setup['longest_own_hold_ms']:>7.1f} "
                    f"{setup['full_collections']:>2} x {setup['longest_collection_ms']:>4.0f} "
                    f"{setup['gc_before_ms']:>4.0f} > {setup['gc_after_ms']:<4.0f} "
                    f"{setup['objects_before'] // 1000:>4} > {setup['objects_after'] // 1000:<4}"
                    f"{setup['entities']:>9} "
                    f"{setup['enabled_entities']:>8}  "
                    + self.check(setup["setup_s"] < MAX_SETUP_S, f"{provider} {size} setup time")
                    + " "
                    + self.check(setup["longest_hold_ms"] < MAX_HOLD_MS, f"{provider} {size} hold")
                )
                accounts.append(account)
        print()
        print("webhooks (ours vs the reference handler, same load, same process):")
        print(
            f"{'provider':9} {'size':>5} {'ours/s':>8} {'ref/s':>8} {'ratio':>6} "
            f"{'ka ours':>8} {'ka ref':>8} {'ka rat':>6} "
            f"{'gc o/r':>6} {'p50 ms':>7} {'p99 ms':>7} {'seen':>5} {'polls':>6} {'lookups':>8}"
        )
        start = 0
        for account in accounts:
            lookups_before = self.hook_caused(account)
            ours, reference, start, collections = await self.throughput(
                account, start, keep_alive=False
            )
            kept_ours, kept_reference, start, _ = await self.throughput(
                account, start, keep_alive=True
            )
            timing = await self.latency(account, start)
            start += int(self.args.rate * self.args.latency_seconds)
            ratio = ours / reference
            lookups = self.hook_caused(account) - lookups_before
            judged_ratio = account.size >= max(sizes)
            polls_ok = timing["polls"] >= int(timing["intervals"])
            print(
                f"{account.provider:9} {account.size:>5} {ours:>8.0f} {reference:>8.0f} "
                f"{ratio:>6.2f} {kept_ours:>8.0f} {kept_reference:>8.0f} "
                f"{kept_ours / kept_reference:>6.2f} "
                f"{collections['ours']:>3}/{collections['reference']:<2} "
                f"{timing['p50']:>7.1f} {timing['p99']:>7.1f} "
                f"{timing['seen']:>5.0%} {timing['polls']:>3}/{timing['intervals']:<3.0f}"
                f"{lookups:>7}  "
                + (self.check(ratio >= MIN_RATIO, f"{account.provider} ratio") + " "
                   if judged_ratio else "")
                + self.check(timing["p99"] <= MAX_P99_MS, f"{account.provider} p99") + " "
                + self.check(polls_ok, f"{account.provider} polls") + " "
                + self.check(lookups == 0, f"{account.provider} webhook-caused requests")
            )  # fmt: skip
        if self.args.memory_calls:
            account = next(a for a in reversed(accounts) if a.provider == accounts[0].provider)
            growth, start = await self.memory(account, start)
            print()
            print(
                f"memory: {growth:+.1f} MiB after {self.args.memory_calls:,} unique call ids "
                f"({account.provider}, {account.size} agents)  "
                + self.check(growth < MAX_GROWTH_MIB, "memory growth")
            )
        print()
        print(
            "lookups: provider requests the webhooks caused (target 0: hooks resolve Telfa "
            "logins from what the polls learned, Daktela lines from the last poll)"
        )
        if self.failures:
            print("missed:", ", ".join(self.failures))
            return 1
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,1000")
    parser.add_argument("--providers", default=",".join(PROVIDERS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="per throughput round")
    parser.add_argument("--workers", type=int, default=16, help="concurrent connections")
    parser.add_argument("--rate", type=float, default=200.0, help="hooks/s for the latency")
    parser.add_argument("--latency-seconds", type=float, default=12.0)
    parser.add_argument("--memory-calls", type=int, default=200_000)
    parser.add_argument("--ha-port", type=int, default=18210)
    parser.add_argument("--sim-port", type=int, default=18220)
    parser.add_argument(
        "--profile",
        help="profile each setup (PROFILE.<p>.<n>) and a round of hooks (PROFILE.hooks.*)",
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s, 20,000 ids")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.latency_seconds = 2, 2.0, 6.0
        args.memory_calls = 20_000
    return asyncio.run(Bench(args).run())


if __name__ == "__main__":
    sys.exit(main())
