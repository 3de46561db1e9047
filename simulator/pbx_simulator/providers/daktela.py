"""Daktela legacy API 3.x-4.x wire format (see shared/provider-docs/daktela-legacy-api.txt).

Every action is `GET /api/<VERSION>/<ACTION>[/<ID>]/<FORMAT>?access_token=…&<params>`; the
token and parameters may also come as cookies (and we take a form body too). FORMAT is
`json` or `xml`. The token is SHA1(login + password). Answers are HTTP 200 with
`{"status":1,"error":null,"result":…}`, or `status:0` and a Czech `error` text; a bad token
is the documented `Uživatel neexistuje` for GetUser (D:481-486); other actions' answer to one is
undocumented, so they give the stricter one: HTTP 200, `status: 0` and a text of their own,
which a client cannot recognise without asking GetUser.

Each action has the version it requires; an older version is refused (CreateCall by
`user` needs 3.1, by `extension` 3.0). `max_version` makes the simulator an older server:
at 3.9 it has no 4.x actions, and asking for a version it lacks is an HTTP 404 (how a real
server answers that is undocumented).

Kept from the documentation as it is: the JSON is PHP's (`\\/`, `\\u` escapes), the key order
and the missing `result` of some answers (`{"error":null,"status":1}`), the extra closing
`}` of CreateCall by user, the space in SendSMS's `{"count_sms":"1", "id":"2222"}`, GetUser's
empty-string result and its error in raw UTF-8, the two GetPauses shapes (3.0 `pcode_*`,
3.3 `pause`/`title`), the incoming-call hook whose `callid` is the caller's number.

Call events reach the dialplan hooks (`notify_crm_api.agi`) an administrator configures in
the PBX, not through the API: `set_dialplan_hook` stands in for that. The SMS
`incoming_callback` set by SetSMSSettings is called with its `$number`, `$message`, `$id`,
`$direction` placeholders filled in; the ones it lacks are appended to the URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any
import unicodedata
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from ..state import (
    AgentStatus,
    CallStatus,
    Direction,
    SimAgent,
    SimCall,
    SimEvent,
    SimLine,
    SimQueue,
    SimSms,
)
from .base import BaseProviderSim

if TYPE_CHECKING:
    from ..app import Simulator

PRAGUE = ZoneInfo("Europe/Prague")
DEMO_LOGIN = "api.demo"
DEMO_PASSWORD = "Dk-demo-2024-secret"
SUPPORTED_VERSIONS = ((3, 0), (4, 1))  # the legacy API's range
BILLING_ID = "674"
FIRST_QUEUE_NUMBER = 2000
WRONG_TOKEN_GET_USER = "Uživatel neexistuje"
WRONG_TOKEN = "Neplatný přístupový token"
NOT_LOGGED_IN_OUTBOUND = "Agent není přihlášen do odchozí kampaně/fronty"
PAUSE_NOT_FOUND = "Tato pauza nebyla nalezena"
SMS_PLACEHOLDERS = ("number", "message", "id", "direction")
# GetSMSSettings `enabled_sms`: the documented SMS-Connect-only value (D:2787), and the value
# this simulator shows for a hosted-gateway account (undocumented).
SMS_CONNECT = "CONNECT"
SMS_GATEWAY = "SIM"
SMS_GATEWAY_OFF = "Odesílání přes SMS bránu není pro tento účet povoleno"
# The PBX's own pauses (GetPauses 3.3 `type`, D:1735): after a call, and for idling.
SYSTEM_PAUSES = (("Wrap", "wrap"), ("Lajdak", "lajdak"))
# The longest SMS text SendSMS, SendSMSConnect and SendGroupSMSConnect take (D:2920, D:2877,
# D:3167, D:3208): 1377 characters, "utf8" 603; the stricter reading applies 603 to any text
# that is not ASCII or goes with `unicode`. The refusal's text is undocumented.
SMS_MAX_ASCII = 1377
SMS_MAX_UNICODE = 603
SMS_TOO_LONG = "Text SMS zprávy je příliš dlouhý"
# StatsCalls returns at most 1000 calls, "after exceeding an error is returned" (D:2548):
# the stricter reading refuses a query that matches more, whatever `take` says. The text of
# that error is undocumented.
STATS_CALLS_LIMIT = 1000
STATS_CALLS_TOO_MANY = "Překročen maximální limit 1000 vrácených hovorů"
NEEDS_EXTENSION = "Agent nemá svázanou linku, je třeba předat extension"
CALL_STATES = {
    CallStatus.QUEUED: "Waiting",
    CallStatus.RINGING: "Ringing",
    CallStatus.ANSWERED: "Speaking",
    CallStatus.ON_HOLD: "On Hold",
}
DEVICE_STATES = {
    AgentStatus.RINGING: "RINGING",
    AgentStatus.IN_CALL: "INUSE",
    AgentStatus.ON_HOLD: "ONHOLD",
}

# Per request (each runs in its own task): the answer's format and the API version asked for.
_FORMAT: ContextVar[str] = ContextVar("daktela_format", default="json")
_VERSION: ContextVar[tuple[int, ...]] = ContextVar("daktela_version", default=(3, 0))

type Params = MultiDict[str]
type Result = Any
type Action = Callable[[Params, str | None], Awaitable[web.Response]]


class DaktelaRefusedError(Exception):
    """A request Daktela answers with `status: 0` and this text as `error`."""


def access_token(login: str, password: str) -> str:
    return hashlib.sha1((login + password).encode(), usedforsecurity=False).hexdigest()


# A JSON string, or an empty object: `json.dumps` writes one as `{}` exactly.
_STRING_OR_EMPTY_OBJECT = re.compile(r'"(?:[^"\\]|\\.)*"|\{\}')


def php_json(data: Any, *, ascii_only: bool = True) -> str:
    """JSON as PHP's json_encode writes it: `\\u` escapes, `\\/`, `[]` for empty maps.

    PHP has one array type: an empty one is written `[]`, even where a map is meant. The
    text is mended rather than the data copied, which bulk answers would make slow.
    """
    text = json.dumps(data, ensure_ascii=ascii_only, separators=(",", ":"))
    if "{}" in text:
        text = _STRING_OR_EMPTY_OBJECT.sub(lambda m: "[]" if m[0] == "{}" else m[0], text)
    return text.replace("/", "\\/")


def national(number: str) -> str:
    """A number as Daktela writes it: Czech ones national (`603927227`), others `00<cc>…`."""
    if number.startswith("+420"):
        return number[4:]
    if number.startswith("+"):
        return "00" + number[1:]
    return number


def timestamp(moment: datetime | None) -> str | None:
    """Daktela writes local (Prague) time without a zone."""
    return moment.astimezone(PRAGUE).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _check_sms_length(message: str, *, unicode: bool) -> None:
    limit = SMS_MAX_UNICODE if unicode or not message.isascii() else SMS_MAX_ASCII
    if len(message) > limit:
        raise DaktelaRefusedError(SMS_TOO_LONG)


def to_ascii(text: str) -> str:
    """Text as Daktela sends it without `unicode`: diacritics dropped (`Žluťoučký` ->
    `Zlutoucky`), letters with no ASCII form (Hebrew) as `?`."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(
        char if char.isascii() else "?" for char in plain if not unicodedata.combining(char)
    )


