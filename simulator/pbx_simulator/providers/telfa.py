"""Telfa wire format (see shared/provider-docs/telfa.txt; "T:N" below is its line N).

Paths end in `.xml` or `.json` and the `api_key` travels in the `api_key` header, the query
string, or (POST/PUT/DELETE) the JSON object / XML root of the body. Request bodies are read
by their Content-Type, as the documentation insists.

Kept from the documentation as it is: typed XML (`<telfa-users type="array">`, dashed element
names, `type="integer"`, `nil="true"` on typed nils but a bare empty element on string nils)
beside untyped underscore XML for calls (`<caller_number>`, `<answered_at/>`); an empty list
in XML is `<nil-classes type="array"/>`; JSON dates are `2014/06/16 23:41:08 +0000` for
users and groups but `2009/10/11 13:41:59+02:00` for calls; a number's `id` is a JSON string
while `number_id` elsewhere is an integer (and the sms_hook's `number_id` a string again);
sms_hook's `received_at` is local time without a zone. Click-to-call dials the user whose
API key it is unless `telfa_user_id`/`telfa_user_login` names another.

Kept as documented although it is inconvenient: the JSON of one call group (T:501-513)
lacks the comma after each member's name, so it is sent that way; SMS refusals carry
`error_code`/`error_text` in the body (T:735-750) with an undocumented HTTP status, so the
status is the code where it is an HTTP error status (400, 413, 500, 550) and 200 otherwise
(900-902): a refusal inside a 2xx.

Not in the documentation, so answered as a Rails application plausibly would: a wrong
`api_key` gets HTTP 401 `HTTP Basic: Access denied.`; refused requests get HTTP 422 with
`<errors><error>…</error></errors>` / `{"errors": […]}`; unknown objects HTTP 404;
click-to-call and announce answer the created call as `<call>` (clients must not rely on
it); interrupt, transfer and play_recording answer 200 with an empty body. Parameters the
documentation does not mark optional are required.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import re
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from aiohttp import web

from ..state import (
    AgentStatus,
    CallStatus,
    Direction,
    SimAgent,
    SimCall,
    SimEvent,
    SimNumber,
    SimSms,
)
from .base import BaseProviderSim

if TYPE_CHECKING:
    from ..app import Simulator
    from ..state import SimQueue

PRAGUE = ZoneInfo("Europe/Prague")
HOOKS = (
    "incoming_hook",
    "group_hook",
    "ring_hook",
    "transfer_hook",
    "outgoing_hook",
    "hangup_hook",
    "sms_hook",
)
CALLS_PER_PAGE = 20
MAX_PER_PAGE = 2000
RECIPES_PER_PAGE = 30
RECIPE_ID_OFFSET = 533  # number 1 gets recipe 534, as in the documentation
VOICES = ("0", "1", "2", "3", "4")  # Jan, Alena, Radka, Iva, Standa
MAX_SMS_LENGTH = 1000
SMS_ERRORS = {
    400: "INVALID_RECIPIENT",
    413: "TOO_LONG",
    500: "OTHER_ERROR",
    550: "SEND_LIMIT_EXCEEDED_OR_SIM_NOT_REGISTERED",
    900: "GATEWAY_ERROR",
    901: "EMPTY_RECIPIENT",
    902: "INCORRECT_NUMBER_ID",
}
DIAL_METHODS = ("", "voip", "mobile", "both")
PLAY_SIDES = ("both", "caller", "called")  # T:128
SMS_PER_PAGE = 200  # T:768
PHONE_NUMBER = re.compile(r"(\+|00)?\d{3,15}")
HOOK_URL = re.compile(r"https?://[^\s,]+")
ACCESS_DENIED = "HTTP Basic: Access denied.\n"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
FIXED_CREATED = datetime(2020, 6, 12, 8, 4, 28, tzinfo=UTC)


class TelfaRefusedError(Exception):
    """A request Telfa refuses with `status` and a list of error messages."""

    def __init__(self, status: int, *errors: str) -> None:
        super().__init__(", ".join(errors))
        self.status = status
        self.errors = errors


class SmsRefusedError(Exception):
    """An SMS Telfa refuses with one of its documented error codes."""

    def __init__(self, code: int) -> None:
        super().__init__(SMS_ERRORS[code])
        self.code = code


@dataclass(frozen=True)
class Nil:
    """A typed nil: `<tag type="integer" nil="true"/>` in XML, `null` in JSON."""

    type: str


@dataclass
class TelfaRequest:
    """One request as the handlers see it."""

    request: web.Request
    fmt: str  # "xml" | "json"
    ids: list[str]  # numeric path segments, e.g. the 10 of /telfa_users/10/…
    query: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


type Handler = Callable[[TelfaRequest], Awaitable[web.Response]]


# --- formats ---------------------------------------------------------------------------


def national(number: str) -> str:
    """A number as Telfa writes it: Czech ones national (`777123456`), others `00<cc>…`."""
    if number.startswith("+420"):
        return number[4:]
    if number.startswith("+"):
        return "00" + number[1:]
    return number


def international(number: str) -> str:
    """A number as the sms_hook writes it: E.164."""
    if number.startswith("+"):
        return number
    if number.startswith("00"):
        return "+" + number[2:]
    return "+420" + number


def local_time(moment: datetime | None) -> str | None:
    """Call times: `2009-10-11T13:41:59+02:00`."""
    return moment.astimezone(PRAGUE).isoformat() if moment else None


def json_call_time(moment: datetime | None) -> str | None:
    """calls.json times: `2009/10/11 13:41:59+02:00`."""
    return moment.astimezone(PRAGUE).strftime("%Y/%m/%d %H:%M:%S%:z") if moment else None


def json_utc_time(moment: datetime) -> str:
    """User and group times in JSON: `2014/06/16 23:41:08 +0000`."""
    return moment.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S +0000")


def xml_text(root: ET.Element) -> str:
    """Indented, with empty elements written `<tag/>` as Rails does."""
    ET.indent(root)
    return ET.tostring(root, encoding="unicode").replace(" />", "/>")


def xml_document(root: ET.Element) -> web.Response:
    return web.Response(
        text=XML_DECLARATION + xml_text(root) + "\n",
        content_type="application/xml",
        charset="utf-8",
    )


def json_document(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def typed_element(tag: str, value: Any) -> ET.Element:
    """Rails' typed XML: dashed names, `type` attributes, `nil="true"` on typed nils."""
    element = ET.Element(tag.replace("_", "-"))
    match value:
        case Nil(type=kind):
            element.set("type", kind)
            element.set("nil", "true")
        case None:
            pass  # a string nil is just an empty element
        case bool():
            element.set("type", "boolean")
            element.text = "true" if value else "false"
        case int():
            element.set("type", "integer")
            element.text = str(value)
        case datetime():
            element.set("type", "datetime")
            element.text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        case list():
            element.set("type", "array")
            for item in value:
                tag_of_item, fields = item
                element.append(typed_record(tag_of_item, fields))
        case _:
            element.text = str(value)
    return element


