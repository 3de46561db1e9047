"""Daktela REST API v6 wire format, as shared/provider-docs/daktela-v6.md shows it.

"§" names that file's sections; every handler names the lines it follows.
`/api/v6/<endpoint>.json`, the token in `X-AUTH-TOKEN`, `?accessToken=`, the `c_user`
cookie or an `accessToken` body field (§1; `Authorization: Bearer` is only SEEN in one
SDK, so it is refused here). Answers are `{"error": [], "result": …, "_time", "_serverTime",
"_timezone"}`; a missing or wrong token is HTTP 401 (§1), a missing permission 403 (§2).

Kept as the digest shows it, inconvenient or not: foreign keys as nested objects (§2);
`pauses` answers its `data` as a map keyed by record name and `activitiesCall` its `total`
as a string (§2: both are seen); `take` is capped at 1,000 (§3); an unknown sort field gives
no rows (§3, HJ); `realtimeSessions` ignores filters (§3: not confirmed that it honours
them); `queues` lists every channel's queues (§4); login tokens expire (`token_lifetime`)
and are refreshed with `PUT login.json` (§1); `filters_refused` makes an endpoint answer any
filter with 400, as "some activities sub-endpoints" do (§3, KBC); queue login takes the form
data DOC-CLI posts as well as JSON (§5).

Where the digest is silent the stricter reading is taken: `queue` is required for
click-to-call and the token's user must be logged in to that outgoing queue (§5), refusals
without a documented status come as an error inside a 200 (§2, §5); queue login takes only
`login: true` (§5: logout not confirmed); an `activitiesCall` filter on a field or operator
not listed here is refused with 400 (§3, KBC); queues' `deactivated` / `deleted` come as
"0" / "1" strings, users' as booleans (§4 shows no form).

Push (§6): an administrator's Events HTTP-request action. `set_automation` stands in for
configuring it: call events are posted as the integration's documented JSON template, with a
static `X-Webhook-Secret` header when one is set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json
import secrets
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ..state import AgentStatus, CallStatus, Direction, SimAgent, SimCall, SimEvent, SimQueue
from .base import BaseProviderSim

if TYPE_CHECKING:
    from ..app import Simulator

PRAGUE = ZoneInfo("Europe/Prague")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEMO_USERNAME = "agent1"  # the API user: the simulated account's first agent
DEMO_PASSWORD = "Dk6-demo-2026-secret"
DEMO_STATIC_TOKEN = "d6static0a1b2c3d4e5f60718293a4b5c6d7e8f9"
MAX_TAKE = 1000
FIRST_QUEUE_NAME = 3000  # queue `name`s are integers (§4)
OUTGOING_QUEUE_NAME = 3999
OUTGOING_QUEUE_TITLE = "Outbound"
# Catalogue rows no phone dashboard may use (daktela-v6.md:208-213): queues of other
# channels and a retired campaign, listed before the outgoing queue. name, title, type,
# direction, deactivated, deleted.
OTHER_QUEUES = (
    (3990, "Support e-mail", "email", "in", "0", "0"),
    (3991, "SMS notices", "sms", "out", "0", "0"),
    (3992, "Old campaign", "progressive", "out", "1", "0"),
    (3993, "Removed queue", "out", "out", "0", "1"),
)
SYSTEM_PAUSES = (  # name, title, type (§4)
    ("wrap", "Wrap-up", "wrap"),
    ("lajdak", "Idle too long", "lajdak"),
    ("dnd", "Do not disturb", "dnd"),
)
NO_DEVICES = "User have not available devices"  # AVX error-primary.json (§5)
NOT_EXIST = "Object not exist"  # §2
AUTOMATION_EVENTS = {
    "call.incoming": "call_create",
    "call.outgoing": "call_create",
    "call.answered": "call_answer",
    "call.hangup": "call_close",
}

type Json = dict[str, Any]


class RefusedError(Exception):
    """A request the API answers with an error envelope and `status`."""

    def __init__(self, error: object, status: int = 400) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(PRAGUE).strftime(TIME_FORMAT) if moment else None


def _national(number: str) -> str:
    return number[4:] if number.startswith("+420") else number


def _unflatten(form: dict[str, str]) -> Json:
    """jQuery's form encoding (`queues[0][login]=true`, daktela-v6.md:311) as its object."""
    root: Json = {}
    for key, value in form.items():
        path = key.replace("]", "").split("[")
        node = root
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise RefusedError({"form": {key: "Invalid value"}})
            node = child
        node[path[-1]] = value

    def lists(value: object) -> object:
        if not isinstance(value, dict):
            return value
        items = {key: lists(item) for key, item in value.items()}
        if items and all(key.isdigit() for key in items):
            return [items[key] for key in sorted(items, key=int)]
        return items

    return {key: lists(value) for key, value in root.items()}