def _xml(value: Any, tag: str, key: str | None = None) -> str:
    attr = f" key={quoteattr(key)}" if key is not None else ""
    if isinstance(value, dict):
        inner = "".join(
            _xml(v, k, None) if k.isidentifier() else _xml(v, "item", k) for k, v in value.items()
        )
    elif isinstance(value, list):
        inner = "".join(_xml(v, "item") for v in value)
    elif value is None:
        return f"<{tag}{attr}/>"
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    else:
        inner = escape(str(value))
    return f"<{tag}{attr}>{inner}</{tag}>"


class DaktelaSim(BaseProviderSim):
    provider = "daktela"
    base_path = ""
    default_credentials = {  # noqa: RUF012
        "access_token": access_token(DEMO_LOGIN, DEMO_PASSWORD),
        "login": DEMO_LOGIN,
        "password": DEMO_PASSWORD,
    }

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.dialplan_hook: str | None = None
        self.sms_settings: dict[str, str | None] = {
            "incoming_callback": None,
            "outgoing_callback": None,
            "incoming_email": None,
            "outgoing_email": None,
            "sending_rate_limit": "0",
            "sending_rate_time": "0",
            "allowed_hour_begin": "0",
            "allowed_hour_end": "0",
        }
        self.playback: dict[str, str] = {}  # call id -> recording being played
        self.max_version: tuple[int, int] = SUPPORTED_VERSIONS[1]
        self.enabled_sms = SMS_GATEWAY
        self.stats_calls_limit = STATS_CALLS_LIMIT  # lower in tests instead of 1001 calls
        self.login_extensions: dict[str, str] = {}  # agent id -> extension named at login
        self.remote_call_variables: dict[str, dict[str, str]] = {}  # call id -> `variables`
        self._seen_login = (self.credentials.get("login"), self.credentials.get("password"))
        self._seen_token = self.credentials.get("access_token")
        # Action -> (required version, handler).
        self.actions: dict[str, tuple[tuple[int, int], Action]] = {
            "GetUser": ((4, 0), self._get_user),
            "GetUsers": ((3, 0), self._get_users),
            "GetQueues": ((3, 0), self._get_queues),
            "LoginQueue": ((3, 0), self._login_queue),
            "LogoutQueue": ((3, 0), self._logout_queue),
            "Login": ((3, 4), self._login),
            "Logout": ((3, 4), self._logout),
            "PauseOn": ((3, 0), self._pause_on),
            "PauseOff": ((3, 0), self._pause_off),
            "GetPauses": ((3, 0), self._get_pauses),
            "Transfer": ((3, 0), self._transfer),
            "Hangup": ((3, 0), self._hangup),
            "ControlPlayback": ((3, 6), self._control_playback),
            "CreateCall": ((3, 0), self._create_call),
            "ClickToCall": ((3, 9), self._click_to_call),
            "CreateRemoteCall": ((3, 8), self._create_remote_call),
            "DeviceStates": ((3, 0), self._device_states),
            "RTStatsCalls": ((3, 5), self._rt_stats_calls),
            "RTUsersState": ((4, 1), self._rt_users_state),
            "RTStatsSessions": ((3, 5), self._rt_stats_sessions),
            "RTStatsQueues": ((3, 5), self._rt_stats_queues),
            "RTStatsQueuesSummary": ((3, 5), self._rt_stats_queues_summary),
            "LastCall": ((3, 9), self._last_call),
            "LastCallNumber": ((3, 9), self._last_call_number),
            "CDR": ((3, 5), self._cdr),
            "StatsCalls": ((4, 1), self._stats_calls),
            "SendSMS": ((3, 1), self._send_sms),
            "SendSMSConnect": ((4, 1), self._send_sms_connect),
            "SendGroupSMSConnect": ((3, 1), self._send_group_sms_connect),
            "GetSMSSettings": ((3, 1), self._get_sms_settings),
            "SetSMSSettings": ((3, 1), self._set_sms_settings),
        }
        self.state.subscribe(self._on_event)

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{version}/{action}/{format}", self._handle)
        app.router.add_route("*", "/api/{version}/{action}/{item_id}/{format}", self._handle)

    def endpoint_key(self, request: web.Request, path: str) -> str:
        parts = path.split("/")
        if len(parts) >= 5 and parts[1] == "api":
            return parts[3]
        return f"{request.method} {path}"

    def set_max_version(self, version: str) -> None:
        """Serve as a server of this version (`3.9`: no 4.x actions)."""
        major, _, minor = version.partition(".")
        wanted = (int(major), int(minor or 0))
        if not SUPPORTED_VERSIONS[0] <= wanted <= SUPPORTED_VERSIONS[1]:
            raise ValueError(f"Daktela's legacy API has no version {version}")
        self.max_version = wanted

    def set_dialplan_hook(self, url: str | None) -> None:
        """The URL the administrator put into the dialplan hooks (None: no hooks)."""
        self.dialplan_hook = url

    def set_admin_hook(self, settings: dict[str, Any]) -> None:
        """`{"url": …}`: the dialplan hooks' URL, an administrator's setting, not the API's."""
        url = settings.get("url")
        self.set_dialplan_hook(str(url) if url else None)

    # --- transport ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        """The URL format (D:1-17): token and parameters from the query, cookies or a form."""
        fmt = request.match_info["format"]
        _FORMAT.set(fmt if fmt in ("json", "xml") else "json")
        params: Params = MultiDict(request.cookies)
        params.update(request.query)
        if request.method == "POST" and request.body_exists:
            form: MultiDictProxy[Any] = await request.post()
            params.update((k, v) for k, v in form.items() if isinstance(v, str))
        action = request.match_info["action"]
        if fmt not in ("json", "xml"):
            return self._error(f"Nepodporovaný formát {fmt}", status=404)
        entry = self.actions.get(action)
        if entry is None:
            return self._error(f"Akce {action} neexistuje", status=404)
        required, handler = entry
        try:
            version = tuple(int(part) for part in request.match_info["version"].split("."))
        except ValueError:
            return self._error("Neplatná verze API", status=404)
        # A server older than an action has no such action at all.
        if not SUPPORTED_VERSIONS[0] <= version <= self.max_version or required > self.max_version:
            return self._error("Neplatná verze API", status=404)
        if not self._token_ok(params.get("access_token")):
            if action == "GetUser":
                # As documented (D:481-486): HTTP 200, the text in raw UTF-8, not escaped.
                return self._body(
                    php_json({"error": WRONG_TOKEN_GET_USER, "status": 0}, ascii_only=False),
                    {"error": WRONG_TOKEN_GET_USER, "status": 0},
                )
            return self._error(WRONG_TOKEN)
        if action == "CreateCall" and params.get("user"):
            required = (3, 1)  # the call-centre form of CreateCall
        _VERSION.set(version)
        if version < required:
            return self._error(f"Akce {action} vyžaduje verzi API {required[0]}.{required[1]}")
        try:
            return await handler(params, request.match_info.get("item_id"))
        except DaktelaRefusedError as err:
            return self._error(str(err))

    def _token_ok(self, token: str | None) -> bool:
        """Compare with the current token; a changed login or password changes the token."""
        creds = self.credentials
        login, password = creds.get("login"), creds.get("password")
        if creds.get("access_token") != self._seen_token:
            self._seen_token = creds.get("access_token")
        elif (login, password) != self._seen_login and login is not None and password is not None:
            creds["access_token"] = self._seen_token = access_token(login, password)
        self._seen_login = (login, password)
        return bool(token) and token == creds.get("access_token")

    def _body(self, text: str, data: dict[str, Any], status: int = 200) -> web.Response:
        if _FORMAT.get() == "xml":
            xml = '<?xml version="1.0" encoding="UTF-8"?>' + _xml(data, "response")
            return web.Response(
                text=xml, status=status, content_type="application/xml", charset="utf-8"
            )
        return web.Response(
            text=text, status=status, content_type="application/json", charset="utf-8"
        )

    def _reply(self, data: dict[str, Any]) -> web.Response:
        return self._body(php_json(data), data)

    def _ok(self, result: Result = None) -> web.Response:
        return self._reply({"status": 1, "error": None, "result": result})

    def _done(self) -> web.Response:
        """The short success answer several actions give: no `result`, error first."""
        return self._reply({"error": None, "status": 1})

    def _error(self, message: str, status: int = 200) -> web.Response:
        data = {"error": message, "status": 0}
        return self._body(php_json(data), data, status)

    # --- lookups --------------------------------------------------------------------

    @staticmethod
    def _required(params: Params, key: str) -> str:
        value = params.get(key, "").strip()
        if not value:
            raise DaktelaRefusedError(f"Chybí povinný parametr {key}")
        return value

    @staticmethod
    def _array(params: Params, key: str) -> list[str]:
        """An array parameter in any PHP form: `key[]=a`, `key[0]=a`, `key=a`."""
        return [
            value
            for name, value in params.items()
            if name == key or (name.startswith(key + "[") and name.endswith("]"))
        ]

    @staticmethod
    def _hash(params: Params, key: str) -> dict[str, str]:
        """A hash parameter: `variables[myid]=1234567`."""
        prefix = key + "["
        return {
            name[len(prefix) : -1]: value
            for name, value in params.items()
            if name.startswith(prefix) and name.endswith("]") and name != prefix + "]"
        }

    def _agent_by_login(self, login: str) -> SimAgent:
        for agent in self.state.agents.values():
            if agent.login == login:
                return agent
        raise DaktelaRefusedError(f"Agent {login} nebyl nalezen")

    def _agent_by_extension(self, extension: str) -> SimAgent | None:
        for agent in self.state.agents.values():
            line = self.state.line_of_agent(agent)
            if agent.extension == extension or (line and line.name == extension):
                return agent
        return None

    def _agent_of(self, params: Params) -> SimAgent:
        """The agent named by `user`, or else by `extension` (either is enough)."""
        if login := params.get("user", "").strip():
            return self._agent_by_login(login)
        if extension := params.get("extension", "").strip():
            agent = self._agent_by_extension(extension)
            if agent is None:
                raise DaktelaRefusedError(f"Na klapce {extension} není přihlášen žádný agent")
            return agent
        raise DaktelaRefusedError("Chybí povinný parametr user nebo extension")

    def queue_number(self, queue: SimQueue) -> str:
        return str(FIRST_QUEUE_NUMBER + int(queue.id) - 1)

    def _queue_by_number(self, number: str) -> SimQueue:
        for queue in self.state.queues.values():
            if self.queue_number(queue) == number:
                return queue
        raise DaktelaRefusedError(f"Fronta {number} neexistuje")

    def call_id(self, call: SimCall) -> str:
        """`1358860092.8131WS`: start time, a sequence; `WS` marks calls made by the API."""
        suffix = "WS" if call.direction is Direction.OUT else ""
        return f"{int(call.created.timestamp())}.{call.id}{suffix}"

    def _call_by_id(self, id_call: str) -> SimCall:
        sequence = id_call.partition(".")[2].removesuffix("WS")
        call = self.state.calls.get(sequence)
        if call is None or call.status is CallStatus.ENDED or self.call_id(call) != id_call:
            raise DaktelaRefusedError(f"Hovor {id_call} neprobíhá")
        return call

    def _line_name(self, call: SimCall) -> str | None:
        if call.line_id and (line := self.state.lines.get(call.line_id)):
            return line.name
        if call.agent_id and (agent := self.state.agents.get(call.agent_id)):
            return agent.extension
        return None

    def _live_call_on(self, params: Params) -> SimCall:
        """The call going on at the `user`'s phone or at `extension`."""
        if params.get("user", "").strip():
            agent = self._agent_of(params)
            calls = [c for c in self.state.active_calls() if c.agent_id == agent.id]
            where = agent.login
        else:
            extension = self._required(params, "extension")
            calls = [c for c in self.state.active_calls() if self._line_name(c) == extension]
            where = extension
        if not calls:
            raise DaktelaRefusedError(f"Na lince {where} neprobíhá žádný hovor")
        return calls[-1]

    def _agent_state(self, agent: SimAgent) -> str:
        if agent.paused or agent.status is AgentStatus.WRAP_UP:
            return "Paused"
        if agent.status is AgentStatus.RINGING:
            return "Ringing"
        if agent.status is AgentStatus.IN_CALL:
            return "Speaking"
        if agent.status is AgentStatus.ON_HOLD:
            return "On Hold"
        return "Idle" if agent.queue_ids else "Logged"

    def _pause_id(self, agent: SimAgent) -> str | None:
        """The pause an agent is on: the Wrap pause during wrap-up."""
        if agent.status is AgentStatus.WRAP_UP and not agent.paused:
            title = SYSTEM_PAUSES[0][0]
        elif agent.paused:
            title = agent.pause_reason or ""
        else:
            return None
        return next((pause_id for pause_id, t, _ in self._pauses() if t == title), None)

    def _queue_object(self, queue: SimQueue) -> dict[str, Any]:
        return {
            "queue": queue.id,
            "name": self.queue_number(queue),
            "title": queue.name,
            "description": "",
            "direction": "in",
            "outboundcid": "",
            "wrapuptime": "0",
            "outbounder": "0",
            "form": "0",
            "missed": None,
            "options": php_json({"type": "in", "ring_strategy": queue.strategy}),
            "deleted": "0",
            "user": "1",
            "penalty": "0",
            "login": "manual",
        }

    # --- users and queues -------------------------------------------------------------

    async def _get_user(self, _params: Params, _item_id: str | None) -> web.Response:
        """GetUser 4.0 (D:460-486); the bad-token answer is given in `_handle`."""
        return self._ok("")  # the documented answer to a valid token: an empty string

    def _user_row(self, agent: SimAgent) -> dict[str, Any]:
        return {
            "user": agent.id,
            "role": "role_43h424k432",
            "profile": "profile_hj34242342",
            "name": agent.login,
            "title": agent.name,
            "description": "",
            "password": f"heslo{agent.pin}",  # fictional, as the documented example shows one
            "email": agent.email,
            "deleted": "0",
        }

    async def _get_users(self, params: Params, item_id: str | None) -> web.Response:
        """GetUsers 3.0 (daktela-legacy-api.txt D:487-523): every user, logged in or not, keyed
        by id; one user (the record itself) by ID; `extension`: the users bound to it."""
        wanted = item_id or params.get("id")
        if wanted:
            agent = self.state.agents.get(wanted)
            if agent is None:
                raise DaktelaRefusedError(f"Uživatel s ID {wanted} neexistuje")
            return self._ok(self._user_row(agent))
        agents = list(self.state.agents.values())
        if extension := params.get("extension", "").strip():
            lines = self.state.lines_by_agent()
            agents = [a for a in agents if (line := lines.get(a.id)) and line.name == extension]
        return self._ok({agent.id: self._user_row(agent) for agent in agents})

    async def _get_queues(self, params: Params, item_id: str | None) -> web.Response:
        """GetQueues 3.0 (D:154-180): all queues, or one (the record itself) by ID."""
        wanted = item_id or params.get("id")
        if wanted:
            queue = self.state.queues.get(wanted)
            if queue is None:
                raise DaktelaRefusedError(f"Fronta s ID {wanted} neexistuje")
            return self._ok(self._queue_object(queue))
        return self._ok({q.id: self._queue_object(q) for q in self.state.queues.values()})

    async def _login_queue(self, params: Params, _item_id: str | None) -> web.Response:
        """LoginQueue 3.0 (D:182-215, D:563-596): `extension` may be left out only while the
        agent is logged in to some queue (D:201, D:582); a bound line does not excuse it
        there (the stricter reading)."""
        agent = self._agent_by_login(self._required(params, "user"))
        queue = self._queue_by_number(self._required(params, "queue"))
        if params.get("priority", "0") not in ("0", "1", "2"):
            raise DaktelaRefusedError("Neplatná priorita")
        extension = params.get("extension", "").strip()
        if not extension and not (agent.logged_in and agent.queue_ids):
            raise DaktelaRefusedError(NEEDS_EXTENSION)
        if extension:
            self.login_extensions[agent.id] = extension
        if not agent.logged_in:
            self.state.agent_login(agent.id)
        self.state.queue_login(agent.id, queue.id)
        return self._done()

    async def _logout_queue(self, params: Params, _item_id: str | None) -> web.Response:
        """LogoutQueue 3.0 (D:217-253, D:629-663): refused while a call of that queue runs."""
        agent = self._agent_by_login(self._required(params, "user"))
        queue = self._queue_by_number(self._required(params, "queue"))
        busy = next(
            (
                c
                for c in self.state.active_calls()
                if c.agent_id == agent.id and c.queue_id == queue.id
            ),
            None,
        )
        if busy is not None:
            raise DaktelaRefusedError(
                f"Nelze se odhlasit z fronty/kampaně, ve které probíhá hovor s číslem "
                f"{national(busy.caller if busy.direction is Direction.IN else busy.callee)}"
            )
        self.state.queue_logout(agent.id, queue.id)
        return self._done()

    async def _login(self, params: Params, _item_id: str | None) -> web.Response:
        """Login 3.4 (D:598-627): `extension` may be left out only for an agent with a bound
        line (D:615)."""
        agent = self._agent_by_login(self._required(params, "user"))
        extension = params.get("extension", "").strip()
        if not extension and self.state.line_of_agent(agent) is None:
            raise DaktelaRefusedError(NEEDS_EXTENSION)
        if extension:
            self.login_extensions[agent.id] = extension
        self.state.agent_login(agent.id)
        return self._ok()

    async def _logout(self, params: Params, _item_id: str | None) -> web.Response:
        """Logout 3.4 (D:665-689): out of every queue and the call centre."""
        agent = self._agent_by_login(self._required(params, "user"))
        self.login_extensions.pop(agent.id, None)
        self.state.agent_logout(agent.id)
        return self._ok()

    # --- pauses -----------------------------------------------------------------------

    async def _pause_on(self, params: Params, _item_id: str | None) -> web.Response:
        """PauseOn 3.0 (D:749-789, D:1847-1890): an unknown pause gets the documented error;
        the PBX's own pauses cannot be chosen (the stricter reading)."""
        agent = self._agent_of(params)
        pause = self._required(params, "pause")
        titles = self.state.pause_reasons
        if not pause.isdigit() or not 1 <= int(pause) <= len(titles):
            raise DaktelaRefusedError(PAUSE_NOT_FOUND)
        if not agent.logged_in:
            raise DaktelaRefusedError("Agent není přihlášen do call centra")
        busy = agent.status in (AgentStatus.RINGING, AgentStatus.IN_CALL, AgentStatus.ON_HOLD)
        if busy and params.get("force") != "yes":
            raise DaktelaRefusedError("Agent právě vyřizuje hovor")
        self.state.agent_pause(agent.id, titles[int(pause) - 1])
        return self._done()

    async def _pause_off(self, params: Params, _item_id: str | None) -> web.Response:
        """PauseOff 3.0 (D:721-747, D:1819-1845)."""
        agent = self._agent_of(params)
        self.state.agent_unpause(agent.id)
        return self._done()

    def _pauses(self) -> list[tuple[str, str, str]]:
        """(id, title, type) of every pause: the ones to choose, then the PBX's own."""
        normal = [(str(i), t, "") for i, t in enumerate(self.state.pause_reasons, start=1)]
        system = [
            (str(len(normal) + i), title, kind)
            for i, (title, kind) in enumerate(SYSTEM_PAUSES, start=1)
        ]
        return normal + system

    async def _get_pauses(self, params: Params, item_id: str | None) -> web.Response:
        """GetPauses 3.3 (D:1764-1783): `pause`, `name`, `title`, `type`, `paid`, including
        the system pauses Wrap and Lajdak; 3.0-3.2 (D:1785-1817): the `pcode_*` rows, where
        `pauseType` is `w` for the system pauses as in the documented example."""
        wanted = item_id or params.get("id")
        new_shape = _VERSION.get() >= (3, 3)
        rows: dict[str, Any] = {}
        for pause_id, title, kind in self._pauses():
            if wanted and wanted != pause_id:
                continue
            code = str(10 + int(pause_id))
            if new_shape:
                rows[pause_id] = {
                    "pause": pause_id,
                    "name": code,
                    "title": title,
                    "type": kind,
                    "paid": "1" if kind == "wrap" else "0",
                    "deleted": "0",
                }
            else:
                rows[pause_id] = {
                    "pcode_id": pause_id,
                    "pcode": code,
                    "pcode_desc": title,
                    "read_key": "",
                    "isBillable": "0",
                    "isPayable": "0",
                    "pauseType": "w" if kind else "-",
                    "sys_dt_creazione": "0000-00-00 00:00:00",
                    "sys_user_creazione": "0",
                    "sys_dt_modifica": "0000-00-00 00:00:00",
                    "sys_user_modifica": "0",
                    "sys_optilock": "0",
                }
        return self._ok(rows)

    # --- calls ------------------------------------------------------------------------

    async def _transfer(self, params: Params, _item_id: str | None) -> web.Response:
        """Transfer 3.0 (D:813-850, D:1387-1423): `user` or `extension`; one of `number`,
        `dst_queue` (queue ID), `dst_user` (user ID)."""
        call = self._live_call_on(params)
        if number := params.get("number", "").strip():
            destination = number
        elif dst_user := params.get("dst_user", "").strip():
            agent = self.state.agents.get(dst_user)
            if agent is None:
                raise DaktelaRefusedError(f"Uživatel s ID {dst_user} neexistuje")
            destination = agent.extension
        elif dst_queue := params.get("dst_queue", "").strip():
            queue = self.state.queues.get(dst_queue)
            if queue is None:
                raise DaktelaRefusedError(f"Fronta s ID {dst_queue} neexistuje")
            destination = self.queue_number(queue)
        else:
            raise DaktelaRefusedError("Chybí povinný parametr number, dst_queue nebo dst_user")
        if params.get("type", "attended") not in ("attended", "blind"):
            raise DaktelaRefusedError("Neplatný typ přesměrování")
        self.state.transfer(call.id, destination)
        return self._done()

    async def _hangup(self, params: Params, _item_id: str | None) -> web.Response:
        """Hangup 3.0 (D:525-561, D:1268-1304): by `user`, `extension` or `call`."""
        if id_call := params.get("call", "").strip():
            call = self._call_by_id(id_call)
        else:
            call = self._live_call_on(params)
        self.state.hangup(call.id)
        return self._done()

    async def _control_playback(self, params: Params, _item_id: str | None) -> web.Response:
        """ControlPlayback 3.6 (D:285-336, D:988-1039): commands on the call at
        `user`/`extension`."""
        command = self._required(params, "command")
        if command not in ("play", "rewind", "pause", "forward", "stop", "status"):
            raise DaktelaRefusedError(f"Neznámý příkaz {command}")
        call = self._live_call_on(params)
        if call.status not in (CallStatus.ANSWERED, CallStatus.ON_HOLD):
            raise DaktelaRefusedError("Hovor ještě nebyl zodpovězen")
        if command == "status":
            return self._ok({"playing": call.id in self.playback})
        if command == "play":
            recording = self._required(params, "recording")
            self.playback[call.id] = recording
            call.announcement = recording
        elif call.id not in self.playback:
            raise DaktelaRefusedError("Na lince se nepřehrává žádná hláška")
        elif command == "stop":
            del self.playback[call.id]
        return self._ok()

    async def _create_call(self, params: Params, _item_id: str | None) -> web.Response:
        """CreateCall 3.1 by `user` (D:338-391, its answer with one `}` too many) and 3.0 by
        `extension` (D:1096-1143)."""
        number = self._required(params, "number")
        if login := params.get("user", "").strip():
            agent = self._agent_by_login(login)
            if not agent.logged_in or not agent.queue_ids:
                raise DaktelaRefusedError(NOT_LOGGED_IN_OUTBOUND)
            line = self.state.line_of_agent(agent)
            call = self.state.originate(
                agent.extension, number, agent_id=agent.id, line_id=line.id if line else None
            )
            # As documented, this answer carries one closing brace too many.
            data = {"error": None, "status": 1, "result": {"id_call": self.call_id(call)}}
            return self._body(php_json(data) + "}", data)
        extension = self._required(params, "extension")
        line = self.state.find_line(extension)
        owner = self._agent_by_extension(extension)
        if line is None and owner is None:
            raise DaktelaRefusedError(f"Klapka {extension} neexistuje")
        call = self.state.originate(
            extension,
            number,
            agent_id=owner.id if owner else None,
            line_id=line.id if line else None,
        )
        return self._reply({"error": None, "status": 1, "result": {"id_call": self.call_id(call)}})

    async def _click_to_call(self, params: Params, _item_id: str | None) -> web.Response:
        """ClickToCall 3.9 (D:951-986): a call through a Click-to-Call queue."""
        queue = self._queue_by_number(self._required(params, "queue"))
        number = self._required(params, "number")
        call = self.state.originate(self.queue_number(queue), number)
        call.queue_id = queue.id
        return self._ok({"id_call": self.call_id(call)})

    async def _create_remote_call(self, params: Params, _item_id: str | None) -> web.Response:
        """CreateRemoteCall 3.8 (D:1145-1194): ring `primarynumber`, then `secondarynumber`;
        with `directdid` into that incoming route (an announcement)."""
        primary = self._required(params, "primarynumber")
        secondary = self._required(params, "secondarynumber")
        direct_did = params.get("directdid") == "true"
        call = self.state.originate(
            primary, secondary, announcement=secondary if direct_did else None
        )
        self.remote_call_variables[call.id] = self._hash(params, "variables")
        return self._ok({"id_call": self.call_id(call)})

    # --- realtime -----------------------------------------------------------------------

    async def _device_states(self, _params: Params, _item_id: str | None) -> web.Response:
        """DeviceStates 3.0 (D:1561-1580): every extension line with its state."""
        in_use = {
            c.line_id for c in self.state.active_calls() if c.status is not CallStatus.RINGING
        }
        rows = [
            self._device_row(line, in_use)
            for line in self.state.lines.values()
            if line.kind == "extension"
        ]
        return self._ok(rows)

    def _device_row(self, line: SimLine, in_use: set[str | None]) -> dict[str, str]:
        """`in_use`: the lines with a call past ringing."""
        if not line.registered:
            return {"exten": line.name, "status": "UNAVAILABLE", "ip": "-none-", "port": "0"}
        agent = self.state.agents.get(line.agent_id or "")
        status = DEVICE_STATES.get(agent.status, "AVAILABLE") if agent else "AVAILABLE"
        if agent is None and line.id in in_use:
            status = "INUSE"
        return {"exten": line.name, "status": status, "ip": line.ip, "port": str(line.port)}

    @staticmethod
    def _seconds(start: datetime, end: datetime | None) -> int:
        return int(((end or start) - start).total_seconds())

    def _relative(self, moment: datetime | None) -> str:
        if moment is None:
            return "0"
        return str(int((self.state.now() - moment).total_seconds()))

    async def _rt_stats_calls(self, _params: Params, _item_id: str | None) -> web.Response:
        """RTStatsCalls 3.5 (D:2091-2128): the calls going on, keyed by id."""
        calls: dict[str, Any] = {}
        for call in self.state.active_calls():
            id_call = self.call_id(call)
            ringing_since = call.created if call.status is not CallStatus.QUEUED else None
            calls[id_call] = {
                "id": id_call,
                "queue": call.queue_id,
                "agent": call.agent_id if call.was_answered else None,
                "users": [call.agent_id] if call.agent_id else [],
                "clid": national(call.caller if call.direction is Direction.IN else call.callee),
                "direction": "in" if call.direction is Direction.IN else "out",
                "state": "Transfered" if call.transferred_to else CALL_STATES[call.status],
                "enter_time_absolute": timestamp(call.created),
                "enter_time_relative": self._relative(call.created),
                "wait_time_absolute": timestamp(call.created),
                "wait_time_relative": str(
                    int(((call.answered or self.state.now()) - call.created).total_seconds())
                ),
                "ring_time_absolute": timestamp(ringing_since),
                "ring_time_relative": self._relative(ringing_since),
                "answer_time_absolute": timestamp(call.answered),
                "answer_time_relative": self._relative(call.answered),
                "hold_time_absolute": None,
                "hold_time_relative": "0",
            }
        return self._ok(calls)

    def _user_call(self, call: SimCall) -> dict[str, Any]:
        queue = self.state.queues.get(call.queue_id or "")
        return {
            "id_call": self.call_id(call),
            "direction": "in" if call.direction is Direction.IN else "out",
            "clid": national(call.caller if call.direction is Direction.IN else call.callee),
            "clid_name": None,
            "id_queue": call.queue_id,
            "oqueue": self._queue_object(queue) if queue else None,
            "entered": timestamp(call.created),
            "ringed": timestamp(call.created),
            "answered": timestamp(call.answered),
            "call_state": CALL_STATES.get(call.status, "Ringing"),
            "onhold": None,
        }

    async def _rt_users_state(self, _params: Params, _item_id: str | None) -> web.Response:
        """Users logged in to the call centre; logged-out ones are not listed."""
        # Looked up once for all agents: the answer lists thousands of them.
        agent_lines = self.state.lines_by_agent()
        agent_calls: dict[str, list[SimCall]] = {}
        for call in self.state.active_calls():
            if call.agent_id is not None:
                agent_calls.setdefault(call.agent_id, []).append(call)
        queues = [
            (
                queue.id,
                {
                    "queue": queue.id,
                    "name": self.queue_number(queue),
                    "title": queue.name,
                    "description": "",
                    "type": "in",
                    "direction": "in",
                    "options": {"ring_strategy": queue.strategy, "ringtime": "20"},
                    "deleted": "0",
                    "penalty": "0",
                    "login": "manual",
                },
            )
            for queue in self.state.queues.values()
        ]
        users: dict[str, Any] = {}
        for agent in self.state.agents.values():
            if not agent.logged_in:
                continue
            line = agent_lines.get(agent.id)
            calls = agent_calls.get(agent.id, [])
            users[agent.id] = {
                "agent_name": agent.login,
                "agent_title": agent.name,
                "id_agent": agent.id,
                "exten": self.login_extensions.get(agent.id)
                or (line.name if line else agent.extension),
                "logintime": timestamp(agent.login_time),
                "agent_state": self._agent_state(agent),
                "state_time": timestamp(agent.login_time),
                "id_pause": self._pause_id(agent),
                "onpause": timestamp(self.state.now()) if agent.paused else None,
                "calls": [self._user_call(call) for call in calls],
                "callscript_opened": None,
                "login_oqueues": [
                    {**queue, "rt_logged": queue_id in agent.queue_ids}
                    for queue_id, queue in queues
                ],
            }
        return self._ok(users)

    async def _rt_stats_sessions(self, params: Params, _item_id: str | None) -> web.Response:
        """RTStatsSessions 3.5 (D:2223-2259): the agents logged in, keyed by user id, with
        their extension, queues, state and pause; filtered by `users` and `queues`."""
        wanted_users = set(self._array(params, "users"))
        wanted_queues = set(self._array(params, "queues"))
        lines = self.state.lines_by_agent()
        sessions: dict[str, Any] = {}
        for agent in self.state.agents.values():
            if not agent.logged_in or (wanted_users and agent.id not in wanted_users):
                continue
            if wanted_queues and not wanted_queues & set(agent.queue_ids):
                continue
            line = lines.get(agent.id)
            sessions[agent.id] = {
                "id": agent.id,
                "extension": self.login_extensions.get(agent.id)
                or (line.name if line else agent.extension),
                "queues": list(agent.queue_ids),
                "state": self._agent_state(agent),
                "pause": self._pause_id(agent),
                "state_time_absolute": timestamp(agent.login_time),
                "state_time_relative": self._relative(agent.login_time),
                "login_time_absolute": timestamp(agent.login_time),
                "login_time_relative": self._relative(agent.login_time),
            }
        return self._ok(sessions)

    def _queue_stats(self, queue: SimQueue) -> dict[str, Any]:
        members = [self.state.agents[a] for a in queue.member_ids if self.state.agents[a].logged_in]
        calls = [c for c in self.state.active_calls() if c.queue_id == queue.id]
        waiting = [c for c in calls if c.status in (CallStatus.QUEUED, CallStatus.RINGING)]
        return {
            "id": queue.id,
            "users_total": len(members),
            "users_ready": sum(not a.paused and a.status is AgentStatus.IDLE for a in members),
            "users_busy": sum(
                not a.paused
                and a.status in (AgentStatus.RINGING, AgentStatus.IN_CALL, AgentStatus.ON_HOLD)
                for a in members
            ),
            "users_pause": sum(a.paused for a in members),
            "calls_count": len(calls),
            "calls_wait": len(waiting),
            "calls_time": (
                max(int((self.state.now() - c.created).total_seconds()) for c in waiting)
                if waiting
                else None
            ),
        }

    async def _rt_stats_queues(self, _params: Params, _item_id: str | None) -> web.Response:
        """RTStatsQueues 3.5 (D:2193-2221): counts per queue."""
        return self._ok({q.id: self._queue_stats(q) for q in self.state.queues.values()})

    async def _rt_stats_queues_summary(self, params: Params, _item_id: str | None) -> web.Response:
        """RTStatsQueuesSummary 3.5 (D:2155-2191): totals, filtered by `users`/`queues`."""
        wanted_users = set(self._array(params, "users"))
        wanted_queues = set(self._array(params, "queues"))
        agents = [
            a
            for a in self.state.agents.values()
            if a.logged_in
            and (not wanted_users or a.id in wanted_users)
            and (not wanted_queues or wanted_queues & set(a.queue_ids))
        ]
        calls = [
            c for c in self.state.active_calls() if not wanted_queues or c.queue_id in wanted_queues
        ]
        waiting = [c for c in calls if c.status in (CallStatus.QUEUED, CallStatus.RINGING)]
        return self._ok(
            {
                "users_total": len(agents),
                "users_ready": sum(not a.paused and a.status is AgentStatus.IDLE for a in agents),
                "users_busy": sum(
                    not a.paused and a.status is not AgentStatus.IDLE for a in agents
                ),
                "users_pause": sum(a.paused for a in agents),
                "calls_count": len(calls),
                "calls_in": sum(c.direction is Direction.IN for c in calls),
                "calls_out": sum(c.direction is Direction.OUT for c in calls),
                "calls_wait": len(waiting),
                "calls_time": max(
                    (int((self.state.now() - c.created).total_seconds()) for c in waiting),
                    default=0,
                ),
            }
        )

    async def _last_call(self, params: Params, _item_id: str | None) -> web.Response:
        """LastCall 3.9 (D:2037-2063): the call going on at, or last ended at, an extension or
        user."""
        if params.get("user", "").strip():
            agent = self._agent_of(params)
            calls = [c for c in self.state.calls.values() if c.agent_id == agent.id]
            user: str | None = agent.id
        else:
            extension = self._required(params, "extension")
            calls = [c for c in self.state.calls.values() if self._line_name(c) == extension]
            user = None
        if not calls:
            return self._ok(None)
        call = calls[-1]
        return self._ok(
            {
                "exten": self._line_name(call),
                "user": user,
                "queue": call.queue_id,
                "id_call": self.call_id(call),
                "direction": "in" if call.direction is Direction.IN else "out",
                "clid": national(call.caller if call.direction is Direction.IN else call.callee),
                "time": timestamp(call.created),
                "_is_realtime": call.status is not CallStatus.ENDED,
            }
        )

    # --- history --------------------------------------------------------------------------

    def _history(self, params: Params) -> list[SimCall]:
        start = self._required(params, "datetime_from")
        end = self._required(params, "datetime_to")
        return [
            c
            for c in self.state.calls.values()
            if c.ended and start <= (timestamp(c.created) or "") <= end
        ]

    async def _cdr(self, params: Params, _item_id: str | None) -> web.Response:
        """CDR 3.5 (D:1920-1967): ended calls in a period, with the documented filters."""
        direction = params.get("direction")
        answered_only = params.get("disposition") == "ANSWERED"
        extens = set(self._array(params, "real_extens"))
        rows = []
        for call in self._history(params):
            way = "in" if call.direction is Direction.IN else "out"
            exten = self._line_name(call) or ""
            if (direction and direction != way) or (answered_only and not call.was_answered):
                continue
            if extens and exten not in extens:
                continue
            billsec = (
                int((call.ended - call.answered).total_seconds())
                if call.answered and call.ended
                else 0
            )
            rows.append(
                {
                    "date": timestamp(call.created),
                    "real_exten": exten,
                    "dst": national(call.callee),
                    "billsec": str(billsec),
                    "duration": str(
                        int(((call.ended or call.created) - call.created).total_seconds())
                    ),
                    "disposition": "ANSWERED" if call.was_answered else "NO ANSWER",
                    "accountcode": "",
                    "uniqueid": self.call_id(call).removesuffix("WS"),
                    "id_call": self.call_id(call),
                    "from_did": national(call.callee) if way == "in" else None,
                    "direction": way,
                    "price": "0.00000000",
                    "destination_type": "Pevna_Linka",
                    "destination_type_description": "Pevna_Linka",
                    "destination": "Ceska republika",
                    "destination_price": "0.9000",
                }
            )
        return self._ok(rows)

    async def _stats_calls(self, params: Params, _item_id: str | None) -> web.Response:
        """StatsCalls 4.1 (D:2542-2589): call-centre calls in a period; `answered`, `queues`,
        `skip`/`take`, and `total`; refused when more than 1000 calls match (D:2548)."""
        answered = params.get("answered")
        queues = set(self._array(params, "queues"))
        rows = []
        for call in self._history(params):
            if call.queue_id is None or (queues and call.queue_id not in queues):
                continue
            if answered in ("true", "false") and call.was_answered != (answered == "true"):
                continue
            waited = self._seconds(call.created, call.answered) if call.answered else 0
            rows.append(
                {
                    "call": call.id,
                    "name": self.call_id(call),
                    "call_time": timestamp(call.created),
                    "direction": "in" if call.direction is Direction.IN else "out",
                    "answered": "1" if call.was_answered else "0",
                    "queue": call.queue_id,
                    "user": call.agent_id,
                    "clid": national(
                        call.caller if call.direction is Direction.IN else call.callee
                    ),
                    "contact": None,
                    "did": national(call.callee) if call.direction is Direction.IN else "",
                    "waiting_time": str(waited),
                    "ringing_time": str(waited),
                    "hold_time": "0",
                    "duration": str(self._seconds(call.created, call.ended)),
                    "orig_pos": "1",
                    "position": "1",
                    "disposition_cause": "agent" if call.was_answered else "abandon",
                    "disconnection_cause": "",
                    "pressed_key": None,
                    "score": None,
                    "note": "",
                    "attempts": "0",
                    "qa_user_id": None,
                }
            )
        skip, take = int(params.get("skip", "0")), int(params.get("take", "100"))
        if len(rows) > self.stats_calls_limit or take > self.stats_calls_limit:
            raise DaktelaRefusedError(STATS_CALLS_TOO_MANY)
        return self._ok({"data": rows[skip : skip + take], "total": str(len(rows))})

    async def _last_call_number(self, params: Params, _item_id: str | None) -> web.Response:
        """LastCallNumber 3.9 (D:2000-2035): the last call with a phone number."""
        number = self._required(params, "phonenumber")
        calls = [
            c
            for c in self.state.calls.values()
            if number in (national(c.caller), national(c.callee), c.caller, c.callee)
        ]
        if params.get("answered") in ("yes", "true"):
            calls = [c for c in calls if c.was_answered]
        if not calls:
            return self._ok(None)
        call = calls[-1]
        agent = self.state.agents.get(call.agent_id or "")
        queue = self.state.queues.get(call.queue_id or "")
        waited = self._seconds(call.created, call.answered) if call.answered else 0
        return self._ok(
            {
                "call": self.call_id(call),
                "call_time": timestamp(call.created),
                "direction": "in" if call.direction is Direction.IN else "out",
                "queue": call.queue_id,
                "user": call.agent_id,
                "answered": call.was_answered,
                "clid": number,
                "waiting_time": waited,
                "ringing_time": waited,
                "hold_time": 0,
                "duration": self._seconds(call.created, call.ended),
                "disposition": "user",
                "orig_posision": 1,  # sic, as documented
                "attempts": 0,
                "queue_title": queue.name if queue else None,
                "queue_number": self.queue_number(queue) if queue else None,
                "queue_direction": "in" if queue else None,
                "user_title": agent.name if agent else None,
                "user_login": agent.login if agent else None,
            }
        )

    # --- SMS ------------------------------------------------------------------------------

    @property
    def gateway_number(self) -> str:
        return next(iter(self.state.numbers.values())).number

    async def _send_sms(self, params: Params, _item_id: str | None) -> web.Response:
        """SendSMS 3.1 (D:2906-2961): refused on an SMS-Connect-only account (undocumented
        text); without `unicode` the text is converted to ASCII (D:2926-2927)."""
        if self.enabled_sms == SMS_CONNECT:
            raise DaktelaRefusedError(SMS_GATEWAY_OFF)
        number = self._required(params, "number")
        message = self._as_sent(params, self._required(params, "message"))
        sms = self.state.send_sms(self.gateway_number, number, message)
        parts = 1 + (len(message) - 1) // 160
        # As documented: a space after the comma.
        result = f'{{"count_sms":"{parts}", "id":{json.dumps(sms.id)}}}'
        text = '{"error":null,"status":1,"result":' + result + "}"
        return self._body(
            text, {"error": None, "status": 1, "result": {"count_sms": str(parts), "id": sms.id}}
        )

    async def _send_sms_connect(self, params: Params, _item_id: str | None) -> web.Response:
        """SendSMSConnect 4.1 (D:3194-3235): `number` as `+420…`; without `unicode` the text is
        converted to ASCII (D:3222-3223)."""
        number = self._required(params, "number")
        if not number.startswith("+"):
            raise DaktelaRefusedError("Číslo musí být ve tvaru +420xxx")
        message = self._as_sent(params, self._required(params, "message"))
        sender = params.get("sender") or "Info"
        sms = self.state.send_sms(sender, number, message)
        return self._reply({"error": None, "status": 1, "result": {"id": sms.id}})

    async def _send_group_sms_connect(self, params: Params, _item_id: str | None) -> web.Response:
        """SendGroupSMSConnect 3.1 (D:3153-3192): arrays `number` and `message`, one group.

        It documents no `unicode`, so the text always goes as ASCII (the stricter reading).
        The answer has a row for the group and one per message, as documented."""
        numbers, messages = self._array(params, "number"), self._array(params, "message")
        if not numbers or len(numbers) != len(messages):
            raise DaktelaRefusedError("Chybí povinný parametr number nebo message")
        sender = params.get("sender") or "Info"
        group = self.state.next_id()
        rows: dict[str, Any] = {group: {"count_sms": 0, "id": int(group), "group_id": int(group)}}
        for message in messages:
            _check_sms_length(message, unicode=False)
        for number, message in zip(numbers, messages, strict=True):
            sms = self.state.send_sms(sender, number, to_ascii(message))
            rows[sms.id] = {"count_sms": 1, "id": int(sms.id), "group_id": int(group)}
        return self._ok(rows)

    @staticmethod
    def _as_sent(params: Params, message: str) -> str:
        """The text as the SMS goes out: converted to ASCII unless `unicode` is set."""
        unicode = params.get("unicode", "").strip().lower() in ("yes", "true", "1")
        _check_sms_length(message, unicode=unicode)
        return message if unicode else to_ascii(message)

    async def _get_sms_settings(self, _params: Params, _item_id: str | None) -> web.Response:
        """GetSMSSettings 3.1 (D:2769-2788, D:3132-3151): the callbacks and `enabled_sms`."""
        settings = {
            "billing_id": BILLING_ID,
            "enabled_sms": self.enabled_sms,
            "outgoing_price": "0.000",
            "incoming_callback": self.sms_settings["incoming_callback"],
            "outgoing_callback": self.sms_settings["outgoing_callback"],
            "incoming_email": self.sms_settings["incoming_email"],
            "outgoing_email": self.sms_settings["outgoing_email"],
            "email_notification_allow": "in,out,confirmed",
            "sending_rate_limit": self.sms_settings["sending_rate_limit"],
            "sending_rate_time": self.sms_settings["sending_rate_time"],
            "allowed_hour_begin": self.sms_settings["allowed_hour_begin"],
            "allowed_hour_end": self.sms_settings["allowed_hour_end"],
            "sending_rate_limit_admin": "1000",
            "sending_rate_time_admin": "86400",
            "lang": "cs_CZ",
            "connect_sender": None,
        }
        return self._ok({"settings": settings, "sim": []})

    async def _set_sms_settings(self, params: Params, _item_id: str | None) -> web.Response:
        """SetSMSSettings 3.1 (D:2963-3017, D:3237-3291): callbacks, rates and hours."""
        for key in self.sms_settings:
            if key in params:
                self.sms_settings[key] = params[key].strip() or None
        return self._done()

    # --- pushes -------------------------------------------------------------------------

    def _on_event(self, event: SimEvent) -> None:
        if event.kind == "call.hangup" and event.call is not None:
            self.playback.pop(event.call.id, None)
        if event.sms is not None:
            self._sms_callback(event.kind, event.sms)
        elif event.call is not None and self.dialplan_hook:
            self._dialplan_hook(event.kind, event.call, self.dialplan_hook)

    def _dialplan_hook(self, kind: str, call: SimCall, url: str) -> None:
        did = national(call.callee) if call.direction is Direction.IN else ""
        if kind == "call.incoming":
            # The incoming-call hook: `callid` is ${CALLERID(num)}, `dnd` ${FROM_DID}.
            query = {"callid": national(call.caller), "dnd": did}
        elif kind in ("call.ringing", "call.answered", "call.hangup"):
            query = {
                "callerId": national(call.caller),
                "calleeId": did,
                "line": self._line_name(call) or "",
                "idcall": self.call_id(call),
                "action": {"call.ringing": "ringing", "call.answered": "answer"}.get(
                    kind, "hangup"
                ),
            }
        else:
            return
        separator = "&" if "?" in url else "?"
        self.sim.webhooks.send("daktela", "GET", url + separator + urlencode(query))

    def _sms_callback(self, kind: str, sms: SimSms) -> None:
        key = {"sms.received": "incoming_callback", "sms.sent": "outgoing_callback"}.get(kind)
        url = self.sms_settings.get(key or "")
        if not url:
            return
        values = {
            "number": national(sms.sender if sms.direction is Direction.IN else sms.recipient),
            "message": sms.text,
            "id": sms.id,
            "direction": "in" if sms.direction is Direction.IN else "out",
        }
        missing = {}
        for name in SMS_PLACEHOLDERS:
            placeholder = "$" + name
            if placeholder in url:
                url = url.replace(placeholder, quote(values[name], safe=""))
            else:
                missing[name] = values[name]
        if missing:
            url += ("&" if "?" in url else "?") + urlencode(missing)
        self.sim.webhooks.send("daktela", "GET", url)