def typed_record(tag: str, fields: dict[str, Any]) -> ET.Element:
    record = ET.Element(tag.replace("_", "-"))
    record.extend(typed_element(key, value) for key, value in fields.items())
    return record


def typed_array(tag: str, item_tag: str, records: list[dict[str, Any]]) -> ET.Element:
    if not records:
        return nil_classes()
    array = ET.Element(tag.replace("_", "-"), {"type": "array"})
    array.extend(typed_record(item_tag, fields) for fields in records)
    return array


def plain_record(tag: str, fields: dict[str, Any]) -> ET.Element:
    """The calls' untyped XML: underscore names, nil as an empty element."""
    record = ET.Element(tag)
    for key, value in fields.items():
        child = ET.SubElement(record, key)
        if isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)
    return record


def nil_classes() -> ET.Element:
    """What Rails writes for an empty array."""
    return ET.Element("nil-classes", {"type": "array"})


def json_value(value: Any) -> Any:
    match value:
        case Nil():
            return None
        case datetime():
            return json_utc_time(value)
        case list():
            return [{k: json_value(v) for k, v in fields.items()} for _, fields in value]
        case _:
            return value


def json_record(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: json_value(value) for key, value in fields.items()}


def parse_xml_body(text: str) -> dict[str, Any]:
    """The children of an XML body's root as a dict (no DTDs, so no entities)."""
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise TelfaRefusedError(400, "DTDs are not accepted")
    try:
        root = ET.fromstring(text)  # noqa: S314 - DTDs (and so entities) are refused above
    except ET.ParseError:
        raise TelfaRefusedError(400, "the XML body cannot be read") from None
    fields: dict[str, Any] = {"_root": root.tag}
    for child in root:
        fields[child.tag] = (child.text or "").strip()
    return fields


# --- the simulation ----------------------------------------------------------------------


