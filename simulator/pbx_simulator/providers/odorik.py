"""Odorik wire format (see shared/provider-docs/odorik-calls.txt).

Everything lives under `/api/v1`. Parameters travel URI-encoded in the query string (GET,
DELETE) or form-encoded in the body (POST); `user` and `password` authenticate every request.
Answers are HTTP 200 wherever the service can manage it: plain text (`callback_ordered`,
`error missing_argument caller`) or JSON lists and objects written as the documentation
shows them (Czech destination names unescaped, dates `2014-10-01T11:28:31Z`, numbers in the
`00420…` form, lines as JSON integers).

Kept from the documentation as it is: the callback's two success words (`callback_ordered`
now, `successfully_enqueued` when `delayed`), the list of names after `missing_argument`
(comma-separated here: the documentation does not show it), the `Odorik-Pages` header and
the 2000-call page limit of the call history, `unauthorized` as the active-calls error, and
the statistics endpoints with no required parameter at all. Parameters an endpoint does not
document are ignored: the statistics have no period (`from`/`to` change nothing), and
missed_calls.json reads no parameter at all. A `+` in a date that is not percent-encoded
arrives as a space and the date is refused, as the documentation warns.

Not in the documentation, so answered as the service plausibly would: missing credentials
`error authentication_required`, wrong ones `error authentication_failed` (the general API
page lists both); the active-calls endpoints answer `unauthorized` with HTTP 401; hanging up
answers HTTP 200 with an empty body, an unknown call HTTP 404 `error not_found`; an invalid
date `error invalid_date_format`, an unreadable number `error invalid_argument <name>`. Only
the JSON variant of the call history is served (the CSV and XML columns are not documented)
and only account logins, not per-line ones. The *pub* endpoints, from Odorik's public API
pages: `POST /sms` and `GET /sms/allowed_sender` (https://www.odorik.cz/w/api:sms),
`GET /balance` (https://www.odorik.cz/w/api:balance) and `GET /lines.json` (`id`, `name`;
no public page of it could be checked).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
import math
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..state import CallStatus, Direction, SimCall, SimLine
from .base import BaseProviderSim

if TYPE_CHECKING:
    from ..app import Simulator

# Line numbers are six digits in Odorik's network; the first line is the documented one.
LINE_NUMBER_BASE = 403365
MAX_PAGE_SIZE = 2000
DEFAULT_SMS_SENDER = "5517"
# *pub* https://www.odorik.cz/w/api:sms: what GET /sms/allowed_sender answers (the page's
# example: the named senders and the account's verified mobile number) ...
ALLOWED_SMS_SENDERS = ("Odorik.cz", DEFAULT_SMS_SENDER, "00420789123456")
# ... and, whatever it answers, the only senders of an SMS to the Czech Republic ("do ČR
# jsou dovoleny jen Odorik.cz, smsinfo a 5517"), where a mobile number sends as smsinfo.
CZECH_SMS_SENDERS = frozenset({"Odorik.cz", "smsinfo", DEFAULT_SMS_SENDER})
NUMBER_SENDER_IN_CZECHIA = "smsinfo"
MAX_SMS_CHARS = 765  # "automaticky ořezáno na maximální délku 765 znaků"
MOBILE_PREFIXES = ("004206", "004207")
STAR_DESTINATION = "Česká rep. - * v síti"
INCOMING_DESTINATION = "Česko v síti"
PRICES_PER_MINUTE = {
    "Česká rep. - mobil": 0.59,
    "Česká rep. - pevna": 0.49,
    "Zahraničí": 1.49,
}
DIRECTION_NAMES = ("in", "out", "redirected")
JSON_ENDPOINTS = frozenset(
    {
        "GET /calls",
        "GET /active_calls",
        "DELETE /active_calls/{id}",
        "GET /call_statistics",
        "GET /call_statistics/by_destination",
        "GET /call_statistics/missed_calls",
        "GET /lines",
    }
)

# The filters the statistics endpoints document (O:101-105, O:116-120): no period.
STATISTICS_FILTERS = frozenset(
    {"direction", "line", "min_length", "max_length", "min_price", "max_price"}
)

type Params = dict[str, str]
type Handler = Callable[[Params, str | None], web.Response]


class OdorikRefusedError(Exception):
    """A request Odorik answers with `error <reason>` (the text after `error `)."""


def documented(params: Params, names: frozenset[str]) -> Params:
    """Only the parameters an endpoint documents: the service ignores any other."""
    return {name: value for name, value in params.items() if name in names}


def odorik_number(number: str) -> str:
    """A number as Odorik writes it: `+420…` and national `245008328` -> `00420…`.

    Line numbers and `*` numbers inside Odorik's network stay as they are.
    """
    if number.startswith("+"):
        return "00" + number[1:]
    if re.fullmatch(r"[2-9]\d{8}", number):
        return "00420" + number
    return number


def e164(number: str) -> str:
    """A number from a request (`00420…`) as the shared state keeps it (`+420…`)."""
    return "+" + number[2:] if number.startswith("00") else number


def odorik_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date_time(value: str) -> datetime:
    """An XML Schema dateTime (`2013-06-05T11:15:00+02:00`, `…Z`); no zone means UTC."""
    if "T" not in value:
        raise ValueError(value)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def destination_name(call: SimCall) -> str:
    """The tariff name Odorik shows for a call's destination."""
    if call.direction is Direction.IN:
        return INCOMING_DESTINATION
    number = odorik_number(call.callee)
    if number.startswith("*") or not number.startswith("00"):
        return STAR_DESTINATION  # a number or line inside Odorik's network
    if number.startswith(MOBILE_PREFIXES):
        return "Česká rep. - mobil"
    if number.startswith("00420"):
        return "Česká rep. - pevna"
    return "Zahraničí"


