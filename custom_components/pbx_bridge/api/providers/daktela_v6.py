"""Daktela client (REST API v6, the current Daktela product).

Implements only what `provider-docs/daktela-v6.md` marks confirmed (section numbers below
are that file's):

- Requests go to `<instance>/api/v6/<endpoint>.json` with the token in the `X-AUTH-TOKEN`
  header (§1), so it never travels in a URL. The token is a user's static AccessToken, or
  comes from `POST login.json` with a user name and password; it is refreshed with
  `PUT login.json` before it expires (any non-200 answer logs in again), and a 401 logs in
  again once before the credentials count as rejected (§1). The digest shows no refused
  login, so a 400 / 422 or an `error` in its answer counts as rejected credentials too.
- Answers are `{"error": [], "result": …}`; `error` is a string, a list or a map of
  `primary` / `form` messages, and may come with an echoed `result` (§2). 403 means the
  token lacks a permission (§2), which new credentials would not fix.
- Lists are paged with `skip`/`take` (at most 1,000 a page) and their `data` is a list or a
  map keyed by record name; foreign keys come as nested objects or plain names (§2, §3).
- A snapshot (§7) reads `realtimeSessions` (logged-in agents, pauses, active call ids) and
  today's `activitiesCall` (recent calls, the last caller) on every poll, the missed calls
  of today as one count, `users` (every agent, `extension_state` as the line's
  registration) once a minute, and `queues` and `pauses` once an hour: a constant number of
  requests whatever the number of agents, up to 1,000 of each. Where the instance refuses
  the call list's filters with 400 ("some activities sub-endpoints", §3), it is read
  unfiltered from then on. Only telephony queues count (§4: `type`); yes/no fields are
  read as booleans or as `1`/`0` text.
- Click-to-call is `POST activities.json` type CALL through an outgoing queue the token's
  user is logged in to (an `error` inside a 2xx without a created activity is a refusal,
  §2); queue login is `POST usersSession.json` for the token's own user (§5).
- Push: the administrator adds an HTTP-request action to Daktela's Events ("automations")
  with the JSON body template `WEBHOOK_TEMPLATE`, our own field names (§6). `appPullData`
  is not used: no source shows its payload.

Hangup, transfer, pausing, queue logout, SMS and realtime queue statistics are NOT
CONFIRMED for v6 (§5, §7), so they are not offered.
"""

from __future__ import annotations

from collections.abc import Mapping
import contextlib
from datetime import datetime, timedelta
import time
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from ..client import (
    DEFAULT_TIMEOUT,
    HttpResponse,
    PbxClient,
    parse_int,
    read_json,
)
from ..declaration import ConnectionField, OptionField, ProviderDeclaration
from ..errors import (
    PbxAuthError,
    PbxInvalidInput,
    PbxPermissionError,
    PbxResponseError,
)
from ..models import (
    AccountInfo,
    Agent,
    AgentState,
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallResult,
    CallState,
    Capability,
    DialRequest,
    DialSourceKind,
    Listing,
    Queue,
    SipKind,
    SipRegistration,
    Snapshot,
    WebhookItem,
    WebhookRequest,
)
from ..numbers import CZECH_NUMBERS

API_PATH = "/api/v6"
PAGE_SIZE = 1000  # the largest `take` the API serves (§3)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
INSTANCE_ZONE = ZoneInfo("Europe/Prague")  # when an answer names no `_timezone` (§2)
# Without `accessTokenExpirationDate` a login token is assumed to last an hour (§1); it is
# refreshed this long before it expires.
DEFAULT_TOKEN_LIFETIME = 3600.0
TOKEN_REFRESH_MARGIN = 60.0
USERS_MAX_AGE = 60.0  # seconds: `users` changes rarely (§7)
CATALOGUE_MAX_AGE = 3600.0  # seconds: `queues` and `pauses` (§7)
# Today's newest calls read each poll (§7); where that is all of today's, the queues' daily
# counts follow from them.
RECENT_CALLS = 500
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# The administrator's option: the outgoing queue click-to-call dials through (§5).
OPTION_OUTGOING_QUEUE = "outgoing_queue"

