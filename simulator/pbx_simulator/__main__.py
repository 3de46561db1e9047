"""Run the simulator: `python -m pbx_simulator --port 8300`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import sys

from aiohttp import web

from .app import Simulator
from .providers.daktela import DaktelaSim
from .state import SimState


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pbx_simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--queues", type=int, default=2)
    parser.add_argument("--lines", type=int, default=6)
    parser.add_argument(
        "--activity",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="generate calls and agent changes every SECONDS (0: off)",
    )
    parser.add_argument(
        "--daktela-version",
        default="4.1",
        metavar="VERSION",
        help="the legacy API version Daktela serves (3.9: a 3.x server without 4.x actions)",
    )
    parser.add_argument(
        "--yemot-without-sip",
        action="store_true",
        help="answer Yemot's SIP commands as a server without SIP does",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print each provider's base URL and credentials as JSON and exit",
    )
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("the simulator listens on loopback addresses only")
    return args


async def _serve(sim: Simulator, args: argparse.Namespace) -> None:
    runner = web.AppRunner(
        sim.build_app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
    )
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    print(f"pbx_simulator listening on http://{args.host}:{args.port}", flush=True)
    try:
        if args.activity > 0:
            await sim.state.run_activity(args.activity)
        else:
            await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    state = SimState(seed=args.seed, agents=args.agents, queues=args.queues, lines=args.lines)
    sim = Simulator(state)
    daktela = sim.providers["daktela"]
    if isinstance(daktela, DaktelaSim):
        daktela.set_max_version(args.daktela_version)
    if args.yemot_without_sip:
        from .providers.yemot import YemotSim

        if isinstance(yemot := sim.providers["yemot"], YemotSim):
            yemot.sip_supported = False
    if args.print_config:
        print(json.dumps(sim.config(f"http://{args.host}:{args.port}"), indent=2))
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(sim, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