class TelfaSim(BaseProviderSim):
    provider = "telfa"
    base_path = ""
    default_credentials = {"api_key": "612e90b65911f626d4609d368c34fb69"}  # noqa: RUF012

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        # Telfa-only details the shared state does not keep.
        self.presence_changed: dict[str, datetime] = {}
        self.last_presence: dict[str, bool] = {}
        self.ring_started: dict[str, datetime] = {}
        self.group_started: dict[str, datetime] = {}
        # Recordings played into live calls: (call id, recording id, side).
        self.played: list[tuple[str, str, str]] = []
        # SMS a month before SEND_LIMIT_EXCEEDED_OR_SIM_NOT_REGISTERED (550); None: no limit.
        self.sms_limit: int | None = None
        self.routes: dict[str, tuple[Handler, tuple[str, ...]]] = {
            "POST /calls": (self._dial, ("xml",)),
            "GET /calls": (self._calls, ("xml", "json")),
            "POST /calls/announce": (self._announce, ("xml",)),
            "POST /calls/play_recording": (self._play_recording, ("xml",)),
            "POST /calls/interrupt": (self._interrupt, ("xml",)),
            "POST /calls/transfer_call": (self._transfer, ("xml",)),
            "GET /calls/current": (self._current_call, ("xml",)),
            "GET /calls/all_current": (self._all_current, ("xml",)),
            "GET /telfa_users/status": (self._users_status, ("xml", "json")),
            "GET /telfa_users/user_by_id": (self._user_by_id, ("xml", "json")),
            "GET /telfa_users/user_by_login": (self._user_by_login, ("xml", "json")),
            "POST /telfa_users/{id}/operator_log_in": (self._operator_log_in, ("xml",)),
            "POST /telfa_users/{id}/operator_log_out": (self._operator_log_out, ("xml",)),
            "POST /telfa_users/change_presence": (self._change_presence, ("xml",)),
            "GET /call_groups": (self._call_groups, ("xml", "json")),
            "GET /call_groups/{id}": (self._call_group, ("xml", "json")),
            "POST /sms": (self._send_sms, ("xml", "json")),
            "GET /sms": (self._sms_list, ("xml", "json")),
            "GET /numbers/{id}": (self._number, ("json",)),
            "PUT /numbers/{id}": (self._update_number, ("json",)),
            "GET /recipes": (self._recipes, ("json",)),
        }
        self.state.subscribe(self._on_event)

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._handle)

    def endpoint_key(self, request: web.Request, path: str) -> str:
        """`POST /telfa_users/{id}/operator_log_in`: XML and JSON variants count together."""
        resource = re.sub(r"\.(xml|json)$", "", path)
        resource = re.sub(r"/\d+(?=/|$)", "/{id}", resource)
        return f"{request.method} {resource}"

    # --- dispatch ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        """Every request: the path's format, the body by its Content-Type (T:8) and the
        `api_key` in a header, the query or the body (T:5-6)."""
        path = "/" + request.match_info["path"]
        fmt = path.rpartition(".")[2]
        route = self.routes.get(self.endpoint_key(request, path))
        if route is None or fmt not in route[1]:
            return web.Response(status=404, text="Not Found")
        handler, _ = route
        try:
            body = await self._read_body(request)
        except TelfaRefusedError as err:
            return self._refused(fmt, err)
        if not self._authorized(request, body):
            return web.Response(
                status=401,
                text=ACCESS_DENIED,
                headers={"WWW-Authenticate": 'Basic realm="Application"'},
            )
        body.pop("api_key", None)
        ids = re.findall(r"/(\d+)(?=/|\.)", path)
        context = TelfaRequest(request, fmt, ids, dict(request.query), body)
        try:
            return await handler(context)
        except TelfaRefusedError as err:
            return self._refused(fmt, err)
        except SmsRefusedError as err:
            return self._sms_refused(fmt, err)

    @staticmethod
    async def _read_body(request: web.Request) -> dict[str, Any]:
        """Read the body by its Content-Type; any other type is not read at all."""
        text = (await request.read()).decode("utf-8", errors="replace")
        if not text.strip():
            return {}
        if request.content_type == "application/json":
            try:
                data = json.loads(text)
            except ValueError:
                raise TelfaRefusedError(400, "the JSON body cannot be read") from None
            if not isinstance(data, dict):
                raise TelfaRefusedError(400, "the JSON body must be an object")
            return data
        if request.content_type in ("application/xml", "text/xml"):
            return parse_xml_body(text)
        return {}

    def _authorized(self, request: web.Request, body: dict[str, Any]) -> bool:
        key = (
            request.headers.get("api_key")
            or request.query.get("api_key")
            or (body.get("api_key") if request.method in ("POST", "PUT", "DELETE") else None)
        )
        return key == self.credentials["api_key"]

    @staticmethod
    def _refused(fmt: str, err: TelfaRefusedError) -> web.Response:
        if fmt == "json":
            return json_document({"errors": list(err.errors)}, err.status)
        root = ET.Element("errors")
        for message in err.errors:
            ET.SubElement(root, "error").text = message
        response = xml_document(root)
        response.set_status(err.status)
        return response

    @staticmethod
    def _sms_refused(fmt: str, err: SmsRefusedError) -> web.Response:
        """T:716-750: the code and text in the body; the status is undocumented (see above)."""
        status = err.code if 400 <= err.code < 600 else 200
        if fmt == "json":
            return json_document({"error_code": err.code, "error_text": str(err)}, status)
        response = xml_document(
            plain_record("error", {"error_code": err.code, "error_text": str(err)})
        )
        response.set_status(status)
        return response

    def _render(self, context: TelfaRequest, root_tag: str, fields: dict[str, Any]) -> web.Response:
        if context.fmt == "json":
            return json_document(json_record(fields))
        return xml_document(typed_record(root_tag, fields))

    def _render_list(
        self, context: TelfaRequest, tag: str, item_tag: str, records: list[dict[str, Any]]
    ) -> web.Response:
        if context.fmt == "json":
            return json_document([json_record(fields) for fields in records])
        return xml_document(typed_array(tag, item_tag, records))

    @staticmethod
    def _empty() -> web.Response:
        return web.Response(status=200, body=b"")

    # --- lookups ------------------------------------------------------------------------

    def login_of(self, agent: SimAgent) -> str:
        """Telfa logins look like host names (`marek.telfa.cz`)."""
        return f"{agent.login}.demo.telfa.cz"

    def agent_by_login(self, login: str) -> SimAgent | None:
        return next((a for a in self.state.agents.values() if self.login_of(a) == login), None)

    def api_user(self) -> SimAgent:
        """The user whose API key it is: the account's first user, an administrator."""
        if not self.state.agents:
            raise TelfaRefusedError(422, "The API key has no user")
        return min(self.state.agents.values(), key=lambda a: int(a.id))

    def _agent(self, agent_id: str) -> SimAgent:
        agent = self.state.agents.get(agent_id)
        if agent is None:
            raise TelfaRefusedError(404, "Telfa user not found")
        return agent

    def first_number(self) -> SimNumber | None:
        return next(iter(self.state.numbers.values()), None)

    def number_of_call(self, call: SimCall) -> SimNumber | None:
        return self.state.numbers.get(call.number_id or "") or self.first_number()

    def recipe_ids(self) -> dict[str, SimNumber]:
        return {
            str(int(number.id) + RECIPE_ID_OFFSET): number
            for number in self.state.numbers.values()
            if number.id.isdigit()
        }

    def _active_call(self, call_id: str) -> SimCall:
        call = self.state.calls.get(call_id)
        if call is None or call.status is CallStatus.ENDED:
            raise TelfaRefusedError(404, "Call not found")
        return call

    @staticmethod
    def _document(context: TelfaRequest, root: str) -> dict[str, Any]:
        """The XML body's fields, refused when its root is not the documented `root` (no
        body at all is refused later, by the first required field it lacks)."""
        if context.body and context.body.get("_root") != root:
            raise TelfaRefusedError(422, f"{root} can't be blank")
        return context.body

    @staticmethod
    def _required(fields: dict[str, Any], name: str) -> str:
        value = fields.get(name)
        if value is None or not str(value).strip():
            raise TelfaRefusedError(422, f"{name} can't be blank")
        return str(value).strip()

    # --- views ----------------------------------------------------------------------------

    def presence_time(self, agent: SimAgent) -> datetime:
        """When the user last logged in or out; before any change, when the account began."""
        return self.presence_changed.get(agent.id) or FIXED_CREATED

    def available(self, agent: SimAgent) -> bool:
        return agent.logged_in and not agent.paused and agent.status is AgentStatus.IDLE

    def user_status(self, agent: SimAgent) -> dict[str, Any]:
        return {
            "available": self.available(agent),
            "email": agent.email,
            "id": int(agent.id),
            "name": agent.name,
            "presence_changed_at": self.presence_time(agent),
            "present": agent.logged_in,
        }

    def user_detail(self, agent: SimAgent) -> dict[str, Any]:
        last_hangup = max(
            (
                call.ended
                for call in self.state.calls.values()
                if call.agent_id == agent.id and call.ended
            ),
            default=None,
        )
        first = self.first_number()
        return {
            "allow_only_from_ip": None,
            "available": self.available(agent),
            "call_to_links": False,
            "can_delete_missed_calls": True,
            "created_at": FIXED_CREATED,
            "daily_call_cost_limit": Nil("integer"),
            "email": agent.email,
            "extension": int(agent.extension) if agent.extension.isdigit() else agent.extension,
            "id": int(agent.id),
            "is_admin": agent is self.api_user(),
            "lang": "cz",
            "last_call_hungup_at": last_hangup or Nil("datetime"),
            "login": self.login_of(agent),
            "monthly_call_cost_limit": Nil("integer"),
            "name": agent.name,
            "no_calls_abroad": False,
            "no_premium_calls": False,
            "outbound_api_url": None,
            "outbound_number_id": int(first.id) if first else Nil("integer"),
            "phone_number": national(agent.mobile),
            "presence_changed_at": self.presence_time(agent),
            "presence_managed_manually": True,
            "present": agent.logged_in,
            "sees_all_calls": True,
            "sees_all_groups_calls": False,
            "time_zone": "Prague",
            "updated_at": self.presence_time(agent),
            "user_id": int(self.state.account_id),
        }

    def call_group(self, queue: SimQueue) -> dict[str, Any]:
        lengths = [
            (call.ended - call.answered).total_seconds()
            for call in self.state.calls.values()
            if call.queue_id == queue.id and call.answered and call.ended
        ]
        return {
            "id": int(queue.id),
            "name": queue.name,
            "average_call_length": round(sum(lengths) / len(lengths))
            if lengths
            else Nil("integer"),
            "created_at": FIXED_CREATED,
            "updated_at": FIXED_CREATED,
        }

    def call_group_members(self, queue: SimQueue) -> list[tuple[str, dict[str, Any]]]:
        return [
            (
                "call_groups_telfa_user",
                {
                    "telfa_user_id": int(agent_id),
                    "name": self.state.agents[agent_id].name,
                    "sequence": sequence,
                    "mobile": False,
                },
            )
            for sequence, agent_id in enumerate(queue.member_ids, start=1)
            if agent_id in self.state.agents
        ]

    def caller_of(self, call: SimCall) -> str:
        """Outgoing calls show the user's login as the caller, incoming the caller's number."""
        if call.direction is not Direction.IN and (
            agent := self.state.agents.get(call.agent_id or "")
        ):
            return self.login_of(agent)
        return national(call.caller)

    def call_row(self, call: SimCall) -> dict[str, Any]:
        """A call of calls.xml / all_current.xml, in the documented order."""
        queue_start = self.group_started.get(call.id)
        return {
            "announcement_id": None,
            "answered_at": call.answered,
            "answered_by_user_id": call.agent_id if call.answered else None,
            "bridge_start_at": call.answered,
            "group_start_at": queue_start,
            "caller_number": self.caller_of(call),
            "call_group_id": call.queue_id,
            "dialed_number": national(call.callee),
            "created_at": call.created,
            "hungup_at": call.ended,
            "id": call.id,
            "inbound": call.direction is Direction.IN,
            "outbound_from_external_number": None,
            "recorded": False,
            "task_id": None,
            "telfa_user_id": call.agent_id,
            "transfer_description": self.description_of(call),
            "transferred_to_number": None,
            "voice_mail_file_name": None,
            "recording_file_name": None,
        }

    def description_of(self, call: SimCall) -> str | None:
        queue = self.state.queues.get(call.queue_id or "")
        return queue.name if queue else None

    @staticmethod
    def call_xml_row(row: dict[str, Any]) -> dict[str, Any]:
        return {
            key: local_time(value) if isinstance(value, datetime) else value
            for key, value in row.items()
        }

    @staticmethod
    def call_json_row(row: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, datetime):
                data[key] = json_call_time(value)
            elif key.endswith("id") and isinstance(value, str) and value.isdigit():
                data[key] = int(value)
            else:
                data[key] = value
        data["caller_name"] = None
        return data

    def _calls_document(self, context: TelfaRequest, calls: list[SimCall]) -> web.Response:
        rows = [self.call_row(call) for call in calls]
        if context.fmt == "json":
            return json_document([self.call_json_row(row) for row in rows])
        if not rows:
            return xml_document(nil_classes())
        root = ET.Element("calls", {"type": "array"})
        root.extend(plain_record("call", self.call_xml_row(row)) for row in rows)
        return xml_document(root)

    def created_call(self, call: SimCall) -> web.Response:
        return xml_document(
            plain_record(
                "call",
                {
                    "id": call.id,
                    "caller_number": self.caller_of(call),
                    "dialed_number": national(call.callee),
                    "start": local_time(call.created),
                },
            )
        )

    def number_json(self, number: SimNumber) -> dict[str, Any]:
        return {
            "id": number.id,
            "number": number.number,
            **{f"{hook}_url": number.hooks.get(hook) for hook in HOOKS},
        }

    # --- calls ----------------------------------------------------------------------------

    async def _dial(self, context: TelfaRequest) -> web.Response:
        """Click to call, T:87-105: `number` required; `method`, user and `auto_answer` optional."""
        query = context.query
        number = self._required(query, "number")
        if not PHONE_NUMBER.fullmatch(number):
            raise TelfaRefusedError(422, "Number is invalid")
        if query.get("method", "") not in DIAL_METHODS:
            raise TelfaRefusedError(422, "Method is invalid")
        agent = self.api_user()
        if user_id := query.get("telfa_user_id"):
            found = self.state.agents.get(user_id)
        elif login := query.get("telfa_user_login"):
            found = self.agent_by_login(login)
        else:
            found = agent
        if found is None:
            raise TelfaRefusedError(422, "Telfa user not found")
        call = self.state.originate(found.extension, national(number), agent_id=found.id)
        return self.created_call(call)

    async def _announce(self, context: TelfaRequest) -> web.Response:
        """Automatic calls, T:110-117: `number` and one of text / recording_id / recipe_id."""
        query = context.query
        number = self._required(query, "number")
        if not PHONE_NUMBER.fullmatch(number):
            raise TelfaRefusedError(422, "Number is invalid")
        sources = [key for key in ("text", "recording_id", "recipe_id") if query.get(key)]
        if len(sources) != 1:
            raise TelfaRefusedError(422, "Give exactly one of text, recording_id, recipe_id")
        voice = query.get("voice")
        if voice is not None and voice not in VOICES:
            raise TelfaRefusedError(422, "Voice is invalid")
        source = sources[0]
        if source == "recipe_id" and query[source] not in self.recipe_ids():
            raise TelfaRefusedError(422, "Recipe not found")
        announcement = query[source] if source == "text" else f"{source}:{query[source]}"
        first = self.first_number()
        call = self.state.originate(
            first.number if first else "0", national(number), announcement=announcement
        )
        return self.created_call(call)

    async def _play_recording(self, context: TelfaRequest) -> web.Response:
        """Play a recording into a live call, T:124-134: `<play_recording>` with `call_id`
        and `recording_id`; `side` optional (both, caller or called). Answers at once."""
        body = self._document(context, "play_recording")
        call = self._active_call(self._required(body, "call_id"))
        recording = self._required(body, "recording_id")
        if not recording.isdigit():
            raise TelfaRefusedError(422, "Recording is invalid")
        side = str(body.get("side") or "both")
        if side not in PLAY_SIDES:
            raise TelfaRefusedError(422, "Side is invalid")
        self.played.append((call.id, recording, side))
        return self._empty()

    async def _interrupt(self, context: TelfaRequest) -> web.Response:
        """Hang up, T:180-189: `<interrupt_call>` with `id`; `recording_id` optional."""
        body = self._document(context, "interrupt_call")
        call = self._active_call(self._required(body, "id"))
        recording = body.get("recording_id")
        if recording and not str(recording).isdigit():
            raise TelfaRefusedError(422, "Recording is invalid")
        self.state.hangup(call.id, "interrupted")
        return self._empty()

    async def _transfer(self, context: TelfaRequest) -> web.Response:
        """Transfer, T:141-152: `<transfer_call>` with `call_id` and `continue_with_recipe_id`."""
        body = self._document(context, "transfer_call")
        call = self._active_call(self._required(body, "call_id"))
        recipe = self._required(body, "continue_with_recipe_id")
        if recipe not in self.recipe_ids():
            raise TelfaRefusedError(422, "Recipe not found")
        self.state.transfer(call.id, f"recipe:{recipe}")
        return self._empty()

    async def _current_call(self, context: TelfaRequest) -> web.Response:
        """A user's current call, T:197-207 (`login` required)."""
        agent = self.agent_by_login(self._required(context.query, "login"))
        if agent is None:
            raise TelfaRefusedError(404, "Telfa user not found")
        call = next((c for c in self.state.active_calls() if c.agent_id == agent.id), None)
        if call is None:
            return xml_document(nil_classes())
        return xml_document(
            plain_record(
                "call",
                {
                    "caller_number": self.caller_of(call),
                    "dialed_number": national(call.callee),
                    "start": local_time(call.created),
                    "answered_at": local_time(call.answered),
                    "transfer_description": self.description_of(call),
                },
            )
        )

    async def _all_current(self, context: TelfaRequest) -> web.Response:
        """Calls in progress, T:214-215, in the shape of the call list (T:224-247)."""
        return self._calls_document(context, self.state.active_calls())

    async def _calls(self, context: TelfaRequest) -> web.Response:
        """Call list, T:216-288: `from` (not marked optional, so required) or one call by
        `id` (T:263), pages of 20 (`per_page` up to 2000)."""
        query = context.query
        calls = sorted(self.state.calls.values(), key=lambda c: int(c.id))
        if call_id := query.get("id"):
            calls = [c for c in calls if c.id == call_id]
        else:
            self._required(query, "from")
        if since_text := query.get("from"):
            try:
                since = datetime.strptime(since_text.strip(), "%Y-%m-%d %H:%M").replace(
                    tzinfo=PRAGUE
                )
            except ValueError:
                raise TelfaRefusedError(422, "From is invalid") from None
            calls = [c for c in calls if c.created >= since or (c.ended and c.ended >= since)]
        try:
            page = max(1, int(query.get("page", "1")))
            per_page = min(MAX_PER_PAGE, max(1, int(query.get("per_page", CALLS_PER_PAGE))))
        except ValueError:
            raise TelfaRefusedError(422, "Page is invalid") from None
        return self._calls_document(context, calls[(page - 1) * per_page : page * per_page])

    # --- users ----------------------------------------------------------------------------

    async def _users_status(self, context: TelfaRequest) -> web.Response:
        """Every user and their presence, T:314-338."""
        records = [self.user_status(agent) for agent in self.state.agents.values()]
        return self._render_list(context, "telfa_users", "telfa_user", records)

    async def _user_by_id(self, context: TelfaRequest) -> web.Response:
        """User details by id, T:345-384."""
        agent = self._agent(self._required(context.query, "id"))
        return self._render(context, "telfa_user", self.user_detail(agent))

    async def _user_by_login(self, context: TelfaRequest) -> web.Response:
        """User details by login, T:347-384."""
        agent = self.agent_by_login(self._required(context.query, "login"))
        if agent is None:
            raise TelfaRefusedError(404, "Telfa user not found")
        return self._render(context, "telfa_user", self.user_detail(agent))

    async def _operator_log_in(self, context: TelfaRequest) -> web.Response:
        """Log an operator in, T:397-399: answers the user's details."""
        agent = self.state.agent_login(self._agent(context.ids[0]).id)
        return self._render(context, "telfa_user", self.user_detail(agent))

    async def _operator_log_out(self, context: TelfaRequest) -> web.Response:
        """Log an operator out, T:406-408: answers the user's details."""
        agent = self.state.agent_logout(self._agent(context.ids[0]).id)
        return self._render(context, "telfa_user", self.user_detail(agent))

    async def _change_presence(self, context: TelfaRequest) -> web.Response:
        """Toggle an operator's login, T:415-417 (`login` required)."""
        agent = self.agent_by_login(self._required(context.query, "login"))
        if agent is None:
            raise TelfaRefusedError(404, "Telfa user not found")
        toggle = self.state.agent_logout if agent.logged_in else self.state.agent_login
        return self._render(context, "telfa_user", self.user_detail(toggle(agent.id)))

    # --- call groups --------------------------------------------------------------------

    async def _call_groups(self, context: TelfaRequest) -> web.Response:
        """Call groups, T:449-471."""
        records = [self.call_group(queue) for queue in self.state.queues.values()]
        return self._render_list(context, "call_groups", "call_group", records)

    async def _call_group(self, context: TelfaRequest) -> web.Response:
        """A call group and its users, T:478-513.

        The JSON is written as documented: without the comma after a member's name
        (T:508-509), which no JSON parser reads. The XML variant is well-formed.
        """
        queue = self.state.queues.get(context.ids[0])
        if queue is None:
            raise TelfaRefusedError(404, "Call group not found")
        fields = self.call_group(queue)
        members = self.call_group_members(queue)
        if context.fmt == "xml":
            return xml_document(
                typed_record("call_group", {**fields, "call_groups_telfa_users": members})
            )
        rows = [
            f'{{ "telfa_user_id":{member["telfa_user_id"]},\n'
            f'    "name":{json.dumps(member["name"], ensure_ascii=False)}\n'
            f'    "mobile":{json.dumps(member["mobile"])},\n'
            f'    "sequence":{member["sequence"]}\n  }}'
            for _, member in members
        ]
        head = json.dumps(json_record(fields), ensure_ascii=False)[:-1]
        return web.Response(
            text=f'{head}, "call_groups_telfa_users":[{", ".join(rows)}]}}',
            content_type="application/json",
            charset="utf-8",
        )

    # --- SMS ------------------------------------------------------------------------------

    async def _send_sms(self, context: TelfaRequest) -> web.Response:
        """Send an SMS, T:703-750: `number_id` of a SIM number (T:699), `recipient`, `message`."""
        sms = context.body.get("sms") if context.fmt == "json" else self._document(context, "sms")
        if not isinstance(sms, dict):
            raise TelfaRefusedError(422, "sms can't be blank")
        recipient = str(sms.get("recipient") or "").strip()
        message = str(sms.get("message") or "")
        if not recipient:
            raise SmsRefusedError(901)
        if not PHONE_NUMBER.fullmatch(recipient):
            raise SmsRefusedError(400)
        number = self.state.numbers.get(str(sms.get("number_id") or "").strip())
        if number is None or not number.gsm_gateway:  # SMS need a SIM card (T:699)
            raise SmsRefusedError(902)
        if len(message) > MAX_SMS_LENGTH:
            raise SmsRefusedError(413)
        sent = sum(sms.direction is Direction.OUT for sms in self.state.sms.values())
        if self.sms_limit is not None and sent >= self.sms_limit:
            raise SmsRefusedError(550)
        self.state.send_sms(number.number, national(recipient), message)
        return self._empty()

    def sms_record(self, sms: SimSms) -> dict[str, Any]:
        """One SMS of the list, in the documented order (T:782-817)."""
        inbound = sms.direction is Direction.IN
        ours = sms.recipient if inbound else sms.sender
        ours = national(ours) if ours.startswith("+") else ours
        number = next((n for n in self.state.numbers.values() if n.number == ours), None)
        return {
            "created_at": sms.created,
            "encoding": "unicode",
            "id": int(sms.id),
            "inbound": inbound,
            "last_sent_time": Nil("datetime") if inbound else sms.created,
            "message": sms.text,
            "number_id": int(number.id) if number else Nil("integer"),
            "received_at": sms.created if inbound else Nil("datetime"),
            "recipient": national(sms.recipient),
            "reply_to_sms_id": Nil("integer"),
            "retries": Nil("integer"),
            "sender": national(sms.sender),
            "status": Nil("integer") if inbound else 2,
            "telfa_user_id": Nil("integer") if inbound else int(self.api_user().id),
            "text_status": None if inbound else "SENT",
        }

    @staticmethod
    def _sms_time(query: dict[str, str], key: str) -> datetime | None:
        """`from` / `to` as `YYYY-MM-DD HH:MM`, Prague time (T:763-766)."""
        if not (text := query.get(key)):
            return None
        try:
            return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=PRAGUE)
        except ValueError:
            raise TelfaRefusedError(422, f"{key.capitalize()} is invalid") from None

    async def _sms_list(self, context: TelfaRequest) -> web.Response:
        """Received and sent SMS, T:753-819: every parameter optional; pages of 200."""
        query = context.query
        messages = sorted(self.state.sms.values(), key=lambda m: (m.created, int(m.id)))
        if (inbound := query.get("inbound")) is not None:
            if inbound not in ("true", "false"):
                raise TelfaRefusedError(422, "Inbound is invalid")
            wanted = Direction.IN if inbound == "true" else Direction.OUT
            messages = [m for m in messages if m.direction is wanted]
        since, until = self._sms_time(query, "from"), self._sms_time(query, "to")
        if since is not None:
            messages = [m for m in messages if m.created >= since]
        if until is not None:
            messages = [m for m in messages if m.created <= until]
        if search := query.get("search"):
            messages = [m for m in messages if search in f"{m.sender} {m.recipient} {m.text}"]
        try:
            page = max(1, int(query.get("page", "1")))
            per_page = min(MAX_PER_PAGE, max(1, int(query.get("per_page", SMS_PER_PAGE))))
        except ValueError:
            raise TelfaRefusedError(422, "Page is invalid") from None
        records = [self.sms_record(m) for m in messages[(page - 1) * per_page : page * per_page]]
        if context.fmt == "json":
            return json_document([json_record(fields) for fields in records])
        return xml_document(typed_array("sms", "sm", records))

    # --- numbers and recipes ------------------------------------------------------------

    def _number_of(self, context: TelfaRequest) -> SimNumber:
        number = self.state.numbers.get(context.ids[0])
        if number is None:
            raise TelfaRefusedError(404, "Number not found")
        return number

    async def _number(self, context: TelfaRequest) -> web.Response:
        """A number and its hook URLs, T:1150-1162."""
        return json_document(self.number_json(self._number_of(context)))

    async def _update_number(self, context: TelfaRequest) -> web.Response:
        """Change only the hooks named; the string "null" clears one (T:1166-1176)."""
        number = self._number_of(context)
        changes = context.body.get("number")
        if not isinstance(changes, dict):
            raise TelfaRefusedError(422, "number can't be blank")
        updates: dict[str, str | None] = {}
        errors: list[str] = []
        for hook in HOOKS:
            key = f"{hook}_url"
            if key not in changes:
                continue
            value = changes[key]
            if value is None or value == "null":
                updates[hook] = None
                continue
            urls = [url.strip() for url in str(value).split(",") if url.strip()]
            if not urls or not all(HOOK_URL.fullmatch(url) for url in urls):
                errors.append(f"{key} is invalid")
            updates[hook] = ",".join(urls)
        if errors:
            raise TelfaRefusedError(422, *errors)
        for hook, joined in updates.items():
            if joined is None:
                number.hooks.pop(hook, None)
            else:
                number.hooks[hook] = joined
        return json_document(self.number_json(number))

    async def _recipes(self, context: TelfaRequest) -> web.Response:
        """Call plans of the numbers, T:916-926, in pages of 30."""
        try:
            page = max(1, int(context.query.get("page", "1")))
        except ValueError:
            raise TelfaRefusedError(422, "Page is invalid") from None
        recipes = [
            {
                "contact_group_id": None,
                "number": number.number,
                "number_id": int(number.id),
                "name": None,
                "gsm_gateway": number.gsm_gateway,
                "id": int(recipe_id),
                "description": number.name,
            }
            for recipe_id, number in self.recipe_ids().items()
        ]
        start = (page - 1) * RECIPES_PER_PAGE
        return json_document(recipes[start : start + RECIPES_PER_PAGE])

    # --- webhooks -----------------------------------------------------------------------

    def _on_event(self, event: SimEvent) -> None:
        """Which hook a change of the account sends (T:1034-1136)."""
        if event.kind == "agent.changed":
            agent = self.state.agents.get(event.data.get("agent", ""))
            if agent is not None and self.last_presence.get(agent.id) != agent.logged_in:
                self.last_presence[agent.id] = agent.logged_in
                self.presence_changed[agent.id] = self.state.now()
            return
        if event.sms is not None:
            if event.kind == "sms.received":
                self._sms_hook(event.sms)
            return
        call = event.call
        if call is None:
            return
        incoming = call.direction is Direction.IN
        match event.kind:
            case "call.incoming":
                self._call_hook("incoming_hook", call)
            case "call.queued":
                self.group_started[call.id] = self.state.now()
                self._call_hook("group_hook", call)
            case "call.ringing" if incoming:
                self.ring_started[call.id] = self.state.now()
                self._call_hook("ring_hook", call)
            case "call.answered" if incoming:
                self._call_hook("transfer_hook", call)
            case "call.outgoing":
                self._call_hook("outgoing_hook", call)
            case "call.hangup":
                self._call_hook("hangup_hook", call)

    def hook_fields(self, hook: str, call: SimCall) -> dict[str, Any]:
        """A hook's XML fields, in the documented order (T:1038-1123)."""
        agent = self.state.agents.get(call.agent_id or "")
        login = self.login_of(agent) if agent else None
        fields: dict[str, Any] = {
            "hook_type": hook,
            "id": call.id,
            "caller_number": self.caller_of(call),
            "dialed_number": national(call.callee),
            "start": local_time(call.created),
        }
        description = self.description_of(call)
        match hook:
            case "ring_hook":
                fields["ring_start_at"] = local_time(self.ring_started.get(call.id))
                fields["transferred_to"] = login
                fields["transfer_description"] = description
            case "transfer_hook":
                fields["answered_at"] = local_time(call.answered)
                fields["answered_by_login"] = login
                fields["transfer_description"] = description
            case "group_hook":
                fields["group_start_at"] = local_time(self.group_started.get(call.id))
                fields["transfer_description"] = description
            case "hangup_hook":
                fields["hungup_at"] = local_time(call.ended)
                fields["group_start_at"] = local_time(self.group_started.get(call.id))
                fields["ring_start_at"] = local_time(self.ring_started.get(call.id))
                fields["answered_at"] = local_time(call.answered)
                fields["answered_by_user"] = login if call.answered else None
                fields["transfer_description"] = description
        return fields

    def _urls(self, number: SimNumber | None, hook: str) -> list[str]:
        if number is None:
            return []
        return [url.strip() for url in number.hooks.get(hook, "").split(",") if url.strip()]

    def _call_hook(self, hook: str, call: SimCall) -> None:
        """POST a call hook as XML to each URL of the number's hook field (T:1034, T:1168)."""
        urls = self._urls(self.number_of_call(call), hook)
        if not urls:
            return
        root = plain_record("call", self.hook_fields(hook, call))
        body = XML_DECLARATION + xml_text(root)
        for url in urls:
            self.sim.webhooks.send(
                self.provider, "POST", url, body=body, headers={"Content-Type": "application/xml"}
            )

    def _sms_hook(self, sms: SimSms) -> None:
        """POST a received SMS as JSON to the number's sms_hook_url (T:1128-1136)."""
        recipient = national(sms.recipient) if sms.recipient.startswith("+") else sms.recipient
        number = next((n for n in self.state.numbers.values() if n.number == recipient), None)
        urls = self._urls(number, "sms_hook")
        if number is None or not urls:
            return
        body = json.dumps(
            {
                "id": int(sms.id),
                "number_id": number.id,
                "sender": international(sms.sender),
                "sender_name": None,
                "recipient": international(number.number),
                "received_at": sms.created.astimezone(PRAGUE).strftime("%Y-%m-%d %H:%M:%S"),
                "message": sms.text,
            },
            ensure_ascii=False,
        )
        for url in urls:
            self.sim.webhooks.send(
                self.provider, "POST", url, body=body, headers={"Content-Type": "application/json"}
            )
