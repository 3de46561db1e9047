"""Odorik client.

Every request carries `user` (the account number) and `password` (the API password): in the
form body of a POST, in the query string otherwise, as the API takes them. Actions answer
plain text (`callback_ordered`, `successfully_sent 1234`) and refusals `error <reason>
[details]`; reads answer JSON, but still plain text on errors (`error authentication_failed`,
`unauthorized`). Numbers are written `00420…`.

Odorik has no push for calls or SMS: no webhooks; call events come from polling. The call
history (`/calls.json`, read from midnight once, then by `since_id`) gives the last caller and
today's missed calls with their callers; `missed_calls.json` documents no period (O:134-138)
and cannot say "today".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from ..client import (
    DEFAULT_TIMEOUT,
    HttpResponse,
    PbxClient,
    parse_int,
    read_json,
)
from ..declaration import OPTION_SMS_SENDER, ConnectionField, ProviderDeclaration
from ..errors import PbxAuthError, PbxInvalidInput, PbxOutcomeUnknownError, PbxResponseError
from ..models import (
    AccountInfo,
    Call,
    CallDirection,
    CallResult,
    CallState,
    Capability,
    DialField,
    DialRequest,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    SmsField,
    SmsRequest,
    SmsResult,
    Snapshot,
)
from ..numbers import NumberForm, NumberPlan

ODORIK_URL = "https://www.odorik.cz/api/v1"
# Odorik writes and reads numbers internationally: 00420601234567.
ODORIK_NUMBERS = NumberPlan(country_code="420", sends=NumberForm.INTERNATIONAL)
PRAGUE = ZoneInfo("Europe/Prague")  # "today" for missed calls is the account's day
AUTH_ERRORS = frozenset({"authentication_failed", "authentication_required", "unauthorized"})
CALLBACK_ANSWERS = frozenset({"callback_ordered", "successfully_enqueued"})
# *pub* POST /sms answers `successfully_sent <aktualni_kredit>`: the credit left, not an id.
SMS_SENT = "successfully_sent"
# Refusals with a message of their own: a sender not among /sms/allowed_sender (*pub*).
REFUSAL_KEYS = {"forbidden_sender": "sms_invalid_sender"}
# The missed calls' callers a snapshot shows (the newest).
MISSED_CALLERS_KEPT = 10
# History pages (of at most 2000 calls, O:47) one poll reads; a longer backlog continues at
# the next poll, so a busy day costs a poll a bounded number of requests.
MAX_HISTORY_PAGES = 3


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utc(moment: datetime) -> str:
    """An XML Schema dateTime in UTC: `Z` instead of `+00:00`, so no `+` needs encoding."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OdorikClient(PbxClient):
    """An Odorik account, by its account number and API password."""

    declaration = ProviderDeclaration(
        provider="odorik",
        title="Odorik",
        connection_fields=(
            ConnectionField("user"),
            ConnectionField("password", secret=True),
            ConnectionField("base_url", required=False, is_url=True, default=ODORIK_URL),
        ),
        capabilities=frozenset(
            {
                Capability.ACTIVE_CALLS,
                Capability.MISSED_CALLS,
                Capability.BALANCE,
                Capability.DIAL,
                Capability.HANGUP,
                Capability.SEND_SMS,
            }
        ),
        # The callback's optional `delayed` and `simple` (O:14-16); the person called sees
        # the line's number, and nothing sets auto-answer or ring time.
        dial_fields=frozenset({DialField.DELAY, DialField.SINGLE_ATTEMPT}),
        sms_fields=frozenset({SmsField.SENDER}),
        balance_currency="CZK",
        redact_keys=frozenset({"user"}),  # the account number
        number_plan=ODORIK_NUMBERS,
        # No push: call events come from consecutive polls, a refresh costs three requests.
        poll_interval=timedelta(seconds=30),
    )
    default_base_url = ODORIK_URL

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: Mapping[str, str],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(session, config, options=options, timeout=timeout)
        # The call history read so far: the newest call's id (None: read from midnight)
        # and what today's calls said.
        self._newest_call_id: int | None = None
        self._history_day: date | None = None
        self._missed_today = 0
        self._missed_callers: deque[str] = deque(maxlen=MISSED_CALLERS_KEPT)
        self._last_caller: str | None = None

    @property
    def _user(self) -> str:
        return self._config.get("user", "").strip()

    def _auth(self) -> dict[str, str]:
        return {"user": self._user, "password": self._config.get("password", "")}

    # --- transport --------------------------------------------------------------------

    async def _get(self, path: str, params: dict[str, str] | None = None) -> HttpResponse:
        response = await self._request("GET", path, params={**self._auth(), **(params or {})})
        self._raise_for_error(response, path)
        return response

    async def _send(self, path: str, data: dict[str, str]) -> HttpResponse:
        """POST an action, never repeated."""
        return await self._request("POST", path, data={**self._auth(), **data}, once=True)

    def _raise_for_error(self, response: HttpResponse, path: str) -> None:
        """Refusals, and an HTML page where an answer belongs, as errors."""
        self._raise_for_refusal(response, path)
        if response.text.strip().startswith("<"):
            raise PbxResponseError(f"{self.title} sent an HTML page instead of an answer")

    def _raise_for_refusal(self, response: HttpResponse, path: str) -> None:
        """Turn `error <reason>`, `unauthorized` and unexpected statuses into errors."""
        text = response.text.strip()
        word = text.split(maxsplit=2)[1] if text.startswith("error ") else text
        if word in AUTH_ERRORS:
            raise PbxAuthError(f"{self.title} rejected the credentials ({word})")
        if text.startswith("error "):
            refusal = PbxResponseError(self.redact(text.removeprefix("error ")), word)
            refusal.translation_key = REFUSAL_KEYS.get(word)
            raise refusal
        if response.status >= 300:
            raise PbxResponseError(
                f"{self.title} refused {path} (HTTP {response.status})", str(response.status)
            )

    async def _get_json(self, path: str, params: dict[str, str] | None = None) -> list[Any]:
        return self._json_rows(await self._get(path, params), path)

    def _json_rows(self, response: HttpResponse, path: str) -> list[Any]:
        """A JSON list of objects, as every read answers."""
        try:
            rows = read_json(response.body)
        except ValueError:
            rows = None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise PbxResponseError(f"{self.title} sent an unreadable answer to {path}")
        return rows

    # --- account and snapshot -----------------------------------------------------------

    async def async_validate(self) -> AccountInfo:
        """Read the balance: any authenticated request checks the credentials."""
        if not self._user or not self._config.get("password"):
            raise PbxAuthError(f"{self.title} needs the account number and the API password")
        await self._balance()
        return self._account()

    def _account(self) -> AccountInfo:
        return AccountInfo(self._user, f"Odorik {self._user}")

    async def _balance(self) -> float:
        text = (await self._get("/balance")).text.strip()
        try:
            return float(text)
        except ValueError:
            raise PbxResponseError(f"{self.title} sent a balance that is not a number") from None

    async def async_fetch_snapshot(self) -> Snapshot:
        """Three requests whatever the account's size: active calls, the call history since
        the last poll and the balance; a backlog of more than 2000 calls adds at most
        `MAX_HISTORY_PAGES - 1` history pages.

        Odorik has no agents, queues or SIP registrations in its API.
        """
        calls = [self._read_call(row) for row in await self._get_json("/active_calls.json")]
        await self._read_history()
        return Snapshot(
            account=self._account(),
            calls={call.call_id: call for call in calls},
            missed_calls_today=self._missed_today,
            missed_callers=tuple(self._missed_callers),
            last_caller=self._last_caller,
            balance=await self._balance(),
        )

    async def _read_history(self) -> None:
        """Today's calls (O:29-68): all of them from midnight at first, then those after the
        newest one read (`since_id`, for periodic downloads), so a poll reads only new ones.

        At most `MAX_HISTORY_PAGES` pages a poll (O:46-51); the rest of a longer backlog is
        read on the next polls, from the newest call read.
        """
        now = datetime.now(PRAGUE)
        today = now.date()
        if self._newest_call_id is None:
            midnight = datetime.combine(today, time(), PRAGUE)
            params = {"from": _utc(midnight), "to": _utc(now)}
            self._start_day(today)
        else:
            params = {"since_id": str(self._newest_call_id)}
            if self._history_day != today:
                self._start_day(today)
        records = await self._read_history_pages(params)
        for call_id, row in sorted(records, key=lambda record: record[0]):
            if self._newest_call_id is not None and call_id <= self._newest_call_id:
                continue
            self._newest_call_id = call_id
            self._count_call(row, today)

    async def _read_history_pages(self, params: dict[str, str]) -> list[tuple[int, dict[str, Any]]]:
        """The oldest calls of the query, at most `MAX_HISTORY_PAGES` pages of them.

        The order of the records is not documented. Oldest first (as `since_id` suggests),
        the first pages are the oldest; newest first, the last ones are, and page 1 only
        told the page count. Either way the calls read are the oldest, so continuing after
        the newest of them at the next poll skips none.
        """
        records, pages = await self._history_page(params, 1)
        if pages <= MAX_HISTORY_PAGES:
            later = range(2, pages + 1)
        elif len(records) > 1 and records[0][0] > records[-1][0]:
            records = []
            later = range(pages, pages - MAX_HISTORY_PAGES + 1, -1)
        else:
            later = range(2, MAX_HISTORY_PAGES + 1)
        for page in later:
            records += (await self._history_page(params, page))[0]
        return records

    async def _history_page(
        self, params: dict[str, str], page: int
    ) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        """One page of /calls.json (`page` counts from 1) and the page count it reports."""
        response = await self._get(
            "/calls.json", {**params, "page": str(page)} if page > 1 else params
        )
        records: list[tuple[int, dict[str, Any]]] = []
        for row in self._json_rows(response, "/calls.json"):
            call_id = parse_int(row.get("id"))
            if call_id is None:
                raise PbxResponseError(f"{self.title} sent a call record without an id")
            records.append((call_id, row))
        # Without a readable header the answer is taken as the only page.
        pages = parse_int(response.headers.get("odorik-pages")) or 1
        return records, pages

    def _start_day(self, today: date) -> None:
        self._history_day = today
        self._missed_today = 0
        self._missed_callers.clear()

    def _count_call(self, row: dict[str, Any], today: date) -> None:
        """An incoming call names the last caller; unanswered today, it is a missed call."""
        if row.get("direction") != "in":
            return
        caller = ODORIK_NUMBERS.read(row.get("source_number"))
        if caller is not None:
            self._last_caller = caller
        when = _time(row.get("date"))
        if row.get("status") == "missed" and when and when.astimezone(PRAGUE).date() == today:
            self._missed_today += 1
            if caller is not None:
                self._missed_callers.append(caller)

    @staticmethod
    def _read_call(row: dict[str, Any]) -> Call:
        call_id = row.get("id")
        if call_id in (None, ""):
            raise PbxResponseError("Odorik sent an active call without an id")
        answered = _time(row.get("answer_date"))
        line = row.get("line")
        return Call(
            call_id=str(call_id),
            # The list does not say which way a call goes.
            direction=CallDirection.UNKNOWN,
            state=CallState.ANSWERED if answered else CallState.RINGING,
            caller=ODORIK_NUMBERS.read(row.get("source_number")),
            callee=ODORIK_NUMBERS.read(row.get("destination_number")),
            line=str(line) if line not in (None, "") else None,
            started=_time(row.get("start_date")),
            answered=answered,
        )

    # --- actions ------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """Callback: Odorik rings the source first, then connects it to `number`.

        A LINE source rings that line and bills the call to it (`line`); a user or
        extension source is the number to ring first. `caller` is a phone number (O:11):
        a line is given as its number inside Odorik's network, `*<line>`, the form O:59
        writes such numbers in. That a line rings this way is assumed (the docs do not
        show a line as the caller; README limitations). Odorik shows the line's number to
        the person called: `caller_id`, `auto_answer` and `ring_timeout` have no equivalent.
        `delay` becomes `delayed` in whole minutes (rounded up), `single_attempt` `simple`
        (O:14-16): the caller cannot dial on with `*`, and no other carrier is tried.
        """
        source = request.source
        if source is None or not source.value.strip():
            raise PbxInvalidInput(f"{self.title} needs a line or number to ring first")
        if request.ring_once:
            raise PbxInvalidInput(f"{self.title} connects callbacks, it cannot only ring")
        data = {"recipient": self.format_number(request.number)}
        if source.kind is DialSourceKind.LINE:
            line = source.value.strip().removeprefix("*")
            if not line.isdigit():
                raise PbxInvalidInput(f"{self.title} line numbers are digits")
            data |= {"caller": f"*{line}", "line": line}
        else:
            data["caller"] = self.format_number(source.value.strip())
        if request.delay is not None:
            data["delayed"] = str(max(1, math.ceil(request.delay.total_seconds() / 60)))
        if request.single_attempt is not None:
            data["simple"] = "true" if request.single_attempt else "false"
        response = await self._send("/callback", data)
        if response.text.strip() in CALLBACK_ANSWERS:
            return CallResult(None)
        # Documented refusals (`error …`, O:21-25) and failed logins raise as they are.
        self._raise_for_refusal(response, "/callback")
        # Any other 2xx body (cut short, a proxy's page, a new word) is neither a documented
        # refusal nor a documented success, and the request was handed over: O:26 says the
        # answer confirms the hand-off to the exchange, not the call, so it may ring already.
        # Not "placed" (nothing documents this body as success), but never a refusal that
        # invites a second callback.
        raise PbxOutcomeUnknownError(
            f"{self.title} sent an unexpected answer to the callback; the call may have been placed"
        )

    async def async_hangup(self, request: HangupRequest) -> None:
        """DELETE the active call by the id the active-call list shows."""
        if request.kind is not HangupTargetKind.CALL:
            raise PbxInvalidInput(f"{self.title} hangs up calls by call id only")
        if not re.fullmatch(r"\d+", request.value):
            raise PbxInvalidInput(f"{self.title} call ids are numbers")
        response = await self._request(
            "DELETE", f"/active_calls/{request.value}.json", params=self._auth(), once=True
        )
        self._raise_for_error(response, "/active_calls")

    async def async_send_sms(self, request: SmsRequest) -> SmsResult:
        """One request per recipient (the API takes one); the sender defaults to Odorik's.

        Odorik gives a sent message no id (*pub*), so the result has none.
        """
        sender = request.sender or self._options.get(OPTION_SMS_SENDER)

        async def send(recipient: str) -> None:
            data = {"recipient": self.format_number(recipient), "message": request.message}
            if sender:
                data["sender"] = self.format_number(str(sender))
            response = await self._send("/sms", data)
            if response.text.strip().partition(" ")[0] == SMS_SENT:
                return  # Odorik names no message: what follows is the credit left
            # As for the callback: documented refusals raise as they are; any other 2xx
            # body may follow a message that went out, so it is no refusal to send again.
            self._raise_for_refusal(response, "/sms")
            raise PbxOutcomeUnknownError(
                f"{self.title} sent an unexpected answer to the SMS; it may have been sent"
            )

        return SmsResult(await self._send_to_each(request.recipients, send))
