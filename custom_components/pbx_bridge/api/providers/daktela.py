"""Daktela client (legacy API 3.x-4.x), following shared/provider-docs/daktela-legacy-api.txt.

Every action is `GET <instance>/api/<VERSION>/<Action>[/<ID>]/json` with the
`access_token` (SHA1 of login + password); we send the token as a cookie, which the API
accepts (D:14), so it never travels in a URL. Each action is called with the version it
requires. Answers are `{"status":1,"error":null,"result":…}` or `status:0` with a Czech
`error`; some documented bodies are not valid JSON (CreateCall by user ends in an extra `}`),
so answers are read tolerantly.

The only documented answer to a bad token is GetUser's HTTP 200 `Uživatel neexistuje`
(D:481-486): whenever a read is refused, GetUser tells a dead token from other refusals.
A 3.x server (3.5-3.9) has no GetUser 4.0 nor RTUsersState 4.1: the client notices at the
first request and uses the documented older actions (GetUsers 3.0, RTStatsSessions 3.5).

Daktela pushes call events from dialplan hooks (`notify_crm_api.agi` with `callerId`,
`calleeId`, `line`, `idcall`, `action`; the incoming-call hook sends `callid` = the caller's
number and `dnd` = the dialled number, D:19-106) that an administrator sets up, and received
SMS to the `incoming_callback` URL of SetSMSSettings, which we register. Their HTTP method is
not documented: GET and POST (form body) are both read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import hashlib
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from ..client import (
    DEFAULT_TIMEOUT,
    PbxClient,
    parse_int,
    read_json,
)
from ..declaration import (
    OPTION_SMS_SENDER,
    ConnectionField,
    OptionField,
    OptionKind,
    ProviderDeclaration,
)
from ..errors import PbxAuthError, PbxInvalidInput, PbxResponseError
from ..models import (
    AccountInfo,
    Agent,
    AgentState,
    AnnounceField,
    AnnounceRequest,
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallResult,
    CallState,
    Capability,
    DialField,
    DialRequest,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    Listing,
    ProblemKind,
    ProviderProblem,
    Queue,
    SipKind,
    SipRegistration,
    SmsDirection,
    SmsField,
    SmsMessage,
    SmsRequest,
    SmsResult,
    Snapshot,
    TransferRequest,
    TransferTargetKind,
    WebhookItem,
    WebhookRequest,
)
from ..numbers import CZECH_NUMBERS

_LOGGER = logging.getLogger(__name__)

PRAGUE = ZoneInfo("Europe/Prague")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The documented CreateCall answer ends in one `}` too many: stray closing brackets after a
# complete value are ignored.
STRAY_AFTER_JSON = "}]"
# GetUser's answer to a token that belongs to nobody (D:486).
UNKNOWN_USER = "uživatel neexistuje"
# The pause type of the PBX's own pause after a call (GetPauses 3.3 `type`, D:1735).
WRAP_PAUSE_TYPE = "wrap"
# Pauses the PBX sets by itself (after a call, for idling): not for choosing.
SYSTEM_PAUSE_TYPES = frozenset({WRAP_PAUSE_TYPE, "lajdak"})
SMS_PLACEHOLDERS = "number=$number&message=$message&id=$id&direction=$direction"
# GetSMSSettings `enabled_sms` of an account that sends through SMS Connect only (D:2787).
SMS_CONNECT = "CONNECT"
# The longest SMS text the send actions take (D:2920, D:3208): 1377 characters, 603 when it
# is not ASCII ("utf8 603").
SMS_MAX_ASCII = 1377
SMS_MAX_UNICODE = 603
# GetUsers lists every user, but users come and go rarely: read it this seldom (seconds).
USERS_MAX_AGE = 3600.0

# Options besides the connection fields.
OPTION_AGENT_EXTENSIONS = "agent_extensions"  # agent login -> extension (Login, LoginQueue)
OPTION_ANNOUNCEMENT_ROUTE = "announcement_route"  # incoming route with an announcement

AGENT_STATES = {
    "logged": AgentState.NOT_IN_QUEUE,  # in the call centre but in no queue (D:2422)
    "idle": AgentState.IDLE,
    "paused": AgentState.PAUSED,
    "calling": AgentState.IN_CALL,
    "ringing": AgentState.RINGING,
    "speaking": AgentState.IN_CALL,
    "on hold": AgentState.ON_HOLD,
}
CALL_STATES = {
    "waiting": CallState.QUEUED,
    "ringing": CallState.RINGING,
    "speaking": CallState.ANSWERED,
    "on hold": CallState.ON_HOLD,
    "transfered": CallState.ANSWERED,
}
HOOK_EVENTS = {
    "ringing": CallEventType.RINGING,
    "answer": CallEventType.ANSWERED,
    "hangup": CallEventType.HANGUP,
}

type Json = dict[str, Any]


class _MissingActionError(PbxResponseError):
    """The server has no such action or version (HTTP 404): an older Daktela."""


@dataclass(frozen=True, slots=True)
class _User:
    """A user as GetUsers lists them (D:493-523); never their password."""

    user_id: str
    login: str
    title: str


@dataclass(frozen=True, slots=True)
class _LiveAgent:
    """An agent logged in to the call centre, from RTUsersState or RTStatsSessions."""

    login: str
    title: str | None
    extension: str | None
    state: str
    pause_id: str | None
    call_partner: str | None
    queue_ids: tuple[str, ...]


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=PRAGUE)
    except ValueError:
        return None


def _rows(result: object, what: str) -> list[Json]:
    """The records of a result: a map keyed by id, a list, or `[]` (PHP's empty map)."""
    if result is None:
        return []
    rows = list(result.values()) if isinstance(result, dict) else result
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise PbxResponseError(f"Daktela sent a malformed {what} list")
    return rows


def _one_or_many(result: object, key: str, what: str) -> list[Json]:
    """GetQueues and GetUsers write a single record as the record itself (D:176, D:519)."""
    if isinstance(result, dict) and key in result:
        return [result]
    return _rows(result, what)


def _array(name: str, values: list[str]) -> dict[str, str]:
    """An array parameter the PHP way: `name[0]=a&name[1]=b`."""
    return {f"{name}[{index}]": value for index, value in enumerate(values)}


# Dialplan hooks (docs: "Příchozí hovor" … "Zavěšený hovor"), query after our URL.
DIALPLAN_HOOKS = (
    ("incoming", "callid=${CALLERID(num)}&dnd=${FROM_DID}"),
    *(
        (
            action,
            (
                "callerId=${CALLERID(num)}&calleeId=${FROM_DID}&line=${REAL_EXTEN}"
                f"&idcall=${{ID_CALL}}&action={action}"
            ),
        )
        for action in ("ringing", "answer", "hangup")
    ),
)


def webhook_setup(url: str) -> str:
    """The dialplan lines to paste and the SMS callback to set, with our URL."""
    separator = "&" if "?" in url else "?"
    lines = [
        f'{name}: `AGI(notify_crm_api.agi,"{url}{separator}{query}","CRMAPI")`'
        for name, query in DIALPLAN_HOOKS
    ]
    lines.append(f"SetSMSSettings incoming_callback: `{url}`")
    return "\n".join(lines)


class DaktelaClient(PbxClient):
    """A Daktela instance (`https://NAME.daktela.com`), by access token or login + password."""

    declaration = ProviderDeclaration(
        # DeviceStates `status` (docs: "Možnosti ve status jsou: AVAILABLE …").
        line_states={
            "AVAILABLE": "available",
            "UNAVAILABLE": "not_available",
            "ONHOLD": "on_hold",
            "INUSE": "in_use",
            "RINGING": "ringing",
        },
        # CreateCall starts from a user login (the agent id) or an extension (the line id).
        agent_dial_source=DialSourceKind.USER,
        line_dial_source=DialSourceKind.EXTENSION,
        provider="daktela",
        title="Daktela",
        connection_fields=(
            ConnectionField("base_url", is_url=True),
            ConnectionField("access_token", secret=True, required=False),
            ConnectionField("login", required=False),
            ConnectionField("password", secret=True, required=False),
        ),
        capabilities=frozenset(
            {
                Capability.AGENTS,
                Capability.AGENT_LOGIN,
                Capability.AGENT_PAUSE,
                Capability.PAUSE_REASONS,
                Capability.QUEUES,
                Capability.QUEUE_LOGIN,
                Capability.SIP_REGISTRATIONS,
                Capability.ACTIVE_CALLS,
                Capability.MISSED_CALLS,
                Capability.DIAL,
                Capability.HANGUP,
                Capability.TRANSFER,
                Capability.TRANSFER_TO_AGENT,
                Capability.TRANSFER_TO_QUEUE,
                Capability.ANNOUNCE,
                Capability.SEND_SMS,
                Capability.CALL_WEBHOOK,
                Capability.SMS_WEBHOOK,
                Capability.REGISTER_WEBHOOK,
            }
        ),
        # CreateCall: `autoanswer`, `waitingtime` (D:356-362, D:1114-1118); CreateRemoteCall:
        # `dialingtime` (D:1167). The caller id is the queue's or line's. Announce plays a
        # stored recording (D:988-1039, D:1186-1194); Daktela has no text to speech.
        dial_fields=frozenset({DialField.AUTO_ANSWER, DialField.RING_TIMEOUT}),
        announce_fields=frozenset({AnnounceField.RECORDING, AnnounceField.CALL_ID}),
        sms_fields=frozenset({SmsField.SENDER}),
        options=(
            OptionField(key=OPTION_ANNOUNCEMENT_ROUTE, pattern=r"[0-9*#+]{1,20}"),
            OptionField(
                key=OPTION_AGENT_EXTENSIONS, kind=OptionKind.MAPPING, pattern=r"[0-9*#+]{1,20}"
            ),
        ),
        # The dialplan hooks and the SMS callback: their method is undocumented, so both.
        webhook_methods=frozenset({"GET", "POST"}),
        webhook_setup=webhook_setup,
        redact_keys=frozenset({"login"}),
        number_plan=CZECH_NUMBERS,
        # Calls are pushed; agent states are not, and a refresh costs a fixed few requests.
        poll_interval=timedelta(seconds=30),
    )
    default_base_url = "https://api.daktela.com"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: Mapping[str, str],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(session, config, options=options, timeout=timeout)
        self.base_url = self.base_url.removesuffix("/api")
        login = self._config.get("login", "").strip()
        password = self._config.get("password", "")
        token = self._config.get("access_token", "").strip()
        if not token and login and password:
            token = hashlib.sha1((login + password).encode(), usedforsecurity=False).hexdigest()
        self._token = token
        self._secrets += tuple(s for s in (token, password) if s and s not in self._secrets)
        # None until the first request tells: True for a 3.x server (no 4.x actions).
        self._legacy: bool | None = None
        # Every user (GetUsers), read now and then: login -> user.
        self._users: dict[str, _User] = {}
        self._users_read_at: float | None = None
        self._users_refused = False  # GetUsers said no (a user without that right)
        self._user_logins: dict[str, str] = {}  # user id -> login
        self._unlisted: set[str] = set()  # live logins or ids GetUsers was asked about
        # From the polls, for actions and hooks that name things differently than we do.
        self._extensions: dict[str, str] = {}  # login -> extension last seen at
        self._line_agents: dict[str, str] = {}  # extension -> login logged in there
        self._queue_numbers: dict[str, str] = {}  # queue id -> queue number
        self._incoming_queues: list[str] = []  # ids of the incoming queues
        self._pauses: dict[str, str] = {}  # pause title -> pause id, those one may choose
        self._pause_info: dict[str, tuple[str, str]] = {}  # pause id -> (title, type)
        self._call_owners: dict[str, str] = {}  # call id -> login of the agent on it
        self._last_caller: tuple[datetime, str] | None = None  # newest incoming call
        self._sms_connect: bool | None = None  # the account sends through SMS Connect

    # --- transport --------------------------------------------------------------------

    async def _action(
        self,
        version: str,
        action: str,
        params: Mapping[str, str] | None = None,
        *,
        item_id: str | None = None,
        once: bool = False,
    ) -> Any:
        """Run one action and return its `result` when `status` is 1."""
        if not self._token:
            raise PbxAuthError(f"{self.title} needs an access token, or a login and password")
        path = f"/api/{version}/{action}" + (f"/{item_id}" if item_id else "") + "/json"
        response = await self._request(
            "GET",
            path,
            params=params,
            headers={"Cookie": f"access_token={self._token}"},
            once=once,
        )
        try:
            answer = read_json(response.body, ignore_after=STRAY_AFTER_JSON)
        except ValueError:
            answer = None
        if response.status == 404:
            raise _MissingActionError(
                f"{self.title} {version} has no action {action} (HTTP 404)", "404"
            )
        if not isinstance(answer, dict) or "status" not in answer:
            raise PbxResponseError(
                f"{self.title} sent an unreadable answer to {action} (HTTP {response.status})",
                str(response.status),
            )
        if str(answer["status"]) == "1":
            return answer.get("result")
        raise PbxResponseError(self.redact(str(answer.get("error") or f"{action} failed")))

    async def _verify_token(self) -> None:
        """Raise `PbxAuthError` if the token belongs to nobody; learn the server's version.

        GetUser 4.0 answers a dead token with `Uživatel neexistuje` (D:460-486). A server
        without it is a 3.x one: there GetUsers 3.0, which takes no parameter and so has no
        other reason to refuse, checks the token (its answer to a bad one is undocumented).
        """
        if not self._legacy:
            try:
                await self._action("4.0", "GetUser")
            except PbxResponseError as err:
                if err.reason.strip().casefold() == UNKNOWN_USER:
                    raise PbxAuthError(
                        f"{self.title} rejected the access token: {err.reason}"
                    ) from None
                unreadable = err.code is not None and not isinstance(err, _MissingActionError)
                if unreadable:
                    raise
                if self._legacy is False:
                    return  # a 4.x server refusing GetUser for another reason
                self._legacy = True  # no GetUser 4.0: a 3.x server
            else:
                self._legacy = False
                return
        try:
            self._read_users(await self._action("3.0", "GetUsers"))
        except PbxResponseError as err:
            raise PbxAuthError(
                f"{self.title} does not accept the access token: {err.reason}"
            ) from None

    # --- account and snapshot -----------------------------------------------------------

    async def async_validate(self) -> AccountInfo:
        """GetUser (or GetUsers on 3.x) checks the token; the host name is the account id."""
        await self._verify_token()
        return self._account()

    def _account(self) -> AccountInfo:
        host = (urlsplit(self.base_url).netloc or self.base_url).lower()
        return AccountInfo(host, f"Daktela {host}")

    async def async_fetch_snapshot(self) -> Snapshot:
        """A constant number of requests, whatever the size of the account.

        A refused read is checked with GetUser: a token that belongs to nobody starts
        reauthentication, anything else is the refusal it was.
        """
        if self._legacy is None:
            await self._verify_token()
        try:
            return await self._read_snapshot()
        except PbxResponseError:
            await self._verify_token()
            raise

    async def _read_snapshot(self) -> Snapshot:
        """GetPauses, GetUsers (now and then), the agents' state, GetQueues, RTStatsQueues,
        DeviceStates and RTStatsCalls each cover everything at once; on 4.1 StatsCalls
        adds today's missed calls and the last callers.

        The agents' state is RTUsersState 4.1, or RTStatsSessions 3.5 on a 3.x server.
        """
        self._read_pauses(_rows(await self._action("3.3", "GetPauses"), "pause"))
        if self._users_read_at is None or time.monotonic() - self._users_read_at > USERS_MAX_AGE:
            try:
                self._read_users(await self._action("3.0", "GetUsers"))
                self._users_refused = False
            except PbxResponseError as err:
                if self._legacy:
                    raise  # there it is the token check
                # Without the right to list users, the logged-in ones are still shown.
                _LOGGER.debug("Daktela GetUsers refused, only logged-in agents: %s", err)
                self._users_refused = True
                self._users_read_at = time.monotonic()  # asked again in an hour
        if self._legacy:
            sessions = _rows(await self._action("3.5", "RTStatsSessions"), "session")
            new = {str(row.get("id")) for row in sessions} - set(self._user_logins)
            if new - self._unlisted:  # someone new (asked once: GetUsers may never list them)
                self._unlisted |= new
                self._read_users(await self._action("3.0", "GetUsers"))
            live: list[_LiveAgent] | None = None
        else:
            live = self._read_users_state(_rows(await self._action("4.1", "RTUsersState"), "user"))
        queue_rows = _one_or_many(await self._action("3.0", "GetQueues"), "queue", "queue")
        stats = _rows(await self._action("3.5", "RTStatsQueues"), "queue statistics")
        devices = _rows(await self._action("3.0", "DeviceStates"), "device")
        call_rows = _rows(await self._action("3.5", "RTStatsCalls"), "call")
        if live is None:
            live = self._read_sessions(sessions, call_rows)
        agents = self._agents(live)
        queues = self._read_queues(queue_rows, stats, agents)
        calls = self._read_calls(call_rows)
        missed = None
        if not self._legacy:
            missed = await self._missed_today()
            await self._read_last_callers()
        return Snapshot(
            account=self._account(),
            agents=agents,
            queues=queues,
            registrations=self._read_devices(devices),
            calls=calls,
            missed_calls_today=missed,
            last_caller=self._last_caller[1] if self._last_caller else None,
            pause_reasons=tuple(self._pauses),
            # GetUsers, GetQueues and DeviceStates list everything there is (D:493, D:160,
            # D:1565): only there does a missing agent, queue or line mean it is gone.
            complete=frozenset({Listing.QUEUES, Listing.REGISTRATIONS})
            | (frozenset() if self._users_refused else {Listing.AGENTS}),
            problems=(
                (ProviderProblem(ProblemKind.MISSING_PERMISSION, "GetUsers"),)
                if self._users_refused
                else ()
            ),
        )

    def _read_users(self, result: object) -> None:
        users: dict[str, _User] = {}
        for row in _one_or_many(result, "user", "user"):
            user_id, login = _text(row.get("user")), _text(row.get("name"))
            if user_id and login and str(row.get("deleted")) != "1":
                users[login] = _User(user_id, login, _text(row.get("title")) or login)
        self._users = users
        self._user_logins = {user.user_id: login for login, user in users.items()}
        self._users_read_at = time.monotonic()

    def _read_pauses(self, rows: list[Json]) -> None:
        """Both documented shapes: 3.3 `pause`/`title`/`type` (D:1768-1783), 3.0
        `pcode_id`/`pcode_desc` (D:1789-1811, without a documented type)."""
        pauses: dict[str, str] = {}
        info: dict[str, tuple[str, str]] = {}
        for row in rows:
            pause_id = _text(row.get("pause", row.get("pcode_id")))
            title = _text(row.get("title", row.get("pcode_desc")))
            kind = str(row.get("type") or "").lower()
            if pause_id and title:
                info[pause_id] = (title, kind)
                if str(row.get("deleted")) != "1" and kind not in SYSTEM_PAUSE_TYPES:
                    pauses[title] = pause_id
        self._pauses = pauses
        self._pause_info = info

    def _read_users_state(self, rows: list[Json]) -> list[_LiveAgent]:
        """RTUsersState 4.1 (D:2405-2466): every agent logged in, with calls and queues."""
        live: list[_LiveAgent] = []
        self._call_owners = {}
        for row in rows:
            login = _text(row.get("agent_name"))
            if login is None:
                raise PbxResponseError("Daktela sent a user without agent_name")
            if login not in self._users and login not in self._unlisted:
                # Someone new: read GetUsers at the next poll (once: it may never list them).
                self._unlisted.add(login)
                self._users_read_at = None
            calls = row.get("calls")
            calls = [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
            for call in calls:
                if call_id := _text(call.get("id_call")):
                    self._call_owners[call_id] = login
            queues = row.get("login_oqueues")
            live.append(
                _LiveAgent(
                    login=login,
                    title=_text(row.get("agent_title")),
                    extension=_text(row.get("exten")),
                    state=str(row.get("agent_state") or ""),
                    pause_id=_text(row.get("id_pause")),
                    call_partner=CZECH_NUMBERS.read(calls[0].get("clid")) if calls else None,
                    queue_ids=tuple(
                        str(queue["queue"])
                        for queue in (queues if isinstance(queues, list) else [])
                        if isinstance(queue, dict)
                        and queue.get("rt_logged") is True
                        and "queue" in queue
                    ),
                )
            )
        return live

    def _read_sessions(self, rows: list[Json], call_rows: list[Json]) -> list[_LiveAgent]:
        """RTStatsSessions 3.5 (D:2227-2259), named through GetUsers; the call partner from
        RTStatsCalls (D:2095-2128), which names agents by user id too."""
        partners: dict[str, str] = {}
        for call in call_rows:
            users = call.get("users")
            agent = _text(call.get("agent")) or (
                _text(users[0]) if isinstance(users, list) and users else None
            )
            if agent and (partner := CZECH_NUMBERS.read(call.get("clid"))):
                partners.setdefault(agent, partner)
        live: list[_LiveAgent] = []
        for row in rows:
            user_id = _text(row.get("id"))
            if user_id is None:
                raise PbxResponseError("Daktela sent a session without an id")
            queues = row.get("queues")
            user = self._users.get(self._user_logins.get(user_id, ""))
            live.append(
                _LiveAgent(
                    login=user.login if user else user_id,
                    title=user.title if user else None,
                    extension=_text(row.get("extension")),
                    state=str(row.get("state") or ""),
                    pause_id=_text(row.get("pause")),
                    call_partner=partners.get(user_id),
                    queue_ids=tuple(str(q) for q in queues) if isinstance(queues, list) else (),
                )
            )
        return live

    def _agents(self, live: list[_LiveAgent]) -> dict[str, Agent]:
        """Everyone GetUsers lists, in their live state or logged out."""
        agents: dict[str, Agent] = {}
        self._line_agents = {}
        for row in live:
            state = AGENT_STATES.get(row.state.strip().lower(), AgentState.UNKNOWN)
            pause_title, pause_type = self._pause_info.get(row.pause_id or "", (None, ""))
            if state is AgentState.PAUSED and pause_type == WRAP_PAUSE_TYPE:
                state = AgentState.WRAP_UP
            if row.extension:
                self._extensions[row.login] = row.extension
                self._line_agents[row.extension] = row.login
            known = self._users.get(row.login)
            agents[row.login] = Agent(
                agent_id=row.login,
                name=row.title or (known.title if known else row.login),
                state=state,
                extension=row.extension,
                logged_in=True,
                paused=state in (AgentState.PAUSED, AgentState.WRAP_UP),
                pause_reason=pause_title if row.state.strip().lower() == "paused" else None,
                call_partner=row.call_partner,
                queue_ids=row.queue_ids,
            )
        for login, user in self._users.items():
            if login not in agents:
                agents[login] = Agent(
                    agent_id=login,
                    name=user.title,
                    state=AgentState.LOGGED_OUT,
                    extension=self._extension_of(login, None),
                    logged_in=False,
                    paused=False,
                )
        return agents

    def _read_queues(
        self, rows: list[Json], stats: list[Json], agents: dict[str, Agent]
    ) -> dict[str, Queue]:
        names: dict[str, str] = {}
        self._queue_numbers = {}
        self._incoming_queues = []
        for row in rows:
            queue_id = _text(row.get("queue"))
            if queue_id is None or str(row.get("deleted")) == "1":
                continue
            number = _text(row.get("name"))
            if number:
                self._queue_numbers[queue_id] = number
            if row.get("direction") == "in":
                self._incoming_queues.append(queue_id)
            names[queue_id] = _text(row.get("title")) or number or queue_id
        queues: dict[str, Queue] = {}
        for row in stats:
            queue_id = _text(row.get("id"))
            if queue_id is None:
                raise PbxResponseError("Daktela sent queue statistics without an id")
            longest = parse_int(row.get("calls_time"))
            queues[queue_id] = Queue(
                queue_id=queue_id,
                name=names.get(queue_id, queue_id),
                waiting_calls=parse_int(row.get("calls_wait")),
                longest_wait=float(longest) if longest is not None else None,
                agents_logged_in=parse_int(row.get("users_total")),
                agents_ready=parse_int(row.get("users_ready")),
                agents_busy=parse_int(row.get("users_busy")),
                agents_paused=parse_int(row.get("users_pause")),
                member_ids=tuple(
                    login for login, agent in agents.items() if queue_id in agent.queue_ids
                ),
            )
        for queue_id, name in names.items():  # queues without statistics: nobody logged in
            queues.setdefault(queue_id, Queue(queue_id=queue_id, name=name))
        return queues

    @staticmethod
    def _read_devices(rows: list[Json]) -> dict[str, SipRegistration]:
        registrations: dict[str, SipRegistration] = {}
        for row in rows:
            exten = _text(row.get("exten"))
            if exten is None:
                raise PbxResponseError("Daktela sent a device without exten")
            status = str(row.get("status") or "").upper()
            ip = _text(row.get("ip"))
            registrations[exten] = SipRegistration(
                registration_id=exten,
                name=exten,
                kind=SipKind.EXTENSION,
                registered=bool(status) and status != "UNAVAILABLE",
                status=status or None,
                ip=ip if ip != "-none-" else None,
                port=parse_int(row.get("port")) or None,
            )
        return registrations

    def _read_calls(self, rows: list[Json]) -> dict[str, Call]:
        calls: dict[str, Call] = {}
        for row in rows:
            call_id = _text(row.get("id"))
            if call_id is None:
                raise PbxResponseError("Daktela sent a call without an id")
            incoming = row.get("direction") == "in"
            partner = CZECH_NUMBERS.read(row.get("clid"))
            users = row.get("users")
            agent_number = _text(row.get("agent")) or (
                _text(users[0]) if isinstance(users, list) and users else None
            )
            agent = self._user_logins.get(agent_number or "", agent_number)
            if agent and call_id not in self._call_owners:
                self._call_owners[call_id] = agent
            started = _time(row.get("enter_time_absolute"))
            if incoming and partner and started:
                self._remember_caller(started, partner)
            calls[call_id] = Call(
                call_id=call_id,
                direction=CallDirection.INCOMING if incoming else CallDirection.OUTGOING,
                state=CALL_STATES.get(str(row.get("state") or "").lower(), CallState.UNKNOWN),
                caller=partner if incoming else None,
                callee=None if incoming else partner,
                agent_id=agent,
                queue_id=_text(row.get("queue")),
                started=started,
                answered=_time(row.get("answer_time_absolute")),
            )
        return calls

    def _remember_caller(self, when: datetime, number: str) -> None:
        if self._last_caller is None or when >= self._last_caller[0]:
            self._last_caller = (when, number)

    def _today(self) -> dict[str, str]:
        now = datetime.now(PRAGUE)
        return {
            "datetime_from": now.strftime("%Y-%m-%d 00:00:00"),
            "datetime_to": now.strftime(TIME_FORMAT),
        }

    async def _missed_today(self) -> int | None:
        """Today's unanswered calls in incoming queues: StatsCalls 4.1 (D:2546-2588)
        `answered=false`, whose `total` is the count (one row asked for)."""
        if not self._incoming_queues:
            return 0
        params = {
            **self._today(),
            "answered": "false",
            **_array("queues", self._incoming_queues),
            "take": "1",
        }
        try:
            result = await self._action("4.1", "StatsCalls", params)
        except PbxResponseError as err:
            _LOGGER.debug("Daktela StatsCalls refused, no missed-call count: %s", err)
            return None
        return parse_int(result.get("total")) if isinstance(result, dict) else None

    async def _read_last_callers(self) -> None:
        """The newest of today's incoming queue calls (StatsCalls 4.1), so that a caller
        a hook reported is still the last caller after calls too short for a poll.

        The order of StatsCalls rows is undocumented: the first and the last row are read
        (two requests at most), and the newer counts.
        """
        if not self._incoming_queues:
            return
        params = {**self._today(), **_array("queues", self._incoming_queues), "take": "1"}
        first = await self._stats_calls_page(params, 0)
        if first is None:
            return
        rows, total = first
        if total > 1 and (last := await self._stats_calls_page(params, total - 1)):
            rows += last[0]
        for row in rows:
            when, number = _time(row.get("call_time")), CZECH_NUMBERS.read(row.get("clid"))
            if row.get("direction") == "in" and when and number:
                self._remember_caller(when, number)

    async def _stats_calls_page(
        self, params: dict[str, str], skip: int
    ) -> tuple[list[Json], int] | None:
        """One page of StatsCalls: its rows and `total`; None when refused."""
        try:
            result = await self._action("4.1", "StatsCalls", {**params, "skip": str(skip)})
        except PbxResponseError as err:
            _LOGGER.debug("Daktela StatsCalls refused, last caller from live calls: %s", err)
            return None
        if not isinstance(result, dict):
            return None
        data = result.get("data")
        rows = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
        return rows, parse_int(result.get("total")) or 0

    # --- lookups for actions --------------------------------------------------------------

    async def _call_owner(self, call_id: str) -> str:
        """The login of the agent on a live call (read again if the snapshot missed it)."""
        if call_id not in self._call_owners:
            if self._legacy:
                self._read_calls(_rows(await self._action("3.5", "RTStatsCalls"), "call"))
            else:
                self._read_users_state(_rows(await self._action("4.1", "RTUsersState"), "user"))
        try:
            return self._call_owners[call_id]
        except KeyError:
            raise PbxInvalidInput(
                f"{self.title} can only act on a live call of a logged-in agent; "
                f"call {call_id} is not one"
            ) from None

    def _user_number(self, login: str) -> str:
        """The numeric user ID of an agent named by login (GetUsers `user`)."""
        if user := self._users.get(login):
            return user.user_id
        if login in self._user_logins:
            return login  # given as the ID already
        raise PbxInvalidInput(f"{self.title} knows no agent {login!r}")

    async def _queue_number(self, queue_id: str) -> str:
        if queue_id in self._queue_numbers.values():
            return queue_id  # given as the queue number already
        if queue_id not in self._queue_numbers:
            row = await self._action("3.0", "GetQueues", item_id=queue_id)
            if not isinstance(row, dict) or not _text(row.get("name")):
                raise PbxResponseError(f"Daktela sent no number for queue {queue_id}")
            self._queue_numbers[queue_id] = str(row["name"])
        return self._queue_numbers[queue_id]

    async def _pause_id(self, reason: str | None) -> str:
        if not self._pauses or (reason and reason.casefold() not in self._pause_keys()):
            self._read_pauses(_rows(await self._action("3.3", "GetPauses"), "pause"))
        if reason is None:
            if not self._pauses:
                raise PbxInvalidInput(f"{self.title} has no pause to set")
            return next(iter(self._pauses.values()))
        keys = self._pause_keys()
        if reason.casefold() not in keys:
            raise PbxInvalidInput(
                f"{self.title} has no pause named {reason!r}; "
                f"choose one of: {', '.join(self._pauses)}"
            )
        return keys[reason.casefold()]

    def _pause_keys(self) -> dict[str, str]:
        return {title.casefold(): pause_id for title, pause_id in self._pauses.items()}

    def _extension_of(self, agent_id: str, named: str | None) -> str | None:
        """The extension to log an agent in at: the one named, the one in the options,
        or the one the agent was last seen at (Login and LoginQueue need it, D:201, D:615)."""
        configured = self._options.get(OPTION_AGENT_EXTENSIONS) or {}
        return named or configured.get(agent_id) or self._extensions.get(agent_id)

    # --- actions ------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """Place a call; the source says which of the documented actions does it.

        A user: CreateCall (3.1, the call-centre form); an extension: CreateCall (3.0); a
        line that is a phone number: CreateRemoteCall (3.8: ring that number first, then
        connect `number`); any other line: ClickToCall (3.9) into that Click-to-Call queue.
        Only CreateCall answers automatically, and ClickToCall sets no ring time: asked
        for elsewhere, they are refused rather than dropped.
        """
        source = request.source
        if source is None:
            raise PbxInvalidInput(f"{self.title} needs a user, an extension or a line to dial from")
        if request.caller_id:
            raise PbxInvalidInput(
                f"{self.title} takes the caller id from the queue or line, not per call"
            )
        number = self.format_number(request.number)
        timeout = str(request.ring_timeout) if request.ring_timeout else None
        params: dict[str, str]
        if source.kind in (DialSourceKind.USER, DialSourceKind.EXTENSION):
            user = source.kind is DialSourceKind.USER
            params = {"user" if user else "extension": source.value, "number": number}
            if request.auto_answer:
                params["autoanswer"] = "yes"
            if timeout:
                params["waitingtime"] = timeout
            result = await self._action("3.1" if user else "3.0", "CreateCall", params, once=True)
        elif request.auto_answer:
            raise PbxInvalidInput(
                f"{self.title} answers automatically only on a user's or an extension's phone"
            )
        elif source.value.startswith("+"):
            params = {
                "primarynumber": self.format_number(source.value),
                "secondarynumber": number,
            }
            if timeout:
                params["dialingtime"] = timeout
            result = await self._action("3.8", "CreateRemoteCall", params, once=True)
        elif timeout:
            # ClickToCall's `waitingtime` is how long the call waits in the queue (D:971).
            raise PbxInvalidInput(f"{self.title} sets no ring time for a Click-to-Call queue")
        else:
            params = {"queue": source.value, "number": number}
            result = await self._action("3.9", "ClickToCall", params, once=True)
        return CallResult(_text(result.get("id_call")) if isinstance(result, dict) else None)

    async def async_hangup(self, request: HangupRequest) -> None:
        """Hangup by call id, user or extension (no channels in this API)."""
        keys = {
            HangupTargetKind.CALL: "call",
            HangupTargetKind.USER: "user",
            HangupTargetKind.EXTENSION: "extension",
        }
        key = keys.get(request.kind)
        if key is None:
            raise PbxInvalidInput(f"{self.title} hangs up by call, user or extension")
        await self._action("3.0", "Hangup", {key: request.value}, once=True)

    async def async_transfer(self, request: TransferRequest) -> None:
        """Transfer (blind) the agent's side of the call to a number, a user or a queue.

        `dst_user` takes the user's numeric ID and `dst_queue` the queue's ID (D:829-838);
        agents are named by login here, so the login is looked up.
        """
        params = {"user": await self._call_owner(request.call_id), "type": "blind"}
        if request.target is TransferTargetKind.AGENT:
            params["dst_user"] = self._user_number(request.destination)
        elif request.target is TransferTargetKind.QUEUE:
            params["dst_queue"] = request.destination
        else:
            params["number"] = self.format_number(request.destination)
        await self._action("3.0", "Transfer", params, once=True)

    async def async_announce(self, request: AnnounceRequest) -> CallResult:
        """Play a recording into a live call (ControlPlayback 3.6, D:988-1039), or call a
        number into the announcement route named in the options (CreateRemoteCall 3.8 with
        `directdid`, D:1186-1194). Daktela has no text to speech."""
        if request.text:
            raise PbxInvalidInput(
                f"{self.title} plays stored recordings only (no text to speech): into a live "
                "call, or to a number through the announcement route of the options"
            )
        if request.call_id:
            if not request.recording:
                raise PbxInvalidInput(f"{self.title} plays a stored `recording` into a call")
            user = await self._call_owner(request.call_id)
            await self._action(
                "3.6",
                "ControlPlayback",
                {"user": user, "command": "play", "recording": request.recording},
                once=True,
            )
            return CallResult(request.call_id)
        if not request.number:
            raise PbxInvalidInput(f"{self.title} announces to a number or into a live call")
        route = _text(self._options.get(OPTION_ANNOUNCEMENT_ROUTE))
        if route is None:
            raise PbxInvalidInput(
                f"{self.title} announces to a number through an incoming route that plays "
                "an announcement: name that route in the options, or give the call_id of a "
                "live call"
            )
        params = {
            "primarynumber": self.format_number(request.number),
            "secondarynumber": route,
            "directdid": "true",
        }
        if request.recording:  # for the route's dialplan: ${HASH(CRMAPI,recording)}
            params["variables[recording]"] = request.recording
        result = await self._action("3.8", "CreateRemoteCall", params, once=True)
        return CallResult(_text(result.get("id_call")) if isinstance(result, dict) else None)

    async def _sms_settings(self) -> Json:
        result = await self._action("3.1", "GetSMSSettings")
        settings = result.get("settings") if isinstance(result, dict) else None
        if not isinstance(settings, dict):
            raise PbxResponseError("Daktela sent SMS settings without `settings`")
        self._sms_connect = str(settings.get("enabled_sms") or "").upper() == SMS_CONNECT
        return settings

    async def async_send_sms(self, request: SmsRequest) -> SmsResult:
        """SendSMS (3.1) through the hosted gateway; SMS Connect when a sender is named or
        the account has only SMS Connect (`enabled_sms: CONNECT`, D:2787), which refuses
        SendSMS: SendSMSConnect 4.1, on 3.x SendGroupSMSConnect 3.1 for one number.

        Text that is not ASCII goes with `unicode`, since Daktela converts it to ASCII
        otherwise (D:2926-2927, D:3222-3223); SendGroupSMSConnect documents no `unicode`.
        One request per recipient: the single-message actions are the documented ones.
        A text longer than the actions take (D:2920) is refused before anything is sent.
        """
        limit = SMS_MAX_ASCII if request.message.isascii() else SMS_MAX_UNICODE
        if len(request.message) > limit:
            raise PbxInvalidInput(
                f"{self.title} takes at most {limit} characters in an SMS "
                f"({SMS_MAX_UNICODE} with diacritics or other non-ASCII letters); "
                f"this one has {len(request.message)}"
            )
        sender = request.sender or self._options.get(OPTION_SMS_SENDER)
        if not sender and self._sms_connect is None:
            await self._sms_settings()
        connect = bool(sender) or bool(self._sms_connect)
        unicode = {} if request.message.isascii() else {"unicode": "yes"}
        from_sender = {"sender": str(sender)} if sender else {}

        async def send(recipient: str) -> str | None:
            if connect and self._legacy:
                params = {"number[0]": recipient, "message[0]": request.message, **from_sender}
                result = await self._action("3.1", "SendGroupSMSConnect", params, once=True)
                return self._group_message_id(result)
            if connect:
                params = {"number": recipient, "message": request.message, **from_sender}
                result = await self._action(
                    "4.1", "SendSMSConnect", {**params, **unicode}, once=True
                )
            else:
                params = {"number": self.format_number(recipient), "message": request.message}
                result = await self._action("3.1", "SendSMS", {**params, **unicode}, once=True)
            return _text(result.get("id")) if isinstance(result, dict) else None

        return SmsResult(await self._send_to_each(request.recipients, send))

    @staticmethod
    def _group_message_id(result: object) -> str | None:
        """The message's id in a group answer (D:3190): the rows besides the group's own."""
        rows = list(result.values()) if isinstance(result, dict) else []
        ids = [
            _text(row.get("id"))
            for row in rows
            if isinstance(row, dict) and str(row.get("id")) != str(row.get("group_id"))
        ]
        return next((i for i in ids if i), None)

    async def async_agent_login(self, agent_id: str, extension: str | None = None) -> None:
        params = {"user": agent_id}
        if at := self._extension_of(agent_id, extension):
            params["extension"] = at
        await self._action("3.4", "Login", params, once=True)

    async def async_agent_logout(self, agent_id: str) -> None:
        await self._action("3.4", "Logout", {"user": agent_id}, once=True)

    async def async_agent_pause(self, agent_id: str, reason: str | None = None) -> None:
        """PauseOn with the pause named `reason` (GetPauses titles); none: the first one."""
        pause = await self._pause_id(reason)
        await self._action("3.0", "PauseOn", {"user": agent_id, "pause": pause}, once=True)

    async def async_agent_unpause(self, agent_id: str) -> None:
        await self._action("3.0", "PauseOff", {"user": agent_id}, once=True)

    async def async_queue_login(
        self, agent_id: str, queue_id: str, extension: str | None = None
    ) -> None:
        params = {"user": agent_id, "queue": await self._queue_number(queue_id)}
        if at := self._extension_of(agent_id, extension):
            params["extension"] = at
        await self._action("3.0", "LoginQueue", params, once=True)

    async def async_queue_logout(self, agent_id: str, queue_id: str) -> None:
        queue = await self._queue_number(queue_id)
        await self._action("3.0", "LogoutQueue", {"user": agent_id, "queue": queue}, once=True)

    # --- webhooks -----------------------------------------------------------------------

    def _keep_secret(self, url: str) -> None:
        """Our URL holds the webhook id: keep it out of the logged SetSMSSettings request."""
        if url not in self._secrets:
            self._secrets += (url,)

    @staticmethod
    def _sms_callback(url: str) -> str:
        """Our URL with every documented placeholder, so no parameter depends on defaults."""
        return url + ("&" if "?" in url else "?") + SMS_PLACEHOLDERS

    async def _incoming_callback(self) -> str | None:
        return _text((await self._sms_settings()).get("incoming_callback"))

    async def async_register_webhook(self, url: str) -> list[str]:
        """Set the SMS `incoming_callback` to us, unless someone else's is set.

        Daktela keeps one callback URL, so a different one cannot be kept beside ours.
        Call hooks live in the dialplan, which only an administrator can edit.
        """
        self._keep_secret(url)
        current = await self._incoming_callback()
        if current in (url, self._sms_callback(url)):
            return []
        if current:
            raise PbxResponseError(
                f"{self.title} already sends received SMS to another URL; remove it in "
                "the SMS settings first, since Daktela keeps only one"
            )
        await self._action(
            "3.1", "SetSMSSettings", {"incoming_callback": self._sms_callback(url)}, once=True
        )
        return []

    async def async_unregister_webhook(self, url: str) -> None:
        """Clear the SMS `incoming_callback` if it is ours; leave anyone else's."""
        self._keep_secret(url)
        if await self._incoming_callback() in (url, self._sms_callback(url)):
            await self._action("3.1", "SetSMSSettings", {"incoming_callback": ""}, once=True)

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookItem]:
        """A dialplan hook or the SMS callback: a query, or for a POST also a form body."""
        if request.method.upper() not in self.webhook_methods:
            raise PbxInvalidInput(f"{self.title} calls webhooks with GET or POST only")
        query = {str(k): str(v) for k, v in request.query.items()}
        if request.method.upper() == "POST" and request.body.strip():
            try:
                form = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                raise PbxInvalidInput(f"{self.title} hook body is not UTF-8") from None
            query.update(form)
        if "message" in query and ("number" in query or "direction" in query):
            return [self._parse_sms(query)]
        action = query.get("action", "").strip().lower()
        if ("callid" in query or "dnd" in query) and action in ("", "ringing"):
            # The incoming-call hook: `callid` is ${CALLERID(num)}, not an id.
            return [
                CallEvent(
                    event_type=CallEventType.INCOMING,
                    call_id=_text(query.get("idcall")),
                    direction=CallDirection.INCOMING,
                    caller=CZECH_NUMBERS.read(query.get("callid")),
                    callee=CZECH_NUMBERS.read(query.get("dnd")),
                    raw=query,
                )
            ]
        if action not in HOOK_EVENTS:
            raise PbxInvalidInput(f"not a {self.title} call hook or SMS callback")
        incoming = bool(query.get("calleeId", "").strip())  # ${FROM_DID}: set on incoming
        return [
            CallEvent(
                event_type=HOOK_EVENTS[action],
                call_id=_text(query.get("idcall")),
                direction=CallDirection.INCOMING if incoming else CallDirection.OUTGOING,
                caller=CZECH_NUMBERS.read(query.get("callerId")),
                callee=CZECH_NUMBERS.read(query.get("calleeId")),
                line=_text(query.get("line")),
                raw=query,
            )
        ]

    def resolve_webhook_items(
        self, items: list[WebhookItem], snapshot: Snapshot | None
    ) -> list[WebhookItem]:
        """The hooks' `line` is ${REAL_EXTEN} (D:56): the agent logged in at that extension,
        as RTUsersState's `exten` said at the last poll (one lookup an event)."""
        if snapshot is None:
            return items
        return [self._resolve_line(item, snapshot) for item in items]

    def _resolve_line(self, item: WebhookItem, snapshot: Snapshot) -> WebhookItem:
        if isinstance(item, CallEvent) and item.agent_id is None and item.line:
            login = self._line_agents.get(item.line)
            if login is not None and login in snapshot.agents:
                return replace(item, agent_id=login)
        return item

    @staticmethod
    def _parse_sms(query: dict[str, str]) -> SmsMessage:
        direction = query.get("direction", "in").strip().lower()
        if direction not in ("in", "out"):
            raise PbxInvalidInput(f"unknown SMS direction {direction!r}")
        number = CZECH_NUMBERS.read(query.get("number"))
        incoming = direction == "in"
        return SmsMessage(
            sms_id=_text(query.get("id")),
            direction=SmsDirection.INCOMING if incoming else SmsDirection.OUTGOING,
            sender=number if incoming else None,
            recipient=None if incoming else number,
            text=query["message"],
            status="received" if incoming else "sent",
            raw=query,
        )