# What a Daktela Events HTTP-request action posts to our webhook. The field names are ours
# (§6: no Daktela-defined body is confirmed); the `{{…}}` variables are Daktela's and an
# administrator adjusts them to what their version offers. A variable Daktela leaves
# unreplaced arrives as `{{…}}` and counts as missing.
WEBHOOK_TEMPLATE = (
    '{"event": "{{event_name}}", "call_id": "{{id_call}}", "direction": "{{direction}}", '
    '"caller": "{{clid}}", "callee": "{{did}}", "agent": "{{id_agent}}", "queue": "{{id_queue}}"}'
)
WEBHOOK_EVENTS = {
    "call_create": None,  # incoming or outgoing, by `direction`
    "call_answer": CallEventType.ANSWERED,
    "call_close": CallEventType.HANGUP,
}
# The entities of the other Events keys (§6: the prefix before `_` names the entity).
OTHER_EVENT_ENTITIES = frozenset({"email", "web", "sms", "fbm", "wap", "vbr", "contact", "account"})
DIRECTIONS = {
    "in": CallDirection.INCOMING,
    "out": CallDirection.OUTGOING,
    "internal": CallDirection.INTERNAL,
}
# `extension_state` of `users` (§4): online and busy devices are registered.
EXTENSION_REGISTERED = {"online": True, "busy": True, "offline": False}
# Queue `type`s that carry calls (§4): incoming, web click-to-call, outgoing and the
# campaigns; e-mail, chat, SMS and social queues are not phone queues.
TELEPHONY_QUEUE_TYPES = frozenset(
    {"in", "ctc", "out", "outbounder", "progressive", "dialer", "interviewer"}
)

type Json = dict[str, Any]