def price_per_minute(call: SimCall) -> float:
    return PRICES_PER_MINUTE.get(destination_name(call), 0.0)


def seconds(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(0, int((end - start).total_seconds()))


@dataclass(frozen=True)
class DelayedCallback:
    """A callback ordered for later (`delayed`); it is only recorded, never dialled."""

    caller: str
    recipient: str
    line_id: str | None
    at: datetime
    simple: bool = False


@dataclass(frozen=True)
class DelayedSms:
    """An SMS ordered for later (*pub* POST /sms `delayed`); only recorded, never sent."""

    at: datetime
    sender: str
    recipient: str
    text: str


@dataclass(frozen=True)
class LineIndex:
    """The lines, read once for a whole list of calls rather than once per call."""

    by_name: dict[str, SimLine]  # extension lines by phone name
    by_agent: dict[str, SimLine]


class OdorikSim(BaseProviderSim):
    provider = "odorik"
    base_path = "/api/v1"
    default_credentials = {"user": "3531234", "password": "odorik-api-7788"}  # noqa: RUF012

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        # Provider-specific switches and records, for tests to script.
        self.fail_callbacks = False  # answer `error callback_failed`
        self.delayed_callbacks: list[DelayedCallback] = []
        # Calls ordered `simple=true` (O:16): no redial with `*`, no other carrier.
        self.simple_calls: set[str] = set()
        self.allowed_sms_senders: list[str] = list(ALLOWED_SMS_SENDERS)
        self.fail_sms = False  # answer `error gateway_failed`
        self.delayed_sms: list[DelayedSms] = []
        self.routes: dict[str, Handler] = {
            "POST /callback": self._callback,
            "GET /calls": self._calls,
            "GET /active_calls": self._active_calls,
            "DELETE /active_calls/{id}": self._hangup,
            "GET /call_statistics": self._statistics,
            "GET /call_statistics/by_destination": self._statistics_by_destination,
            "GET /call_statistics/missed_calls": self._missed_calls,
            "GET /sms/allowed_sender": self._allowed_senders,
            "POST /sms": self._send_sms,
            "GET /balance": self._balance,
            "GET /lines": self._lines,
        }

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", self.base_path + "/{path:.*}", self._handle)

    def endpoint_key(self, request: web.Request, path: str) -> str:
        """`GET /calls` for `/api/v1/calls.json`; a call id in a path becomes `{id}`."""
        resource = re.sub(r"\.(json|csv|xml)$", "", path.removeprefix(self.base_path))
        resource = re.sub(r"/\d+$", "/{id}", resource)
        return f"{request.method} {resource}"

    # --- dispatch -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        key = self.endpoint_key(request, self.base_path + path)
        handler = self.routes.get(key)
        # Only the formats the documentation shows: JSON reads, plain-text actions.
        if handler is None or path.endswith(".json") != (key in JSON_ENDPOINTS):
            return web.Response(status=404, text="Not Found")
        params: Params = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        auth_error = self._auth_error(params)
        if auth_error is not None:
            if key.startswith(("GET /active_calls", "DELETE /active_calls")):
                return web.Response(status=401, text="unauthorized")
            return self._text(f"error {auth_error}")
        call_id = path.rpartition("/")[2].partition(".")[0] if "{id}" in key else None
        try:
            return handler(params, call_id)
        except OdorikRefusedError as err:
            return self._text(f"error {err}")

    def _auth_error(self, params: Params) -> str | None:
        user, password = params.get("user"), params.get("password")
        if not user or not password:
            return "authentication_required"
        if (user, password) != (self.credentials["user"], self.credentials["password"]):
            return "authentication_failed"
        return None

    @staticmethod
    def _text(text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/plain")

    @staticmethod
    def _json(data: Any, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            text=json.dumps(data, ensure_ascii=False),
            content_type="application/json",
            charset="utf-8",
            headers=headers,
        )

    @staticmethod
    def _require(params: Params, *names: str) -> None:
        missing = [name for name in names if not params.get(name)]
        if missing:
            raise OdorikRefusedError("missing_argument " + ",".join(missing))

    # --- lines ----------------------------------------------------------------------------

    def lines(self) -> list[SimLine]:
        """Odorik accounts have SIP lines, no trunks."""
        return [line for line in self.state.lines.values() if line.kind == "extension"]

    @staticmethod
    def line_number(line: SimLine) -> int:
        return LINE_NUMBER_BASE + int(line.id)

    def find_line(self, number: str) -> SimLine | None:
        return next((line for line in self.lines() if str(self.line_number(line)) == number), None)

    def line_index(self) -> LineIndex:
        by_name: dict[str, SimLine] = {}
        for line in self.lines():
            by_name.setdefault(line.name, line)
        return LineIndex(by_name, self.state.lines_by_agent())

    def line_of_call(self, call: SimCall, index: LineIndex) -> int | None:
        line = self.state.lines.get(call.line_id or "")
        if line is None and call.agent_id:
            line = index.by_agent.get(call.agent_id)
        return self.line_number(line) if line is not None and line.kind == "extension" else None

    def party(self, number: str, index: LineIndex) -> str:
        """A call party as Odorik shows it: a line's phone by its line number."""
        line = index.by_name.get(number)
        return str(self.line_number(line)) if line is not None else odorik_number(number)

    def line_name(self, line: SimLine) -> str:
        agent = self.state.agents.get(line.agent_id or "")
        return agent.name if agent else f"Linka {line.name}"

    # --- callback -------------------------------------------------------------------------

    def _callback(self, params: Params, _call_id: str | None) -> web.Response:
        """POST /callback, odorik-calls.txt O:5-27: caller and recipient required; `delayed`
        (minutes or a dateTime), `line` and `simple` optional; the documented answers. A
        caller `*<line>` (in-network form, O:59) is that line's phone."""
        self._require(params, "caller", "recipient")
        simple = params.get("simple") == "true"
        line: SimLine | None = None
        if line_number := params.get("line"):
            line = self.find_line(line_number)
            if line is None:
                raise OdorikRefusedError("invalid_line")
        delayed_until = self._delay(params.get("delayed"))
        if self.fail_callbacks:
            raise OdorikRefusedError("callback_failed")
        caller, recipient = params["caller"], params["recipient"]
        # `caller` is a phone number (O:11); numbers inside the network are written `*…`
        # (O:59). `*<line>` rings that line's phone; a bare line id is no phone number and
        # rings nothing of the account (the stricter reading: the docs do not say either).
        caller_line = self.find_line(caller.removeprefix("*")) if caller[:1] == "*" else None
        if caller_line is not None:
            line = line or caller_line
            caller = caller_line.name
        if delayed_until is not None:
            self.delayed_callbacks.append(
                DelayedCallback(
                    e164(caller), e164(recipient), line.id if line else None, delayed_until, simple
                )
            )
            return self._text("successfully_enqueued")
        call = self.state.originate(
            e164(caller),
            e164(recipient),
            agent_id=line.agent_id if line else None,
            line_id=line.id if line else None,
        )
        if simple:
            self.simple_calls.add(call.id)
        return self._text("callback_ordered")

    def _delay(self, delayed: str | None) -> datetime | None:
        """When a `delayed` callback is due: minutes from now or an XML Schema dateTime."""
        if not delayed:
            return None
        now = self.state.now()
        if delayed.isdigit():
            return now + timedelta(minutes=int(delayed))
        try:
            moment = parse_date_time(delayed)
        except ValueError:
            raise OdorikRefusedError("invalid_delay_format") from None
        if moment < now:
            raise OdorikRefusedError("delayed_into_past")
        return moment

    # --- history and statistics -------------------------------------------------------------

    def _period(self, params: Params, *, required: bool) -> tuple[datetime | None, datetime | None]:
        if required and not params.get("since_id"):
            self._require(params, "from", "to")
        try:
            start = parse_date_time(params["from"]) if params.get("from") else None
            end = parse_date_time(params["to"]) if params.get("to") else None
        except ValueError:
            raise OdorikRefusedError("invalid_date_format") from None
        return start, end

    def history(self, params: Params, *, period_required: bool = False) -> list[SimCall]:
        """Ended calls, oldest first, filtered by the documented parameters."""
        start, end = self._period(params, required=period_required)
        since_id = params.get("since_id", "")
        number_filter = params.get("phone_number_filter")

        def bound(name: str) -> float | None:
            try:
                return float(params[name]) if params.get(name) else None
            except ValueError:
                raise OdorikRefusedError(f"invalid_argument {name}") from None

        min_length, max_length = bound("min_length"), bound("max_length")
        min_price, max_price = bound("min_price"), bound("max_price")
        index = self.line_index()
        calls = []
        for call in self.state.calls.values():
            if call.status is not CallStatus.ENDED:
                continue
            length, price = self.length(call), self.price(call)
            numbers = (self.party(call.caller, index), self.party(call.callee, index))
            line = self.line_of_call(call, index)
            if (
                (start and call.created < start)
                or (end and call.created > end)
                or (since_id.isdigit() and int(call.id) <= int(since_id))
                or params.get("direction", self.direction(call)) != self.direction(call)
                or params.get("status", self.status(call)) != self.status(call)
                or params.get("line", str(line)) != str(line)
                or (number_filter and not any(n.startswith(number_filter) for n in numbers))
                or (min_length is not None and length < min_length)
                or (max_length is not None and length > max_length)
                or (min_price is not None and price < min_price)
                or (max_price is not None and price > max_price)
            ):
                continue
            calls.append(call)
        return sorted(calls, key=lambda call: int(call.id))

    @staticmethod
    def direction(call: SimCall) -> str:
        if call.transferred_to:
            return "redirected"
        return "in" if call.direction is Direction.IN else "out"

    @staticmethod
    def status(call: SimCall) -> str:
        return "answered" if call.was_answered else "missed"

    @staticmethod
    def length(call: SimCall) -> int:
        return seconds(call.answered, call.ended)

    def price(self, call: SimCall) -> float:
        return round(price_per_minute(call) * self.length(call) / 60, 4)

    def call_record(self, call: SimCall, index: LineIndex, *, sip_ids: bool) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": int(call.id),
            "redirection_parent_id": None,
            "date": odorik_time(call.created),
            "direction": self.direction(call),
            "source_number": self.party(call.caller, index),
            "destination_number": self.party(call.callee, index),
            "destination_name": destination_name(call),
            "length": self.length(call),
            "ringing_length": seconds(call.created, call.answered or call.ended),
            "status": self.status(call),
            "price": self.price(call),
            "price_per_minute": price_per_minute(call),
            "balance_after": self.state.balance,
            "line": self.line_of_call(call, index),
            "recording": call.recording,
        }
        if sip_ids:
            record["sip_in_call_id"] = f"{call.id}-in@sip.odorik.cz"
            record["sip_out_call_id"] = f"{call.id}-out@sip.odorik.cz"
        return record

    def _calls(self, params: Params, _call_id: str | None) -> web.Response:
        """GET /calls.json, O:29-68: from+to or since_id required, the documented filters,
        pages of at most 2000 with the count in `Odorik-Pages`."""
        calls = self.history(params, period_required=True)
        try:
            page_size = min(MAX_PAGE_SIZE, max(1, int(params.get("page_size") or MAX_PAGE_SIZE)))
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            raise OdorikRefusedError("invalid_argument page") from None
        pages = max(1, math.ceil(len(calls) / page_size))
        shown = calls[(page - 1) * page_size : page * page_size]
        sip_ids = params.get("sip_ids") == "true"
        index = self.line_index()
        return self._json(
            [self.call_record(call, index, sip_ids=sip_ids) for call in shown],
            {"Odorik-Pages": str(pages)},
        )

    def _statistics(self, params: Params, _call_id: str | None) -> web.Response:
        """GET /call_statistics.json, O:97-110: only the documented filters are read (no
        period is documented, so every call counts)."""
        params = documented(params, STATISTICS_FILTERS)
        totals = {name: {"count": 0, "length": 0, "price": 0.0} for name in DIRECTION_NAMES}
        for call in self.history(params):
            total = totals[self.direction(call)]
            total["count"] += 1
            total["length"] += self.length(call)
            total["price"] = round(total["price"] + self.price(call), 4)
        return self._json(
            {
                "incoming": totals["in"],
                "outgoing": totals["out"],
                "redirected": totals["redirected"],
            }
        )

    def _statistics_by_destination(self, params: Params, _call_id: str | None) -> web.Response:
        """GET /call_statistics/by_destination.json, O:112-132: the documented filters only."""
        params = documented(params, STATISTICS_FILTERS)
        groups: dict[tuple[str, float, str], list[SimCall]] = defaultdict(list)
        for call in self.history(params):
            groups[destination_name(call), price_per_minute(call), self.direction(call)].append(
                call
            )
        return self._json(
            [
                {
                    "destination": destination,
                    "count": len(calls),
                    "length": sum(self.length(call) for call in calls),
                    "price": round(sum(self.price(call) for call in calls), 4),
                    "price_per_minute": per_minute,
                    "direction": direction,
                }
                for (destination, per_minute, direction), calls in sorted(groups.items())
            ]
        )

    def _missed_calls(self, _params: Params, _call_id: str | None) -> web.Response:
        """GET /call_statistics/missed_calls.json, O:134-141: missed incoming calls per
        called number. The documentation lists no parameter: none is read, every call counts."""
        index = self.line_index()
        counts = Counter(
            self.party(call.callee, index)
            for call in self.history({})
            if call.direction is Direction.IN and not call.was_answered
        )
        return self._json(
            [{"destination_number": number, "count": count} for number, count in counts.items()]
        )

    # --- live calls -----------------------------------------------------------------------

    def _active_calls(self, _params: Params, _call_id: str | None) -> web.Response:
        """GET /active_calls.json, O:70-86."""
        index = self.line_index()
        return self._json(
            [
                {
                    "id": int(call.id),
                    "source_number": self.party(call.caller, index),
                    "destination_number": self.party(call.callee, index),
                    "destination_name": destination_name(call),
                    "start_date": odorik_time(call.created),
                    "answer_date": odorik_time(call.answered),
                    "price_per_minute": price_per_minute(call),
                    "line": self.line_of_call(call, index),
                }
                for call in self.state.active_calls()
            ]
        )

    def _hangup(self, _params: Params, call_id: str | None) -> web.Response:
        """DELETE /active_calls/<id>.json, O:88-93 (the answer is not documented)."""
        call = self.state.calls.get(call_id or "")
        if call is None or call.status is CallStatus.ENDED:
            return self._text("error not_found", status=404)
        self.state.hangup(call.id, "api")
        return self._text("")

    # --- pub: SMS, balance, lines -----------------------------------------------------------

    def _allowed_senders(self, _params: Params, _call_id: str | None) -> web.Response:
        """*pub* GET /sms/allowed_sender (https://www.odorik.cz/w/api:sms): the senders POST
        /sms takes, as plain text separated by commas (`Odorik.cz,5517,00420789123456`)."""
        return self._text(",".join(self.allowed_sms_senders))

    def _send_sms(self, params: Params, _call_id: str | None) -> web.Response:
        """*pub* POST /sms (not in provider-docs; https://www.odorik.cz/w/api:sms).

        `recipient` (international, `00…`) and `message` are required, an absent one is
        `error missing_argument`, an empty message `error empty_message`; the message is
        cut to 765 characters. `sender` must be one of /sms/allowed_sender (else `error
        forbidden_sender`); to the Czech Republic only Odorik.cz, smsinfo and 5517 send,
        a mobile number sends as smsinfo. `delayed` (minutes or a dateTime) enqueues it:
        `successfully_enqueued`. Sent, it answers `successfully_sent <aktualni_kredit>`.
        Where the page is silent, the stricter reading: a blank message is empty, any other
        sender to the Czech Republic is forbidden, and abroad only the listed ones send.
        """
        # An absent message is a missing argument, an empty one `empty_message`.
        self._require(params, "recipient", *(() if "message" in params else ("message",)))
        recipient, message = params["recipient"], params["message"]
        if not message.strip():
            raise OdorikRefusedError("empty_message")
        if not re.fullmatch(r"00[1-9]\d{5,14}", recipient):
            raise OdorikRefusedError("unsupported_recipient")
        sender = self._sms_sender(params.get("sender") or DEFAULT_SMS_SENDER, recipient)
        delayed_until = self._delay(params.get("delayed"))
        if self.state.balance <= 0:
            raise OdorikRefusedError("low_balance")
        if self.fail_sms:
            raise OdorikRefusedError("gateway_failed")
        text = message[:MAX_SMS_CHARS]
        if delayed_until is not None:
            self.delayed_sms.append(DelayedSms(delayed_until, e164(sender), e164(recipient), text))
            return self._text("successfully_enqueued")
        self.state.send_sms(e164(sender), e164(recipient), text)
        return self._text(f"successfully_sent {self.state.balance:.2f}")

    def _sms_sender(self, sender: str, recipient: str) -> str:
        """The sender an SMS goes out with, or `error forbidden_sender`."""
        if recipient.startswith("00420"):
            if sender in CZECH_SMS_SENDERS:
                return sender
            if sender in self.allowed_sms_senders and sender.startswith(MOBILE_PREFIXES):
                return NUMBER_SENDER_IN_CZECHIA
        elif sender in self.allowed_sms_senders:
            return sender
        raise OdorikRefusedError("forbidden_sender")

    def _balance(self, _params: Params, _call_id: str | None) -> web.Response:
        """*pub* GET /balance (not in provider-docs; https://www.odorik.cz/w/api:balance): the
        credit in CZK rounded to two decimals, plain text (`193.32`)."""
        return self._text(f"{self.state.balance:.2f}")

    def _lines(self, _params: Params, _call_id: str | None) -> web.Response:
        """*pub* GET /lines.json (not in provider-docs): `id`, `name`."""
        return self._json(
            [{"id": self.line_number(line), "name": self.line_name(line)} for line in self.lines()]
        )