class DaktelaV6Sim(BaseProviderSim):
    provider = "daktela_v6"
    base_path = ""
    default_credentials = {  # noqa: RUF012
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "access_token": DEMO_STATIC_TOKEN,
    }

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.token_lifetime = timedelta(hours=1)
        # token -> (agent id, expiry); refresh token -> agent id
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.outgoing_logins: set[str] = set()  # agent ids in the outgoing queue
        self.forbidden: set[str] = set()  # endpoints the API user may not read (403)
        self.filters_refused: set[str] = set()  # endpoints answering any filter with 400
        self.automation_url: str | None = None
        self.automation_secret: str | None = None
        self.state.subscribe(self._on_event)

    def demo_credentials(self) -> dict[str, str]:
        """Log in with user name and password (the static token is the other way)."""
        return {"login": self.credentials["username"], "password": self.credentials["password"]}

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/v6/{endpoint}.json", self._handle)

    def endpoint_key(self, request: web.Request, path: str) -> str:
        return f"{request.method} {path.removeprefix('/api/v6/').removesuffix('.json')}"

    def set_automation(self, url: str | None, secret: str | None = None) -> None:
        """The Events HTTP-request action an administrator configures (daktela-v6.md:332-347)."""
        self.automation_url = url
        self.automation_secret = secret

    def set_admin_hook(self, settings: dict[str, Any]) -> None:
        """`{"url": …, "secret": …}`: the HTTP-request action's URL and secret header."""
        url, secret = settings.get("url"), settings.get("secret")
        self.set_automation(str(url) if url else None, str(secret) if secret else None)

    # --- transport ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        """`/api/v6/<endpoint>.json` (daktela-v6.md:36-40): login, else token, then endpoint."""
        endpoint = request.match_info["endpoint"]
        try:
            body = await self._body(request)
            if endpoint == "login":
                return await self._login(request, body)
            agent = self._authenticated(request, body)
            self._check_allowed(endpoint)
            self._check_filterable(request, endpoint)
            handler = {
                ("GET", "whoim"): self._whoim,
                ("GET", "users"): self._users,
                ("GET", "realtimeSessions"): self._realtime_sessions,
                ("GET", "queues"): self._queues,
                ("GET", "pauses"): self._pauses,
                ("GET", "activitiesCall"): self._activities_call,
                ("POST", "activities"): self._create_activity,
                ("POST", "usersSession"): self._users_session,
            }.get((request.method, endpoint), self._not_allowed)
            return handler(request, body, agent)
        except RefusedError as err:
            return self._envelope(None, error=err.error, status=err.status)

    def _check_allowed(self, endpoint: str) -> None:
        """403: the token lacks permission for this object (daktela-v6.md:123)."""
        if endpoint in self.forbidden:
            raise RefusedError("Forbidden", 403)

    def _check_filterable(self, request: web.Request, endpoint: str) -> None:
        """400 for a filter where "sub-endpoints reject filters" (daktela-v6.md:162-163)."""
        if endpoint in self.filters_refused and any(k.startswith("filter[") for k in request.query):
            raise RefusedError({"form": {"filter": "Filtering is not allowed here"}})

    @staticmethod
    def _not_allowed(_request: web.Request, _body: Json, _agent: SimAgent) -> web.Response:
        """405 (daktela-v6.md:125), e.g. a write to `realtimeSessions` (daktela-v6.md:171)."""
        raise RefusedError("Method not allowed", 405)

    @staticmethod
    async def _body(request: web.Request) -> Json:
        """A JSON body (daktela-v6.md:60) or form data (daktela-v6.md:311); bad JSON: 400."""
        if not request.body_exists:
            return {}
        if request.content_type == "application/json":
            try:
                value = await request.json()
            except ValueError:
                raise RefusedError("Invalid JSON") from None
            return value if isinstance(value, dict) else {}
        form = await request.post()
        return _unflatten({key: value for key, value in form.items() if isinstance(value, str)})

    def _envelope(self, result: object, *, error: object = (), status: int = 200) -> web.Response:
        """`{"error", "result", "_time", "_serverTime", "_timezone"}` (daktela-v6.md:83-87)."""
        now = _time(self.state.now())
        data = {
            "error": list(error) if isinstance(error, tuple) else error,
            "result": result,
            "_time": now,
            "_serverTime": now,
            "_timezone": "Europe/Prague",
        }
        return web.json_response(data, status=status)

    def _authenticated(self, request: web.Request, body: Json) -> SimAgent:
        """The token's user, from any carrier but Bearer (SEEN); else 401 (daktela-v6.md:45-56)."""
        token = (
            request.headers.get("X-AUTH-TOKEN")
            or request.query.get("accessToken")
            or request.cookies.get("c_user")
            or str(body.get("accessToken") or "")
        )
        agent_id: str | None = None
        if token and token == self.credentials.get("access_token"):
            agent_id = self._api_agent().id
        elif token in self.tokens:
            agent_id, expires = self.tokens[token]
            if expires <= self.state.now():
                agent_id = None
        if agent_id is None or agent_id not in self.state.agents:
            raise RefusedError(["Unauthorized"], 401)
        return self.state.agents[agent_id]

    def _api_agent(self) -> SimAgent:
        login = self.credentials["username"]
        agent = next((a for a in self.state.agents.values() if a.login == login), None)
        if agent is None:
            raise RefusedError(["Unauthorized"], 401)
        return agent

    def _issue_tokens(self, agent: SimAgent) -> Json:
        token = "eyJ" + secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        expires = self.state.now() + self.token_lifetime
        self.tokens[token] = (agent.id, expires)
        self.refresh_tokens[refresh] = agent.id
        return {
            "accessToken": token,
            "refreshToken": refresh,
            "accessTokenExpirationDate": _time(expires),
        }

    async def _login(self, request: web.Request, body: Json) -> web.Response:
        """`POST login.json`, `only_token`; `PUT login.json` refresh (daktela-v6.md:58-73).

        The digest shows no refused login: a wrong user name or password is a 401, as a
        wrong token is (daktela-v6.md:55).
        """
        if request.method == "PUT":
            agent_id = self.refresh_tokens.pop(str(body.get("refreshToken") or ""), None)
            if agent_id is None or agent_id not in self.state.agents:
                raise RefusedError(["Invalid refresh token"], 401)
            return self._envelope(self._issue_tokens(self.state.agents[agent_id]))
        if request.method != "POST":
            raise RefusedError("Method not allowed", 405)
        creds = self.credentials
        if body.get("username") != creds["username"] or body.get("password") != creds["password"]:
            raise RefusedError(["Wrong username or password"], 401)
        tokens = self._issue_tokens(self._api_agent())
        if str(body.get("only_token") or request.query.get("only_token") or "") == "1":
            return self._envelope(tokens["accessToken"])
        return self._envelope(tokens)

    # --- listings ----------------------------------------------------------------------

    def _page(self, request: web.Request, rows: list[Json]) -> tuple[list[Json], int]:
        """`skip`/`take`, `take` capped at 1,000, default 100 (daktela-v6.md:136)."""
        try:
            skip = max(0, int(request.query.get("skip", "0")))
            take = min(MAX_TAKE, max(0, int(request.query.get("take", "100"))))
        except ValueError:
            raise RefusedError({"form": {"take": "Invalid number"}}) from None
        return rows[skip : skip + take], len(rows)

    @staticmethod
    def _fields(request: web.Request, row: Json) -> Json:
        """Only the `fields[i]` asked for (daktela-v6.md:137), and `_sys` (daktela-v6.md:90)."""
        wanted = [value for key, value in request.query.items() if key.startswith("fields[")]
        if not wanted:
            return row
        return {key: value for key, value in row.items() if key in wanted or key == "_sys"}

    def _list(self, request: web.Request, rows: list[Json]) -> web.Response:
        page, total = self._page(request, rows)
        return self._envelope(
            {"data": [self._fields(request, row) for row in page], "total": total}
        )

    def _user(self, agent: SimAgent) -> Json:
        line = self.state.line_of_agent(agent)
        busy = agent.status in (AgentStatus.RINGING, AgentStatus.IN_CALL, AgentStatus.ON_HOLD)
        if line is None or not line.registered:
            extension_state = "offline"
        else:
            extension_state = "busy" if busy else "online"
        return {
            "name": agent.login,
            "title": agent.name,
            "extension": agent.extension,
            "extension_state": extension_state,
            "presence_state": extension_state,
            "type": "CC",
            "clid": agent.mobile,
            "deactivated": False,
            "deleted": False,
            "_sys": {"hash": agent.id, "model": "users"},
        }

    def _whoim(self, _request: web.Request, _body: Json, agent: SimAgent) -> web.Response:
        """The health check (daktela-v6.md:78-79); its body is not documented."""
        return self._envelope({"user": self._user(agent)})

    def _users(self, request: web.Request, _body: Json, _agent: SimAgent) -> web.Response:
        """`users.json` (daktela-v6.md:174-184): every user, `extension_state`, boolean flags."""
        return self._list(request, [self._user(agent) for agent in self.state.agents.values()])

    def queue_name(self, queue: SimQueue) -> int:
        return FIRST_QUEUE_NAME + int(queue.id)

    def _queue_by_name(self, name: object) -> SimQueue | None:
        return next(
            (q for q in self.state.queues.values() if str(self.queue_name(q)) == str(name)), None
        )

    def _queue_ref(self, queue: SimQueue | None) -> Json | None:
        if queue is None:
            return None
        return {"name": self.queue_name(queue), "title": queue.name}

    def _queues(self, request: web.Request, _body: Json, _agent: SimAgent) -> web.Response:
        """`queues.json` (daktela-v6.md:208-213): integer names, every channel's `type`.

        The digest shows no form for `deactivated` / `deleted`: they come as "0" / "1"
        strings here, where `users` sends booleans (the client reads both).
        """
        phone_queues = [
            (self.queue_name(queue), queue.name, "in", "in", "0", "0")
            for queue in self.state.queues.values()
        ]
        outgoing = (OUTGOING_QUEUE_NAME, OUTGOING_QUEUE_TITLE, "out", "out", "0", "0")
        rows: list[Json] = [
            {
                "name": name,
                "title": title,
                "type": kind,
                "direction": direction,
                "deactivated": deactivated,
                "deleted": deleted,
            }
            for name, title, kind, direction, deactivated, deleted in (
                *phone_queues,
                *OTHER_QUEUES,
                outgoing,
            )
        ]
        return self._list(request, rows)

    def _pause_rows(self) -> list[Json]:
        rows: list[Json] = [
            {"name": f"pause_{index}", "title": title, "type": None, "paid": False}
            for index, title in enumerate(self.state.pause_reasons, start=1)
        ]
        rows += [
            {"name": name, "title": title, "type": kind, "paid": kind == "wrap"}
            for name, title, kind in SYSTEM_PAUSES
        ]
        return rows

    def _pauses(self, request: web.Request, _body: Json, _agent: SimAgent) -> web.Response:
        """`pauses.json` (daktela-v6.md:215-222), `data` a map by record name (daktela-v6.md:94)."""
        page, total = self._page(request, self._pause_rows())
        return self._envelope({"data": {row["name"]: row for row in page}, "total": total})

    def _pause_of(self, agent: SimAgent) -> Json | None:
        if agent.status is AgentStatus.WRAP_UP:
            name, title, kind = SYSTEM_PAUSES[0]
            return {"name": name, "title": title, "type": kind}
        if not agent.paused:
            return None
        for row in self._pause_rows():
            if row["title"] == agent.pause_reason:
                return {"name": row["name"], "title": row["title"], "type": row["type"]}
        return {"name": "pause_0", "title": agent.pause_reason or "Pause", "type": None}

    def _live_call(self, agent: SimAgent) -> SimCall | None:
        return next(
            (c for c in self.state.active_calls() if c.agent_id == agent.id),
            None,
        )

    def _realtime_sessions(
        self, request: web.Request, _body: Json, _agent: SimAgent
    ) -> web.Response:
        """A row per logged-in agent (daktela-v6.md:186-206); no filters (daktela-v6.md:165)."""
        rows: list[Json] = []
        for agent in self.state.agents.values():
            if not agent.logged_in:
                continue
            pause = self._pause_of(agent)
            call = self._live_call(agent)
            line = self.state.line_of_agent(agent)
            if line is None or not line.registered:
                exten_status = "Unavailable"
            elif call is not None:
                exten_status = "Busy"
            else:
                exten_status = "Idle"
            queue = next((self.state.queues.get(q) for q in agent.queue_ids), None)
            rows.append(
                {
                    "id_agent": {
                        "name": agent.login,
                        "title": agent.name,
                        "extension": agent.extension,
                    },
                    "state": "Paused" if pause else "Idle",
                    "exten": agent.extension,
                    "exten_status": exten_status,
                    "presence_status": exten_status,
                    "logintime": _time(agent.login_time),
                    "statetime": _time(agent.login_time),
                    "lastcalltime": None,
                    "lastqueue": self._queue_ref(queue),
                    "id_pause": pause,
                    "onpause": _time(agent.login_time) if pause else None,
                    "id_call": call.id if call else None,
                    "unwrap": None,
                }
            )
        return self._list(request, rows)

    # --- calls -----------------------------------------------------------------------------

    def _call_row(self, call: SimCall) -> Json:
        agent = self.state.agents.get(call.agent_id or "")
        queue = self.state.queues.get(call.queue_id or "")
        incoming = call.direction is Direction.IN
        end = call.ended or self.state.now()
        missed = incoming and call.status is CallStatus.ENDED and not call.was_answered
        return {
            "id_call": call.id,
            "call_time": _time(call.created),
            "direction": call.direction.value,
            "answered": call.was_answered,
            "id_queue": self._queue_ref(queue),
            "id_agent": {"name": agent.login, "title": agent.name} if agent else None,
            "clid": _national(call.caller if incoming else call.callee),
            "did": _national(call.callee if incoming else call.caller),
            "waiting_time": int(((call.answered or end) - call.created).total_seconds()),
            "ringing_time": 0,
            "duration": int((end - call.answered).total_seconds()) if call.answered else 0,
            "disposition_cause": "caller" if call.status is CallStatus.ENDED else None,
            "missed_call": 1 if missed else None,
        }

    @staticmethod
    def _filters(request: web.Request) -> list[tuple[str, str, list[str]]]:
        """(field, operator, values) of the three encodings, AND-ed only (daktela-v6.md:141-160)."""
        query = request.query
        found: dict[str, dict[str, Any]] = {}
        for key, value in query.items():
            if not key.startswith("filter["):
                continue
            parts = key.removeprefix("filter").strip("[]").split("][")
            if parts[0] == "logic":
                if value != "and":
                    raise RefusedError({"form": {"filter": "Only AND filters are served"}})
                continue
            if parts[0] == "filters":  # C: filter[filters][i][field|operator|value][k]
                parts = parts[1:]
            if parts[0].isdigit():  # B / C: indexed
                index, rest = parts[0], parts[1:]
            else:  # A: a single filter
                index, rest = "0", parts
            entry = found.setdefault(index, {"values": []})
            if rest[0] == "value":
                entry["values"].append(value)
            else:
                entry[rest[0]] = value
        return [
            (str(entry.get("field")), str(entry.get("operator")), entry["values"])
            for entry in found.values()
        ]

    def _activities_call(self, request: web.Request, _body: Json, _agent: SimAgent) -> web.Response:
        """`activitiesCall.json` (daktela-v6.md:234-253), `sort` (daktela-v6.md:138).

        Filters in the three encodings (daktela-v6.md:141-160); one on a field or operator
        not served here is a 400 (daktela-v6.md:162-163). An unknown sort field gives no
        rows (daktela-v6.md:138, HJ); `total` comes as a string (daktela-v6.md:99).
        """
        rows = [self._call_row(call) for call in self.state.calls.values()]
        for field, operator, values in self._filters(request):
            if field == "call_time" and operator == "gte" and values:
                rows = [row for row in rows if (row["call_time"] or "") >= values[0]]
            elif field == "missed_call" and operator == "isnotnull":
                rows = [row for row in rows if row["missed_call"] is not None]
            elif field == "id_call" and operator == "in":
                rows = [row for row in rows if row["id_call"] in values]
            else:
                raise RefusedError({"form": {field: f"Filter {operator} is not allowed"}})
        sort_field = request.query.get("sort[0][field]")
        if sort_field is not None:
            if sort_field != "call_time":
                rows = []  # an unknown sort field silently returns no rows (§3, HJ)
            rows.sort(
                key=lambda row: row["call_time"] or "",
                reverse=request.query.get("sort[0][dir]") == "desc",
            )
        page, total = self._page(request, rows)
        # `total` as a string here: the SDKs accept both (§2).
        return self._envelope({"data": page, "total": str(total)})

    def _create_activity(self, _request: web.Request, body: Json, agent: SimAgent) -> web.Response:
        """Click-to-call (daktela-v6.md:290-304): `{"number", "type": "CALL", "queue"}`.

        The token's user places it; the queue is required and must be the outgoing one the
        user is logged in to (daktela-v6.md:296); a created activity answers 201 with `name`
        and `item` (daktela-v6.md:300-302).
        """
        if str(body.get("type") or "") != "CALL":
            raise RefusedError({"form": {"type": "Item is mandatory"}})
        number = str(body.get("number") or "").strip()
        if not number:
            raise RefusedError({"form": {"number": "Item is mandatory"}})
        if str(body.get("queue") or "") != str(OUTGOING_QUEUE_NAME):
            raise RefusedError({"form": {"queue": "Item is mandatory"}})
        # The digest gives no HTTP status for these refusals: the inconvenient reading, an
        # error inside a 200 (daktela-v6.md:101-112, 303-304).
        if agent.id not in self.outgoing_logins:
            raise RefusedError({"primary": ["User is not logged in to the queue", "error"]}, 200)
        line = self.state.line_of_agent(agent)
        if line is None or not line.registered:
            raise RefusedError({"primary": [NO_DEVICES, "error"]}, 200)
        call = self.state.originate(agent.extension, number, agent_id=agent.id, line_id=line.id)
        result = {
            "name": f"activities_{call.id}",
            "type": "CALL",
            "action": "OPEN",
            "user": {"name": agent.login, "title": agent.name},
            "item": {"id_call": call.id},
        }
        return self._envelope(result, status=201)

    def _users_session(self, _request: web.Request, body: Json, agent: SimAgent) -> web.Response:
        """Queue login of the token's own user (daktela-v6.md:306-312, 283-284).

        JSON as the digest writes the body, or the form data DOC-CLI posts (`login` then
        is the text `true`). `login: false` is not confirmed, so it is refused; a created
        session answers 201 (daktela-v6.md:88-89).
        """
        queues = body.get("queues")
        if not isinstance(queues, list) or not queues:
            raise RefusedError({"form": {"queues": "Item is mandatory"}})
        for entry in queues:
            if not isinstance(entry, dict) or entry.get("login") not in (True, "true"):
                raise RefusedError({"form": {"queues": "Only login is served"}})
            name = entry.get("name")
            if name in (None, ""):
                raise RefusedError({"form": {"name": "Item is mandatory"}})
            if str(name) == str(OUTGOING_QUEUE_NAME):
                self.outgoing_logins.add(agent.id)
                continue
            queue = self._queue_by_name(name)
            if queue is None:
                raise RefusedError(NOT_EXIST, 404)
            self.state.queue_login(agent.id, queue.id)
        return self._envelope({"user": agent.login}, status=201)

    # --- push ------------------------------------------------------------------------------

    def _on_event(self, event: SimEvent) -> None:
        """The Events HTTP-request action (daktela-v6.md:332-347).

        A POST of the integration's JSON template for call_create / call_answer /
        call_close (daktela-v6.md:339), with the static `X-Webhook-Secret` header an
        administrator sets (daktela-v6.md:338, 341).
        """
        name = AUTOMATION_EVENTS.get(event.kind)
        if name is None or event.call is None or not self.automation_url:
            return
        row = self._call_row(event.call)
        body = {
            "event": name,
            "call_id": row["id_call"],
            "direction": row["direction"],
            "caller": row["clid"],
            "callee": row["did"],
            "agent": (row["id_agent"] or {}).get("name", ""),
            "queue": str((row["id_queue"] or {}).get("name", "")),
        }
        headers = {"Content-Type": "application/json"}
        if self.automation_secret:
            headers["X-Webhook-Secret"] = self.automation_secret
        self.sim.webhooks.send(
            self.provider, "POST", self.automation_url, body=json.dumps(body), headers=headers
        )
