"""Webhook parsing: documented hooks per second, hostile bodies refused fast and small.

Telfa: the documented call hooks (XML POST, tests/fixtures/telfa/*_hook.xml) and the JSON
sms_hook; Daktela: the dialplan hooks of tests/fixtures/daktela/dialplan_hooks.txt and the
SMS callback (GET queries). Hostile bodies are timed at the webhook's size limit and at
1 MiB (`parse_webhook` is a library function and may see any size); entity-expansion XML
must be refused at once. Exits 1 when a target is missed.

    .venv/bin/python bench/webhook_parse.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
import statistics
import sys
import time
import tracemalloc
from urllib.parse import parse_qsl, urlsplit

import aiohttp

# Run as `python bench/webhook_parse.py`: the repository root holds `custom_components`.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.pbx_bridge.api.client import PbxClient  # noqa: E402
from custom_components.pbx_bridge.api.errors import PbxInvalidInput  # noqa: E402
from custom_components.pbx_bridge.api.models import WebhookRequest  # noqa: E402
from custom_components.pbx_bridge.api.providers.daktela import DaktelaClient  # noqa: E402
from custom_components.pbx_bridge.api.providers.telfa import TelfaClient  # noqa: E402
from custom_components.pbx_bridge.webhook import MAX_BODY_BYTES  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
LARGE_BYTES = 1024 * 1024

# Targets. The event loop runs the parser: asyncio calls a step slow from 100 ms.
MIN_PARSES_PER_SECOND = 5_000  # each documented hook: at most 0.2 ms a parse
REFUSE_MS = {MAX_BODY_BYTES: 20.0, LARGE_BYTES: 100.0}  # a hostile body, by its size
MAX_AMPLIFICATION = 128  # peak traced memory while refusing, per byte of body
ENTITY_MS = 1.0  # entity-expansion XML is refused before anything expands
ENTITY_PEAK_KIB = 1024

SECONDS = 1.0
QUICK_SECONDS = 0.2
ROUNDS = 7
QUICK_ROUNDS = 3

# Asterisk's variables in the documented dialplan lines.
DIALPLAN_VALUES = {
    "${CALLERID(num)}": "603927227",
    "${FROM_DID}": "226211245",
    "${REAL_EXTEN}": "200",
    "${ID_CALL}": "1332333840.98",
}
# The documented SMS callback variables `$number`, `$message`, `$id`, `$direction`.
DAKTELA_SMS_QUERY = {
    "number": "603927227",
    "message": "Dobrý den, volejte prosím zpět",
    "id": "4221",
    "direction": "in",
}


@dataclass(frozen=True)
class Case:
    provider: str
    name: str
    request: WebhookRequest

    @property
    def size(self) -> int:
        return len(self.request.body) + sum(len(k) + len(v) for k, v in self.request.query.items())


def post(body: bytes, content_type: str = "application/xml") -> WebhookRequest:
    return WebhookRequest("POST", {"Content-Type": content_type}, {}, body)


def get(query: dict[str, str]) -> WebhookRequest:
    return WebhookRequest("GET", {}, query, b"")


# --- bodies ------------------------------------------------------------------------------


def documented_cases() -> Iterator[Case]:
    for path in sorted((FIXTURES / "telfa").glob("*_hook.xml")):
        yield Case("telfa", path.name, post(path.read_bytes()))
    sms = FIXTURES / "telfa" / "sms_hook.json"
    yield Case("telfa", sms.name, post(sms.read_bytes(), "application/json"))
    for line in (FIXTURES / "daktela" / "dialplan_hooks.txt").read_text().splitlines():
        url = line.split('"')[1]
        for variable, value in DIALPLAN_VALUES.items():
            url = url.replace(variable, value)
        query = dict(parse_qsl(urlsplit(url).query))
        yield Case("daktela", f"dialplan {query.get('action', 'incoming')}", get(query))
    yield Case("daktela", "sms callback", get(DAKTELA_SMS_QUERY))


def repeat(head: bytes, unit: bytes, size: int, tail: bytes = b"") -> bytes:
    """`head`, `unit` as often as fits in `size` bytes, `tail`."""
    return head + unit * max(0, (size - len(head) - len(tail)) // len(unit)) + tail


def hostile_cases(size: int) -> Iterator[Case]:
    """Malformed or hostile requests of about `size` bytes; each must be refused."""
    ring_hook = (FIXTURES / "telfa" / "ring_hook.xml").read_bytes()
    cut = ring_hook.index(b"</caller_number>")
    depth = size // 7  # `<a>` and `</a>`
    yield Case("telfa", "truncated hook", post(repeat(ring_hook[:cut], b"7", size)))
    yield Case("telfa", "unclosed nesting", post(repeat(b"<call>", b"<a>", size)))
    yield Case(
        "telfa", "deep nesting", post(b"<call>" + b"<a>" * depth + b"</a>" * depth + b"</call>")
    )
    yield Case("telfa", "attribute soup", post(repeat(b"<call ", b'a="1" ', size)))
    yield Case("telfa", "binary", post(repeat(b"<", bytes(range(256)), size)))
    yield Case("telfa", "deep JSON", post(repeat(b"", b'{"a":', size), "application/json"))
    yield Case(
        "telfa",
        "unterminated JSON",
        post(repeat(b'{"message":"', b"\\u00e1", size), "application/json"),
    )
    yield Case(
        "daktela",
        "junk query",
        get({f"p{i}": "x" * 90 for i in range(size // 96)} | {"action": "dial"}),
    )
    yield Case(
        "daktela",
        "huge SMS direction",
        get({"message": "x", "number": "603927227", "direction": "y" * size}),
    )


def entity_cases() -> Iterator[Case]:
    """Entity expansion and external entities: refused before anything is read."""
    lol = "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' if i else '<!ENTITY lol0 "lol">'
        for i in range(10)
    )
    yield Case(
        "telfa",
        "billion laughs",
        post(f'<?xml version="1.0"?><!DOCTYPE call [{lol}]><call>&lol9;</call>'.encode()),
    )
    big = "x" * 50_000
    yield Case(
        "telfa",
        "quadratic blowup",
        post(f'<!DOCTYPE call [<!ENTITY a "{big}">]><call>{"&a;" * 2000}</call>'.encode()),
    )
    yield Case(
        "telfa",
        "external entity",
        post(
            b'<!DOCTYPE call [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<call><hook_type>ring_hook</hook_type><id>&x;</id></call>"
        ),
    )
    yield Case(
        "telfa",
        "external DTD",
        post(b'<!doctype call SYSTEM "http://192.0.2.1/hook.dtd"><call><id>1</id></call>'),
    )


# --- measuring ---------------------------------------------------------------------------


def outcome(parse: Callable[[WebhookRequest], object], request: WebhookRequest) -> str:
    """`parsed`, `refused`, or the name of any other exception."""
    try:
        parse(request)
    except PbxInvalidInput:
        return "refused"
    except Exception as err:  # noqa: BLE001 - anything else is what the benchmark reports
        return type(err).__name__
    return "parsed"


def parses_per_second(
    parse: Callable[[WebhookRequest], object], request: WebhookRequest, seconds: float
) -> float:
    """The best rate of three runs of `seconds` / 3: the least disturbed by other work."""
    rates = []
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while (now := time.perf_counter()) < deadline:
            for _ in range(100):
                parse(request)
            count += 100
        rates.append(count / (now - start))
    return max(rates)


def refusal(
    parse: Callable[[WebhookRequest], object], request: WebhookRequest, rounds: int
) -> tuple[str, float, float]:
    """Outcome, median milliseconds and peak traced KiB of parsing `request`."""
    result = outcome(parse, request)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        outcome(parse, request)
        times.append((time.perf_counter() - start) * 1000)
    tracemalloc.start()
    try:
        outcome(parse, request)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, statistics.median(times), peak / 1024


async def run(args: argparse.Namespace) -> list[str]:
    failures: list[str] = []
    async with aiohttp.ClientSession() as session:
        clients: dict[str, PbxClient] = {
            "telfa": TelfaClient(session, {"api_key": "bench"}),
            "daktela": DaktelaClient(
                session, {"base_url": "https://bench.daktela.com", "access_token": "bench"}
            ),
        }
        print(f"documented hooks (target: >= {MIN_PARSES_PER_SECOND:,} parses/s each)")
        print(f"  {'provider':<8} {'hook':<22} {'bytes':>6} {'parses/s':>10} {'µs/parse':>9}")
        for case in documented_cases():
            parse = clients[case.provider].parse_webhook
            result = outcome(parse, case.request)
            if result != "parsed":
                failures.append(f"{case.provider} {case.name}: {result}, not parsed")
                print(f"  {case.provider:<8} {case.name:<22} {case.size:>6} {result}")
                continue
            rate = parses_per_second(parse, case.request, args.seconds)
            slow = rate < MIN_PARSES_PER_SECOND
            print(
                f"  {case.provider:<8} {case.name:<22} {case.size:>6} {rate:>10,.0f} "
                f"{1e6 / rate:>9.1f}{'  SLOW' if slow else ''}"
            )
            if slow:
                failures.append(f"{case.provider} {case.name}: {rate:,.0f} parses/s")

        for size in (MAX_BODY_BYTES, LARGE_BYTES):
            limit_ms = REFUSE_MS[size]
            print(
                f"\nhostile requests of {size // 1024} KiB (target: refused in <= {limit_ms:g} ms, "
                f"peak <= {MAX_AMPLIFICATION}x the body)"
            )
            print(
                f"  {'provider':<8} {'request':<22} {'bytes':>8} {'ms':>8} {'peak KiB':>9}  outcome"
            )
            for case in hostile_cases(size):
                result, ms, peak = refusal(
                    clients[case.provider].parse_webhook, case.request, args.rounds
                )
                misses = []
                if result != "refused":
                    misses.append(result)
                if ms > limit_ms:
                    misses.append(f"{ms:.1f} ms")
                if peak * 1024 > MAX_AMPLIFICATION * case.size:
                    misses.append(f"peak {peak / 1024:.1f} MiB")
                print(
                    f"  {case.provider:<8} {case.name:<22} {case.size:>8} {ms:>8.2f} {peak:>9.0f}  "
                    f"{result}{'  MISSED' if misses else ''}"
                )
                if misses:
                    failures.append(f"{case.provider} {case.name} ({size} B): {', '.join(misses)}")

        print(
            f"\nentity expansion (target: refused in <= {ENTITY_MS:g} ms, peak <= "
            f"{ENTITY_PEAK_KIB} KiB)"
        )
        print(f"  {'provider':<8} {'request':<22} {'bytes':>8} {'ms':>8} {'peak KiB':>9}  outcome")
        for case in entity_cases():
            result, ms, peak = refusal(
                clients[case.provider].parse_webhook, case.request, args.rounds
            )
            missed = result != "refused" or ms > ENTITY_MS or peak > ENTITY_PEAK_KIB
            print(
                f"  {case.provider:<8} {case.name:<22} {case.size:>8} {ms:>8.3f} {peak:>9.0f}  "
                f"{result}{'  MISSED' if missed else ''}"
            )
            if missed:
                failures.append(
                    f"{case.provider} {case.name}: {result}, {ms:.2f} ms, {peak:.0f} KiB"
                )
    return failures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short timing runs")
    args = parser.parse_args(argv)
    args.seconds = QUICK_SECONDS if args.quick else SECONDS
    args.rounds = QUICK_ROUNDS if args.quick else ROUNDS
    return args


def main(argv: list[str] | None = None) -> int:
    failures = asyncio.run(run(parse_args(argv)))
    if failures:
        print("\nMISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