def _name(value: object) -> str | None:
    """A foreign key's record name: FKs come nested (`{"name": …}`) or as the name (§2)."""
    if isinstance(value, dict):
        value = value.get("name")
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def _flag(value: object) -> bool:
    """A yes/no field (§4): the digest shows no form; SDKs send `true` as well as `1` (§3)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return value is True or (type(value) is int and value == 1)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def _messages(error: object) -> list[str]:
    """Every message of an `error` value, in any of the documented shapes (§2)."""
    if error is None or error in ("", [], {}):
        return []
    if isinstance(error, str):
        return [error]
    if isinstance(error, list):
        return [text for item in error for text in _messages(item)]
    if isinstance(error, dict):
        # {"primary": ["message", "error"], "form": {"field": "message" | {...}}}
        found: list[str] = []
        primary = error.get("primary")
        if isinstance(primary, list) and primary:
            found.append(str(primary[0]))
        elif primary:
            found.extend(_messages(primary))
        form = error.get("form")
        if isinstance(form, dict):
            found.extend(
                f"{field}: {text}" for field, value in form.items() for text in _messages(value)
            )
        for key, value in error.items():
            if key not in ("primary", "form"):
                found.extend(f"{key}: {text}" for text in _messages(value))
        return found
    return [str(error)]


def _is_refusal(response: HttpResponse) -> bool:
    """A validation status (400, 422) or an `error` in the answer, whatever its status (§2)."""
    if response.status in (400, 422):
        return True
    try:
        answer = read_json(response.body)
    except ValueError:
        return False
    return isinstance(answer, dict) and bool(
        _messages(answer.get("error")) or _messages(answer.get("errors"))
    )


def _records(result: object) -> tuple[list[Json], int | None]:
    """The records of a list answer (`data` a list or a map by name) and its `total`."""
    if not isinstance(result, dict):
        raise PbxResponseError("Daktela v6 sent a list without data")
    data = result.get("data")
    if isinstance(data, dict):
        data = list(data.values())
    if data is None:
        data = []
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise PbxResponseError("Daktela v6 sent malformed list data")
    return data, parse_int(result.get("total"))


def webhook_setup(url: str) -> str:
    """Where to put our URL and what body to send: Events -> HTTP request action (§6)."""
    return (
        f"Manage -> Settings -> Events: for call_create, call_answer and call_close add an "
        f"HTTP request action, method POST, URL `{url}`, header Content-Type "
        f"`application/json`, body `{WEBHOOK_TEMPLATE}`"
    )


def _is_active(row: Json) -> bool:
    """A user or queue in use: named, neither deactivated nor deleted (§4)."""
    return (
        _name(row) is not None
        and not _flag(row.get("deactivated"))
        and not _flag(row.get("deleted"))
    )


def _is_phone_queue(row: Json) -> bool:
    """An active queue of a telephony `type` (one without a type counts, §4)."""
    kind = str(row.get("type") or "").strip().lower()
    return _is_active(row) and (not kind or kind in TELEPHONY_QUEUE_TYPES)


class DaktelaV6Client(PbxClient):
    """A Daktela v6 instance (`https://NAME.daktela.com`)."""

    declaration = ProviderDeclaration(
        provider="daktela_v6",
        title="Daktela v6",
        connection_fields=(
            ConnectionField("base_url", is_url=True),
            ConnectionField("login", required=False),
            ConnectionField("password", secret=True, required=False),
            ConnectionField("access_token", secret=True, required=False),
        ),
        capabilities=frozenset(
            {
                Capability.AGENTS,
                Capability.QUEUES,
                Capability.QUEUE_LOGIN,
                Capability.SIP_REGISTRATIONS,
                Capability.ACTIVE_CALLS,
                Capability.MISSED_CALLS,
                Capability.DIAL,
                Capability.CALL_WEBHOOK,
            }
        ),
        # Click-to-call (§5) takes the number, type and queue only: no optional dial field.
        dial_fields=frozenset(),
        # Outgoing queue click-to-call goes through (its number, e.g. 2000; default: the
        # first queue of direction "out").
        options=(OptionField(key=OPTION_OUTGOING_QUEUE, pattern="[0-9A-Za-z_-]+"),),
        # Daktela's Events HTTP-request action posts JSON (or a form, §6).
        webhook_methods=frozenset({"POST"}),
        webhook_setup=webhook_setup,
        redact_keys=frozenset({"login"}),
        # Calls are pushed; agents are not, and a poll costs three requests.
        poll_interval=timedelta(seconds=20),
        number_plan=CZECH_NUMBERS,
    )
    default_base_url = "https://my.daktela.com"
    # 403 is a missing permission here (§2), not rejected credentials.
    auth_failure_statuses: ClassVar[frozenset[int]] = frozenset({401})

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: Mapping[str, str],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(session, config, options=options, timeout=timeout)
        # Users may paste the API's own address (§1).
        self.base_url = self.base_url.removesuffix(API_PATH)
        self._username = self._config.get("login", "").strip()
        self._password = self._config.get("password", "")
        self._static_token = self._config.get("access_token", "").strip()
        self._token: str | None = self._static_token or None
        self._refresh_token: str | None = None
        self._token_expires = float("inf")  # monotonic time; static tokens do not expire
        self._zone = INSTANCE_ZONE
        self._users: list[Json] = []
        self._users_read = -float("inf")
        self._queues: list[Json] = []
        self._pauses: dict[str, Json] = {}
        self._catalogues_read = -float("inf")
        self._last_caller: str | None = None
        self._filters_refused = False  # the instance answered a filtered call list with 400

    # --- transport ---------------------------------------------------------------------

    def _check_address(self) -> None:
        url = urlsplit(self.base_url)
        if url.scheme != "https" and (url.hostname or "") not in LOOPBACK_HOSTS:
            # The token travels in every request: never in clear text across a network.
            raise PbxInvalidInput(f"{self.title} needs an https:// address")

    async def _login(self) -> None:
        """Log in (or refresh the token) with the stored user name and password (§1)."""
        if not (self._username and self._password):
            raise PbxAuthError(f"{self.title} needs an access token, or a user name and password")
        response: HttpResponse | None = None
        if self._refresh_token:
            response = await self._request(
                "PUT",
                f"{API_PATH}/login.json",
                json={"refreshToken": self._refresh_token},
                check_status=False,
            )
            if response.status != 200:
                response = None  # any non-200 answer to a refresh: log in again (§1)
        if response is None:
            response = await self._request(
                "POST",
                f"{API_PATH}/login.json",
                json={"username": self._username, "password": self._password},
                check_status=False,
            )
            self._raise_for_status(response)  # 401, a rate limit, a server error
            if _is_refusal(response):
                # The digest shows no refused login (§1): a validation status or an error
                # in the answer (§2) can only mean the credentials.
                raise PbxAuthError(f"{self.title} refused the user name or password")
        result = self._result(response, "login")
        token = result if isinstance(result, str) else None
        refresh: str | None = None
        expires: str | None = None
        if isinstance(result, dict):
            token = _text(result.get("accessToken"))
            refresh = _text(result.get("refreshToken"))
            expires = _text(result.get("accessTokenExpirationDate"))
        if not token:
            raise PbxResponseError(f"{self.title} answered the login without a token")
        self._token = token
        self._refresh_token = refresh
        self._secrets += tuple(s for s in (token, refresh) if s and s not in self._secrets)
        lifetime = DEFAULT_TOKEN_LIFETIME
        if expiry := self._time(expires):
            lifetime = (expiry - datetime.now(self._zone)).total_seconds()
        self._token_expires = time.monotonic() + max(lifetime - TOKEN_REFRESH_MARGIN, 0.0)

    async def _api(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Json | None = None,
        once: bool = False,
    ) -> HttpResponse:
        """One request with a valid token; a 401 logs in again once (login tokens only)."""
        self._check_address()
        if self._token is None or time.monotonic() >= self._token_expires:
            await self._login()
        for attempt in (1, 2):
            try:
                return await self._request(
                    method,
                    f"{API_PATH}/{endpoint}.json",
                    params=params,
                    headers={"X-AUTH-TOKEN": self._token or ""},
                    json=body,
                    once=once,
                )
            except PbxAuthError:
                # A rejected request did nothing, so sending it again after a new login is
                # safe even for a dial.
                if attempt == 2 or self._static_token or not self._username:
                    raise
                await self._login()  # refresh, or a new login when the refresh is refused
        raise AssertionError("unreachable")  # pragma: no cover

    def _result(self, response: HttpResponse, what: str) -> Any:
        """`result` of an answer; its `error` (any shape) or a 4xx as a refusal."""
        try:
            answer = read_json(response.body) if response.body.strip() else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PbxResponseError(
                f"{self.title} sent an unreadable answer to {what} (HTTP {response.status})",
                str(response.status),
            )
        if zone := _text(answer.get("_timezone")):
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                self._zone = ZoneInfo(zone)
        messages = _messages(answer.get("error")) + _messages(answer.get("errors"))
        if response.status == 403:
            raise PbxPermissionError(
                self.redact(
                    f"{self.title} refused {what}: the user lacks the permission"
                    + (f" ({'; '.join(messages)})" if messages else "")
                ),
                permission=what,
            )
        if messages:
            raise PbxResponseError(self.redact("; ".join(messages)), str(response.status))
        if response.status >= 300:  # redirects are not followed: no answer to use either
            raise PbxResponseError(
                f"{self.title} refused {what} (HTTP {response.status})", str(response.status)
            )
        return answer.get("result")

    async def _list(self, endpoint: str, params: Mapping[str, str] | None = None) -> list[Json]:
        """Every record of a listing, a page of 1,000 at a time (§3)."""
        rows: list[Json] = []
        while True:
            page = {**(params or {}), "skip": str(len(rows)), "take": str(PAGE_SIZE)}
            data, total = _records(
                self._result(await self._api("GET", endpoint, params=page), endpoint)
            )
            rows += data
            if not data or total is None or len(rows) >= total:
                return rows

    def _time(self, value: object) -> datetime | None:
        if not isinstance(value, str):
            return None
        try:
            return datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=self._zone)
        except ValueError:
            return None

    def _midnight(self) -> datetime:
        """The start of today at the instance (§2: times are in its `_timezone`)."""
        return datetime.now(self._zone).replace(hour=0, minute=0, second=0, microsecond=0)

    # --- account and snapshot ------------------------------------------------------------

    async def async_validate(self) -> AccountInfo:
        """`whoim.json` checks the token (its status only: the body is not documented)."""
        self._result(await self._api("GET", "whoim"), "whoim")
        return self._account()

    def _account(self) -> AccountInfo:
        host = (urlsplit(self.base_url).netloc or self.base_url).lower()
        return AccountInfo(host, f"Daktela v6 {host}")

    async def async_fetch_snapshot(self) -> Snapshot:
        """Three requests a poll, `users` a minute and the catalogues an hour (§7)."""
        now = time.monotonic()
        if now - self._catalogues_read >= CATALOGUE_MAX_AGE:
            self._queues = await self._list("queues")
            self._pauses = {name: row for row in await self._list("pauses") if (name := _name(row))}
            self._catalogues_read = now
        if now - self._users_read >= USERS_MAX_AGE:
            # Deactivated and deleted users are no agents: dropped once, when read.
            self._users = [
                row
                for row in await self._list(
                    "users",
                    {
                        f"fields[{index}]": field
                        for index, field in enumerate(
                            (
                                "name",
                                "title",
                                "extension",
                                "extension_state",
                                "deactivated",
                                "deleted",
                            )
                        )
                    },
                )
                if _is_active(row)
            ]
            self._users_read = now
        sessions = {
            login: row
            for row in await self._list("realtimeSessions")
            if (login := _name(row.get("id_agent")))
        }
        recent, all_of_today, missed = await self._read_today()
        agents = self._read_agents(sessions)
        return Snapshot(
            account=self._account(),
            agents=agents,
            queues=self._read_queues(recent if all_of_today else None),
            registrations=self._read_registrations(sessions),
            calls=self._read_calls(recent, sessions),
            missed_calls_today=missed,
            last_caller=self._read_last_caller(recent),
            complete=frozenset({Listing.AGENTS, Listing.QUEUES, Listing.REGISTRATIONS}),
        )

    async def _read_today(self) -> tuple[list[Json], bool, int | None]:
        """Today's newest calls, whether they are all of today's, and today's missed count.

        Some activities endpoints refuse filters with a 400 (§3, KBC): from the first such
        refusal on, the newest calls are read unfiltered and today's are picked out here.
        """
        if not self._filters_refused:
            try:
                return await self._read_today_filtered()
            except PbxResponseError as err:
                if err.code != "400":
                    raise
                self._filters_refused = True
        return await self._read_today_unfiltered()

    async def _newest_calls(self, filters: Mapping[str, str]) -> tuple[list[Json], int | None]:
        params = {
            **filters,
            "sort[0][field]": "call_time",
            "sort[0][dir]": "desc",
            "take": str(RECENT_CALLS),
        }
        return _records(
            self._result(await self._api("GET", "activitiesCall", params=params), "activitiesCall")
        )

    async def _read_today_filtered(self) -> tuple[list[Json], bool, int | None]:
        midnight = self._midnight().strftime(TIME_FORMAT)
        recent, total = await self._newest_calls(
            {"filter[field]": "call_time", "filter[operator]": "gte", "filter[value]": midnight}
        )
        return recent, total == len(recent), await self._missed_today(midnight)

    async def _read_today_unfiltered(self) -> tuple[list[Json], bool, int | None]:
        rows, total = await self._newest_calls({})
        midnight = self._midnight()
        recent = [
            row
            for row in rows
            if (started := self._time(row.get("call_time"))) is not None and started >= midnight
        ]
        # All of today's were read when an older call or the last of all calls was.
        all_of_today = len(recent) < len(rows) or len(rows) < RECENT_CALLS or total == len(rows)
        missed = sum(row.get("missed_call") is not None for row in recent)
        return recent, all_of_today, missed if all_of_today else None

    async def _missed_today(self, midnight: str) -> int | None:
        """Today's missed calls (`missed_call` 1, or 0 when called back), as one count."""
        params = {
            "filter[logic]": "and",
            "filter[filters][0][field]": "call_time",
            "filter[filters][0][operator]": "gte",
            "filter[filters][0][value]": midnight,
            "filter[filters][1][field]": "missed_call",
            "filter[filters][1][operator]": "isnotnull",
            "take": "1",
        }
        result = self._result(
            await self._api("GET", "activitiesCall", params=params), "activitiesCall"
        )
        _, total = _records(result)
        return total

    def _read_agents(self, sessions: Mapping[str, Json]) -> dict[str, Agent]:
        agents: dict[str, Agent] = {}
        for user in self._users:
            login = _name(user) or ""
            session = sessions.get(login)
            name = _text(user.get("title")) or login
            extension = _text(user.get("extension"))
            if session is None:
                agents[login] = Agent(
                    agent_id=login,
                    name=name,
                    state=AgentState.LOGGED_OUT,
                    extension=extension,
                    logged_in=False,
                    paused=False,
                )
                continue
            pause = session.get("id_pause")
            pause_name = _name(pause)
            pause_row = self._pauses.get(pause_name or "", {})
            pause_type = str(
                (pause.get("type") if isinstance(pause, dict) else None)
                or pause_row.get("type")
                or ""
            ).lower()
            pause_title = (
                (_text(pause.get("title")) if isinstance(pause, dict) else None)
                or _text(pause_row.get("title"))
                or pause_name
            )
            state_text = str(session.get("state") or "").strip().lower()
            in_call = _name(session.get("id_call")) is not None or (
                str(session.get("exten_status") or "").lower() == "busy"
            )
            if pause_name and pause_type == "wrap":
                state = AgentState.WRAP_UP
            elif state_text == "paused" or pause_name:
                state = AgentState.PAUSED
            elif in_call:
                state = AgentState.IN_CALL
            elif state_text == "idle":
                state = AgentState.IDLE  # an inference (§7): the states are undocumented
            else:
                state = AgentState.UNKNOWN
            agents[login] = Agent(
                agent_id=login,
                name=name,
                state=state,
                extension=_text(session.get("exten")) or extension,
                logged_in=True,
                paused=state is AgentState.PAUSED,
                pause_reason=pause_title if state is AgentState.PAUSED else None,
            )
        return agents

    def _read_queues(self, calls_today: list[Json] | None) -> dict[str, Queue]:
        """The catalogue; answered and missed calls of today where every one was read."""
        completed: dict[str, int] = {}
        abandoned: dict[str, int] = {}
        for call in calls_today or ():
            if queue_id := _name(call.get("id_queue")):
                if _flag(call.get("answered")):
                    completed[queue_id] = completed.get(queue_id, 0) + 1
                elif call.get("missed_call") is not None:
                    abandoned[queue_id] = abandoned.get(queue_id, 0) + 1
        counted = calls_today is not None
        queues: dict[str, Queue] = {}
        for row in self._queues:
            queue_id = _name(row)
            if queue_id is None or not _is_phone_queue(row):
                continue
            queues[queue_id] = Queue(
                queue_id=queue_id,
                name=_text(row.get("title")) or queue_id,
                completed=completed.get(queue_id, 0) if counted else None,
                abandoned=abandoned.get(queue_id, 0) if counted else None,
            )
        return queues

    def _read_registrations(self, sessions: Mapping[str, Json]) -> dict[str, SipRegistration]:
        registrations: dict[str, SipRegistration] = {}
        for user in self._users:
            extension = _text(user.get("extension"))
            if extension is None:
                continue
            state = str(user.get("extension_state") or "").strip().lower()
            registered = EXTENSION_REGISTERED.get(state)
            session = sessions.get(_name(user) or "")
            if session and str(session.get("exten_status") or "").lower() == "unavailable":
                registered = False
            registrations[extension] = SipRegistration(
                registration_id=extension,
                name=_text(user.get("title")) or extension,
                kind=SipKind.EXTENSION,
                registered=registered,
                status=state or None,
            )
        return registrations

    def _read_calls(self, rows: list[Json], sessions: Mapping[str, Json]) -> dict[str, Call]:
        """Calls an agent is on now: `realtimeSessions.id_call` joined to today's calls (§7)."""
        live = {
            call_id: login
            for login, session in sessions.items()
            if (call_id := _name(session.get("id_call")))
        }
        calls: dict[str, Call] = {}
        for row in rows:
            call_id = _name(row.get("id_call"))
            if call_id is None or call_id not in live:
                continue
            direction = DIRECTIONS.get(str(row.get("direction") or ""), CallDirection.UNKNOWN)
            partner = CZECH_NUMBERS.read(row.get("clid"))
            local = CZECH_NUMBERS.read(row.get("did"))
            incoming = direction is CallDirection.INCOMING
            calls[call_id] = Call(
                call_id=call_id,
                direction=direction,
                state=CallState.ANSWERED if _flag(row.get("answered")) else CallState.RINGING,
                caller=partner if incoming else local,
                callee=local if incoming else partner,
                agent_id=_name(row.get("id_agent")) or live[call_id],
                queue_id=_name(row.get("id_queue")),
                started=self._time(row.get("call_time")),
            )
        return calls

    def _read_last_caller(self, rows: list[Json]) -> str | None:
        """The newest incoming caller of today; earlier days' stays until a newer one."""
        for row in rows:  # newest first
            if row.get("direction") == "in" and (caller := CZECH_NUMBERS.read(row.get("clid"))):
                self._last_caller = caller
                break
        return self._last_caller

    # --- actions -------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """Click-to-call through the outgoing queue (§5): the token's user places the call."""
        if request.source is not None and not (
            request.source.kind is DialSourceKind.USER and request.source.value == self._username
        ):
            raise PbxInvalidInput(
                f"{self.title} places calls only as the API user itself; leave the source empty"
            )
        queue = self._options.get(OPTION_OUTGOING_QUEUE) or self._first_outgoing_queue()
        if queue is None:
            raise PbxInvalidInput(f"{self.title} needs an outgoing queue to place calls from")
        body: Json = {"number": self.format_number(request.number), "type": "CALL"}
        body["queue"] = int(queue) if str(queue).isdigit() else queue
        response = await self._api("POST", "activities", body=body, once=True)
        if response.status >= 300:
            self._result(response, "click-to-call")  # raises: a status of 300 or more refuses
        try:
            answer = read_json(response.body)
        except ValueError:
            return CallResult(None)  # placed; raising would invite a second call
        call_id = self._call_id(answer)
        if call_id is None and isinstance(answer, dict):
            # An `error` inside a 2xx with no created activity is a refusal (§2, §5: the
            # digest gives no status for "User have not available devices").
            self._result(response, "click-to-call")
        return CallResult(call_id)

    @staticmethod
    def _call_id(answer: object) -> str | None:
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict):
            return None
        item = result.get("item")
        if isinstance(item, dict) and (call_id := _name(item.get("id_call"))):
            return call_id
        return _name(result)

    def _first_outgoing_queue(self) -> str | None:
        return next(
            (
                queue_id
                for row in self._queues
                if (queue_id := _name(row))
                and _is_phone_queue(row)
                and str(row.get("direction")) == "out"
            ),
            None,
        )

    async def async_queue_login(
        self, agent_id: str, queue_id: str, extension: str | None = None
    ) -> None:
        """`usersSession.json` logs the token's own user into a queue (§5)."""
        if not self._username or agent_id != self._username:
            raise PbxInvalidInput(
                f"{self.title} logs only the API user itself into queues"
                " (name that user in the connection settings)"
            )
        entry: Json = {"login": True, "name": int(queue_id) if queue_id.isdigit() else queue_id}
        entry["penalty"] = 0
        self._result(
            await self._api("POST", "usersSession", body={"queues": [entry]}, once=True),
            "queue login",
        )

    async def async_queue_logout(self, agent_id: str, queue_id: str) -> None:
        raise self._unsupported("queue logout (not confirmed for API v6)")

    # --- webhook -------------------------------------------------------------------------

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookItem]:
        """Our template (`WEBHOOK_TEMPLATE`) as JSON or as a form (§6)."""
        fields = self._webhook_fields(request)
        event_name = fields.get("event", "").lower()
        if event_name not in WEBHOOK_EVENTS:
            if event_name.split("_")[0] in OTHER_EVENT_ENTITIES:
                return []  # another channel's or entity's event: not ours to report
            raise PbxInvalidInput(f"{self.title} webhook with an unknown event")
        call_id = fields.get("call_id")
        if not call_id:
            raise PbxInvalidInput(f"{self.title} webhook without call_id")
        direction = DIRECTIONS.get(fields.get("direction", "").lower(), CallDirection.UNKNOWN)
        event_type = WEBHOOK_EVENTS[event_name] or (
            CallEventType.OUTGOING
            if direction is CallDirection.OUTGOING
            else CallEventType.INCOMING
        )
        partner = CZECH_NUMBERS.read(fields.get("caller"))
        local = CZECH_NUMBERS.read(fields.get("callee"))
        outgoing = direction is CallDirection.OUTGOING
        return [
            CallEvent(
                event_type=event_type,
                call_id=call_id,
                direction=direction,
                caller=local if outgoing else partner,
                callee=partner if outgoing else local,
                agent_id=fields.get("agent"),
                queue_id=fields.get("queue"),
                raw={"event": event_name},
            )
        ]

    def _webhook_fields(self, request: WebhookRequest) -> dict[str, str]:
        content_type = request.headers.get("Content-Type", request.headers.get("content-type", ""))
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise PbxInvalidInput(f"{self.title} webhook body is not UTF-8") from None
        if "json" in content_type or text.lstrip().startswith("{"):
            try:
                value = read_json(text)
            except ValueError:
                raise PbxInvalidInput(f"{self.title} webhook body is not JSON") from None
            if not isinstance(value, dict):
                raise PbxInvalidInput(f"{self.title} webhook body is not a JSON object")
            pairs = list(value.items())
        else:
            pairs = parse_qsl(text, keep_blank_values=True)
        fields: dict[str, str] = {}
        for key, raw in pairs:
            value_text = _name(raw)  # a nested FK object counts by its name
            if value_text and not (value_text.startswith("{{") and value_text.endswith("}}")):
                fields[str(key)] = value_text[:200]
        return fields
