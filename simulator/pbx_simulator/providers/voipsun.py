"""VoIPSUN PBX wire format (see shared/provider-docs/voipsun-pbx.txt).

Everything goes to `/api/api.php` with `username`, `password`, `action` and the action's
parameters in the query string, the only place the documentation puts them (read whatever
the method, as PHP's `$_GET` is; a form body is ignored). Answers are JSON with HTTP 200 even
on failure: `{"success":"false","errno":"<n>","reason":…}` with the documented numbers and
texts.

Kept from the documentation as it is: `success` is the string "true"/"false" everywhere but
in `sipstatus`, which answers a JSON boolean, numeric `total` and `id`, a `_debug` flag and
`[ {…}, {…} ]` written with spaces; `agentstatus` answers
`{"success":"true":"reason":"…"}`, which is not valid JSON; slashes are escaped (`\\/`, PHP's
default) everywhere but in `listcalls`; an empty `members`/`waiters` map is `[]` (what PHP
makes of an empty array); `dial` into a context Asterisk does not know succeeds but never
dials. Where the documentation shows no answer, the simulator answers as the PBX plausibly
does: `{"success":"true"}` after originate, dial, spying and hangupcall, and the AMI's
`No such channel` (without errno) for a hangup of an unknown channel. Where the
documentation is silent the stricter reading: `queuestatus` without `queueName` is refused
with errno 120 like any missing parameter, and an unknown name with the queue actions'
`Queue <name> not found!` (errno 600, V:741); agentstatus reports a line that is not free
with its errno 630-636 (V:755-773) unless `line_state_errnos` is off, when it answers the
documented `success` bodies (V:535). `listcalls` lists each leg of a call as the
documentation's example does (V:201): a call between an extension and the outside is an
extension leg and a trunk leg. Only agents logged in are queue members (dynamic
membership). moverecord takes the call id as CDR id.

For tests: `denied_actions` are refused with errno 100 as the rights of an HTTP API user
that lacks them; `unmonitored` line ids answer sipstatus' `Unmonitored` (V:302); `sip_users`
gives lines SIP user names of the administrator's choosing (`kancelar-1`, with a hyphen like
the one before a channel's sequence number).

How the shared state is named here: agent N is agent number 999+N (agent 1 is the
documentation's 1000), line N has the public number 299299<N-1> (line 1: 299299000), the
internal number of its name and the SIP user `sip<name>`; the dialplan is `default` (but for
lines `line_dialplans` puts into another), the one outgoing route `odchozi` (id 1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..state import AgentStatus, CallStatus, Direction, SimAgent, SimCall, SimLine, SimQueue
from .base import BaseProviderSim

if TYPE_CHECKING:
    from ..app import Simulator

API_PATH = "/api/api.php"
DIALPLAN_ID = 1
DIALPLAN_NAME = "default"
SOURCE_PARAMS = ("srcExtenPublicNum", "srcExtenInternalNum", "srcExtenId", "srcSipUsername")
SPY_TARGET_PARAMS = (
    "dstExtenPublicNum",
    "dstExtenInternalNum",
    "dstExtenId",
    "dstSipUsername",
    "dstChannelName",
)
ONE_SOURCE = "Use only one of next variables: " + ", ".join(SOURCE_PARAMS)
ONE_SPY_TARGET = "Use only one of next variables: " + ", ".join(SPY_TARGET_PARAMS)
BAD_AGENT = "Agent not found, or bad authorization credentials!"
# Per agent action: the errno of a wrong agent number or PIN.
AGENT_ERRNO = {
    "agentlogin": "500",
    "agentlogout": "550",
    "agentpause": "580",
    "agentunpause": "590",
    "agentadd": "601",
    "agentremove": "611",
    "agentstatus": "620",
}
LINE_STATES = {
    AgentStatus.IDLE: "Line is free",
    AgentStatus.WRAP_UP: "Line is free",
    AgentStatus.RINGING: "Line is ringing",
    AgentStatus.IN_CALL: "Line is busy",
    AgentStatus.ON_HOLD: "Line is On hold",
}
# Asterisk's device states as queue member `status`.
MEMBER_STATUS = {
    AgentStatus.IDLE: "1",
    AgentStatus.WRAP_UP: "1",
    AgentStatus.IN_CALL: "2",
    AgentStatus.RINGING: "6",
    AgentStatus.ON_HOLD: "8",
}
UNAVAILABLE_STATUS = "5"
# agentstatus errnos of a line that is not free (V:761-773; 631's reason as printed there).
LINE_ERRNOS = {
    "Line is unavailable": ("631", "Line is unavailable'"),
    "Line is ringing": ("633", "Line is ringing"),
    "Line is busy": ("636", "Line is busy"),
    "Line is On hold": ("634", "Line in On hold"),
}
CHANNEL_STATES = {
    CallStatus.RINGING: "Ringing",
    CallStatus.QUEUED: "Up",
    CallStatus.ANSWERED: "Up",
    CallStatus.ON_HOLD: "Up",
}

type Params = dict[str, str]
type Action = Callable[[Params], web.Response]


@dataclass(frozen=True)
class LineErrors:
    """How an action answers a line choice it cannot use."""

    conflict: tuple[str, str]  # more than one way to name the line
    dialplan_param: str
    dialplan: tuple[str, str]  # the named dialplan does not exist
    missing: tuple[str, str]  # no such line
    ambiguous: tuple[str, str]  # an internal number of several dialplans, none named


ORIGINATE_ERRORS = LineErrors(
    ("200", ONE_SOURCE),
    "dialplanName",
    ("203", "Dialplan not found"),
    ("202", "Extension not found"),
    ("201", "Parameter dialPlanName missing"),
)
AGENT_LOGIN_ERRORS = LineErrors(
    ("501", ONE_SOURCE + "."),
    "dialplanName",
    ("504", "Dialplan not found"),
    ("503", "Extension not found"),
    ("502", "Parameter dialPlanName missing"),
)
SPY_SOURCE_ERRORS = LineErrors(
    ("300", ONE_SOURCE),
    "srcDialplanName",
    ("304", "Source dialplan not found"),
    ("303", "Source extension not found"),
    ("302", "Source parameter srcDialplanName missing"),
)
SPY_TARGET_ERRORS = LineErrors(
    ("301", ONE_SPY_TARGET),
    "dstDialplanName",
    ("312", "Destination dialplan not found"),
    ("311", "Destination extension not found"),
    ("310", "Destination parameter dstDialplanName missing"),
)


class VoipsunRefusedError(Exception):
    """A request the PBX answers with `success: false` and an errno."""

    def __init__(self, errno: str, reason: str) -> None:
        super().__init__(reason)
        self.errno = errno
        self.reason = reason


def national(number: str) -> str:
    """A number as the PBX writes it: Czech ones with 9 digits, others `00<cc>…`."""
    if number.startswith("+420"):
        return number[4:]
    if number.startswith("+"):
        return "00" + number[1:]
    return number


def e164(number: str) -> str:
    """A dialled number in the state's form: E.164 for phone numbers, extensions as they are."""
    if number.startswith("00") and len(number) > 6:
        return "+" + number[2:]
    if len(number) == 9 and number.isdigit() and not number.startswith("0"):
        return "+420" + number
    return number


def php_json(data: Any, *, escape_slashes: bool = True) -> web.Response:
    """JSON the way PHP's json_encode writes it: compact, ASCII, `\\/` for slashes."""
    text = json.dumps(data, separators=(",", ":"))
    if escape_slashes:
        text = text.replace("/", "\\/")
    return raw_json(text)


def raw_json(text: str) -> web.Response:
    return web.Response(text=text, content_type="application/json", charset="utf-8")


@dataclass(frozen=True)
class Leg:
    """One channel of a call: on an extension line or on the trunk."""

    channel: str
    line: SimLine | None
    on_trunk: bool


@dataclass(frozen=True)
class LineIndex:
    """The lines, read once for a whole answer rather than once per agent or call."""

    by_agent: dict[str, SimLine]
    trunk: SimLine | None


class VoipsunSim(BaseProviderSim):
    provider = "voipsun"
    base_path = ""
    default_credentials = {"username": "voipsun", "password": "secretpwd"}  # noqa: RUF012

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        # Outgoing routes by id, and the dialplan contexts Asterisk knows (for `dial`).
        self.outroutes = {"1": "odchozi"}
        self.contexts = {"pospojeni", "nevyzvednuto", "from-internal"}
        # Agent id -> the line they logged in from (default: their own line).
        self.login_lines: dict[str, str] = {}
        # Everything `spying` started: (listening line id, target as given).
        self.spy_sessions: list[tuple[str, str]] = []
        # Actions the HTTP API user has no right to (errno 100 with the right login).
        self.denied_actions: set[str] = set()
        # Lines and trunks the PBX does not qualify (sipstatus `Unmonitored`).
        self.unmonitored: set[str] = set()
        # Line id -> a SIP user name of the administrator's choosing (`kancelar-1`).
        self.sip_users: dict[str, str] = {}
        # Line id -> the dialplan of a line outside the default one (`pobocka`).
        self.line_dialplans: dict[str, str] = {}
        # agentstatus: a busy line as errno 630-636 (True) or in a success reason (False).
        self.line_state_errnos = True
        # Penalty each agent was added to a queue with: (agent id, queue id) -> penalty.
        self.penalties: dict[tuple[str, str], str] = {}
        self.actions: dict[str, Action] = {
            "originate": self._originate,
            "dial": self._dial,
            "hangupcall": self._hangup,
            "listcalls": self._list_calls,
            "spying": self._spying,
            "sipstatus": self._sip_status,
            "agentlogin": self._agent_login,
            "agentlogout": self._agent_logout,
            "agentpause": self._agent_pause,
            "agentunpause": self._agent_unpause,
            "agentadd": self._agent_add,
            "agentremove": self._agent_remove,
            "agentstatus": self._agent_status,
            "queuestatus": self._queue_status,
            "moverecord": self._move_record,
        }

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", API_PATH, self._handle)

    def endpoint_key(self, request: web.Request, path: str) -> str:
        return request.query.get("action") or path

    # --- names the PBX gives the shared state's objects ------------------------------

    def demo_options(self) -> dict[str, str | list[str]]:
        """The queues by name (no action lists them) and each agent's PIN, `agent: PIN`."""
        return {
            "queue_names": [queue.name for queue in self.state.queues.values()],
            "agent_pins": "\n".join(
                f"{self.agent_number(agent)}: {agent.pin}" for agent in self.state.agents.values()
            ),
        }

    @staticmethod
    def agent_number(agent: SimAgent) -> str:
        """The call-centre agent number: agent 1 is the documentation's agent 1000."""
        return str(999 + int(agent.id))

    @staticmethod
    def public_number(line: SimLine) -> str:
        """A line's public number: line 1 is the documentation's 299299000."""
        return f"299299{int(line.id) - 1:03d}"

    def sip_user(self, line: SimLine) -> str:
        """The SIP user name: `sip<internal number>` for lines (as sip100), trunks by name,
        unless `sip_users` names it (a name the PBX's administrator chose)."""
        if (chosen := self.sip_users.get(line.id)) is not None:
            return chosen
        return f"sip{line.name}" if line.kind == "extension" else line.name

    def extension_lines(self) -> list[SimLine]:
        return [line for line in self.state.lines.values() if line.kind == "extension"]

    def line_index(self) -> LineIndex:
        return LineIndex(self.state.lines_by_agent(), self.first_trunk())

    def login_line(self, agent: SimAgent, index: LineIndex | None = None) -> SimLine | None:
        line_id = self.login_lines.get(agent.id)
        if line_id is not None and line_id in self.state.lines:
            return self.state.lines[line_id]
        return self.state.line_of_agent(agent) if index is None else index.by_agent.get(agent.id)

    def call_line(self, call: SimCall, index: LineIndex | None = None) -> SimLine | None:
        """The SIP peer a call's channel belongs to."""
        line = self.state.lines.get(call.line_id or "")
        if line is None and call.agent_id and (agent := self.state.agents.get(call.agent_id)):
            line = self.login_line(agent, index)
        # Calls from outside arrive on the trunk.
        return line or (self.first_trunk() if index is None else index.trunk)

    def first_trunk(self) -> SimLine | None:
        return next((line for line in self.state.lines.values() if line.kind == "trunk"), None)

    def channel_name(self, call: SimCall, index: LineIndex | None = None) -> str:
        """The channel a call is known by: its first leg (see `legs`)."""
        return self.legs(call, index)[0].channel

    def legs(self, call: SimCall, index: LineIndex | None = None) -> list[Leg]:
        """The channels listcalls shows for a call (V:201), the one that lives longest first.

        A call between an extension and the outside has two legs: the extension's and the
        trunk's. A call from outside starts on the trunk (waiting in a queue it has only
        that leg) and keeps the state's channel sequence there; a call the PBX places
        rings the extension first and reaches the trunk once answered.
        """
        _, _, sequence = call.channel.removeprefix("SIP/").rpartition("-")
        other_sequence = f"{int(sequence, 16) | 0x10000000:08x}"
        line = self.call_line(call, index)
        trunk = self.first_trunk() if index is None else index.trunk
        if line is None or line.kind != "extension":
            return [Leg(f"SIP/{self.sip_user(line) if line else 'trunk'}-{sequence}", line, True)]
        extension_first = call.direction is not Direction.IN
        extension = Leg(
            f"SIP/{self.sip_user(line)}-{sequence if extension_first else other_sequence}",
            line,
            False,
        )
        internal = call.direction is Direction.INTERNAL
        if trunk is None or internal or (extension_first and not call.was_answered):
            return [extension]
        outside = Leg(
            f"SIP/{self.sip_user(trunk)}-{other_sequence if extension_first else sequence}",
            trunk,
            True,
        )
        return [extension, outside] if extension_first else [outside, extension]

    def line_state(self, agent: SimAgent, index: LineIndex | None = None) -> str:
        line = self.login_line(agent, index)
        if line is None or not line.registered:
            return "Line is unavailable"
        return LINE_STATES[agent.status]

    # --- request handling ----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        """Every action, V:612-627: the login (errno 100), then the action (110)."""
        params: Params = dict(request.query)
        creds = self.credentials
        if (params.get("username"), params.get("password")) != (
            creds["username"],
            creds["password"],
        ):
            return self._error("100", "Unauthorized user or bad permissions")
        action = self.actions.get(params.get("action", ""))
        if action is None:
            return self._error("110", "Unknown action")
        if params["action"] in self.denied_actions:
            return self._error("100", "Unauthorized user or bad permissions")
        try:
            return action(params)
        except VoipsunRefusedError as err:
            return self._error(err.errno, err.reason)

    @staticmethod
    def _error(errno: str, reason: str) -> web.Response:
        return php_json({"success": "false", "errno": errno, "reason": reason})

    @staticmethod
    def _success() -> web.Response:
        return php_json({"success": "true"})

    @staticmethod
    def _require(params: Params, *names: str) -> None:
        if any(not params.get(name) for name in names):
            raise VoipsunRefusedError("120", "Missing required parameters")

    def _find_line(self, params: Params, names: tuple[str, ...], errors: LineErrors) -> SimLine:
        """The one extension line named by exactly one of `names` (V:69, V:247, V:321-327).

        `names` are the public number, internal number, id and SIP user name parameters.
        An internal number several dialplans use needs the dialplan's name (V:34, V:228,
        V:238, V:329; errnos 201, 302, 310, 502).
        """
        given = [(name, params[name]) for name in names if params.get(name)]
        if len(given) > 1:
            raise VoipsunRefusedError(*errors.conflict)
        if not given:
            raise VoipsunRefusedError("120", "Missing required parameters")
        dialplan = params.get(errors.dialplan_param)
        if dialplan and dialplan not in {DIALPLAN_NAME, *self.line_dialplans.values()}:
            raise VoipsunRefusedError(*errors.dialplan)
        kind = names.index(given[0][0])
        found = [
            line
            for line in self.extension_lines()
            if (self.public_number(line), line.name, line.id, self.sip_user(line))[kind]
            == given[0][1]
        ]
        if kind == 1 and dialplan:  # the internal number, in the dialplan named
            found = [line for line in found if self.dialplan(line) == dialplan]
        if kind == 1 and len({self.dialplan(line) for line in found}) > 1:
            raise VoipsunRefusedError(*errors.ambiguous)
        if not found:
            raise VoipsunRefusedError(*errors.missing)
        return found[0]

    def dialplan(self, line: SimLine) -> str:
        return self.line_dialplans.get(line.id, DIALPLAN_NAME)

    def _agent(self, params: Params, action: str) -> SimAgent:
        self._require(params, "agentNumber", "agentPin")
        for agent in self.state.agents.values():
            if self.agent_number(agent) == params["agentNumber"]:
                if agent.pin == params["agentPin"]:
                    return agent
                break
        raise VoipsunRefusedError(AGENT_ERRNO[action], BAD_AGENT)

    def _queue(self, params: Params, errno: str) -> SimQueue:
        self._require(params, "queueName")
        name = params["queueName"]
        for queue in self.state.queues.values():
            if queue.name == name:
                return queue
        raise VoipsunRefusedError(errno, f"Queue {name} not found!")

    # --- calls ---------------------------------------------------------------------------

    def _originate(self, params: Params) -> web.Response:
        """originate, voipsun-pbx.txt V:8-94 (one source V:69-72), errors V:630-662."""
        self._require(params, "dstNum")
        line = self._find_line(params, SOURCE_PARAMS, ORIGINATE_ERRORS)
        self._check_line(line, params)
        self.state.originate(
            line.name, e164(params["dstNum"]), agent_id=line.agent_id, line_id=line.id
        )
        return self._success()

    def _check_line(self, line: SimLine, params: Params) -> None:
        """The optional checkIpHost, checkIpContact and checkExten of originate."""
        channel = f"SIP/{self.sip_user(line)}"
        if (wanted := params.get("checkIpHost")) and wanted != line.ip:
            raise VoipsunRefusedError(
                "210",
                f"SIP host IP address mismatch. Channel {channel} is registered from IP "
                f"{line.ip} but requested IP address is {wanted}",
            )
        if (wanted := params.get("checkIpContact")) and wanted != line.ip:
            raise VoipsunRefusedError(
                "211",
                f"SIP host contact IP address mismatch. Contact IP address of the channel "
                f"{channel} is {line.ip}, but requested IP address is {wanted}",
            )
        if not params.get("checkExten"):
            return
        if not line.registered:
            raise VoipsunRefusedError("220", "SIP channel is unreacheable")
        agent = self.state.agents.get(line.agent_id or "")
        if agent is not None and agent.status is AgentStatus.RINGING:
            raise VoipsunRefusedError("224", "SIP channel status - Line is ringing")
        if agent is not None and agent.status in (AgentStatus.IN_CALL, AgentStatus.ON_HOLD):
            raise VoipsunRefusedError("226", "SIP channel status - Line is up")

    def _dial(self, params: Params) -> web.Response:
        """dial, V:97-150: a route by name or id, only one of them (V:117), and a context;
        error 250 (V:665-669), also for both (the documentation names no other error)."""
        self._require(params, "dstNum", "context")
        route_id, route_name = params.get("outrouteId"), params.get("outrouteName")
        if not route_id and not route_name:
            raise VoipsunRefusedError("120", "Missing required parameters")
        route = self.outroutes.get(route_id) if route_id else route_name
        if (route_id and route_name) or route not in self.outroutes.values():
            raise VoipsunRefusedError("250", "Outroute not found!")
        # Asterisk drops a call into an unknown context; the API has already said yes.
        if params["context"] in self.contexts:
            caller = params.get("overrideCallerId") or params.get("dialerCid") or "000"
            trunk = self.first_trunk()
            self.state.originate(
                caller, e164(params["dstNum"]), line_id=trunk.id if trunk else None
            )
        return self._success()

    def _hangup(self, params: Params) -> web.Response:
        """hangupcall, V:153-174: any leg's channel ends its call; error 400 (V:694-698)."""
        name = params.get("channelName", "")
        if not name:
            raise VoipsunRefusedError("400", "Parameter channelName is empty")
        call = self._call_on_channel(name)
        if call is None:
            return php_json({"success": "false", "reason": "No such channel"})
        self.state.hangup(call.id)
        return self._success()

    def _call_on_channel(self, name: str) -> SimCall | None:
        """The active call one of whose legs is the channel `name` (V:155, V:240)."""
        index = self.line_index()
        for call in self.state.active_calls():
            if any(leg.channel == name for leg in self.legs(call, index)):
                return call
        return None

    def _list_calls(self, _params: Params) -> web.Response:
        """listcalls, V:177-201: every leg of every call, slashes unescaped as in V:201."""
        now = self.state.now()
        index = self.line_index()
        results = []
        for call in self.state.active_calls():
            duration = str(int((now - call.created).total_seconds()))
            for leg in self.legs(call, index):
                line_id = leg.line.id if leg.line else "0"
                src, dst = self._leg_parties(call, leg)
                results.append(
                    {
                        "channelName": leg.channel,
                        "context": (
                            "incomingRouteApp-1"
                            if call.direction is Direction.IN
                            else f"extensions-dialplanid-{DIALPLAN_ID}"
                        ),
                        "src": src,
                        "dst": dst,
                        "duration": duration,
                        "status": self._leg_status(call, leg),
                        "accountCode": f"SIPTR_{line_id}" if leg.on_trunk else f"SIP_{line_id}",
                        "sourceType": "trunk" if leg.on_trunk else "extension",
                        "idChannel": line_id,
                    }
                )
        return php_json(
            {"success": "true", "total": str(len(results)), "results": results},
            escape_slashes=False,
        )

    def _leg_parties(self, call: SimCall, leg: Leg) -> tuple[str, str]:
        """A leg's src and dst as V:201 shows them.

        From outside: the caller on both legs, the extension's number on its leg and the
        number dialled on the trunk's. Placed by the PBX: the number dialled on both, the
        line on its leg and the line's public number (the caller id) on the trunk's.
        """
        caller, callee = national(call.caller), national(call.callee)
        if call.direction is Direction.IN:
            return caller, (callee if leg.on_trunk or leg.line is None else leg.line.name)
        if leg.on_trunk and (line := self.call_line(call)) is not None and line.kind == "extension":
            return self.public_number(line), callee
        return caller, callee

    @staticmethod
    def _leg_status(call: SimCall, leg: Leg) -> str:
        """A call from outside is up on the trunk once the PBX took it (queue or IVR)."""
        if leg.on_trunk and call.direction is Direction.IN and call.status is CallStatus.RINGING:
            return "Up" if call.queue_id else "Ring"
        return CHANNEL_STATES.get(call.status, "Down")

    def _spying(self, params: Params) -> web.Response:
        """spying, V:204-275 (one listener V:247-249, one target V:251-253), V:672-691."""
        listener = self._find_line(params, SOURCE_PARAMS, SPY_SOURCE_ERRORS)
        targets = [name for name in SPY_TARGET_PARAMS if params.get(name)]
        if len(targets) > 1:
            raise VoipsunRefusedError("301", ONE_SPY_TARGET)
        if not targets:
            raise VoipsunRefusedError("120", "Missing required parameters")
        if targets[0] == "dstChannelName":
            # Any leg's channel is one "na kterém probíhá hovor" (V:240).
            if self._call_on_channel(params["dstChannelName"]) is None:
                raise VoipsunRefusedError("311", "Destination extension not found")
        else:
            self._find_line(params, SPY_TARGET_PARAMS[:4], SPY_TARGET_ERRORS)
        self.spy_sessions.append((listener.id, params[targets[0]]))
        return self._success()

    # --- registrations -------------------------------------------------------------------

    def _sip_status(self, _params: Params) -> web.Response:
        """sipstatus, V:278-302: numeric total and id, a JSON boolean success, `[ {…} ]`."""
        rows = []
        for line in self.state.lines.values():
            extension = line.kind == "extension"
            registered = line.registered
            if line.id in self.unmonitored:
                status = "Unmonitored"
            elif registered:
                status = f"OK ({5 + int(line.id) % 90} ms)"
            else:
                status = "UNKNOWN" if extension else "UNREACHABLE"
            row: dict[str, Any] = {
                "id": int(line.id) * 10 + (2 if extension else 1),
                "type": "extension_line" if extension else "sip",
                "user": self.sip_user(line),
                "host": line.ip if registered else "(Unspecified)",
                "port": str(line.port) if registered else "0",
                "status": status,
                "useragent": line.user_agent if registered and extension else "",
                "regcontact": (
                    f"sip:{self.sip_user(line)}@{line.ip}:{line.port}"
                    if registered and extension
                    else ""
                ),
                "registry": None,
            }
            row["extension_line_id" if extension else "sip_id"] = line.id
            rows.append(json.dumps(row, separators=(",", ":")).replace("/", "\\/"))
        body = (
            f'{{"total":{len(rows)},"results":[ {", ".join(rows)} ],"success":true,"_debug":false}}'
        )
        return raw_json(body)

    # --- call centre ---------------------------------------------------------------------

    def _agent_login(self, params: Params) -> web.Response:
        """agentlogin, V:305-343: one of the four line parameters; errors V:701-713."""
        line = self._find_line(params, SOURCE_PARAMS, AGENT_LOGIN_ERRORS)
        agent = self._agent(params, "agentlogin")
        self.login_lines[agent.id] = line.id
        self.state.agent_login(agent.id)
        return self._success()

    def _agent_logout(self, params: Params) -> web.Response:
        """agentlogout, V:346-374; error 550 (V:716-720)."""
        self.state.agent_logout(self._agent(params, "agentlogout").id)
        return self._success()

    def _agent_pause(self, params: Params) -> web.Response:
        """agentpause, V:377-405; error 580 (V:723-727)."""
        self.state.agent_pause(self._agent(params, "agentpause").id)
        return self._success()

    def _agent_unpause(self, params: Params) -> web.Response:
        """agentunpause, V:408-436; error 590 (V:730-734)."""
        self.state.agent_unpause(self._agent(params, "agentunpause").id)
        return self._success()

    def _agent_add(self, params: Params) -> web.Response:
        """agentadd, V:439-471: `penalty` is required like every listed parameter; V:737-743."""
        self._require(params, "penalty")
        queue = self._queue(params, "600")
        agent = self._agent(params, "agentadd")
        self.state.queue_login(agent.id, queue.id)
        self.penalties[agent.id, queue.id] = params["penalty"]
        return self._success()

    def _agent_remove(self, params: Params) -> web.Response:
        """agentremove, V:474-504; errors 610, 611 (V:746-752)."""
        queue = self._queue(params, "610")
        agent = self._agent(params, "agentremove")
        self.state.queue_logout(agent.id, queue.id)
        self.penalties.pop((agent.id, queue.id), None)
        return self._success()

    def _agent_status(self, params: Params) -> web.Response:
        """agentstatus, V:507-535 (bodies verbatim, not valid JSON); errors V:755-773."""
        agent = self._agent(params, "agentstatus")
        number = self.agent_number(agent)
        line_state = self.line_state(agent)
        errno = LINE_ERRNOS.get(line_state)
        if agent.logged_in and self.line_state_errnos and errno is not None:
            raise VoipsunRefusedError(*errno)
        reason = (
            f"Agent {number} is logged in. {self.line_state(agent)}"
            if agent.logged_in
            else f"Agent {number} is logged out."
        )
        # Verbatim from the documentation: a colon where the comma belongs.
        return raw_json(f'{{"success":"true":"reason":"{reason}"}}')

    def _queue_status(self, params: Params) -> web.Response:
        """queuestatus, V:538-564: one queue by the required `queueName` (a list of one)."""
        queues = [self._queue(params, "600")]
        # Read once for every queue: thousands of members would each scan them again.
        index = self.line_index()
        names = Counter(agent.name for agent in self.state.agents.values())
        answered: dict[str, list[SimCall]] = {}
        for call in self.state.calls.values():
            if call.queue_id is not None and call.was_answered:
                answered.setdefault(call.queue_id, []).append(call)
        return php_json(
            {
                "success": "true",
                "results": [
                    self._queue_row(q, index, names, answered.get(q.id, [])) for q in queues
                ],
            }
        )

    def _queue_row(
        self, queue: SimQueue, index: LineIndex, names: Counter[str], answered: list[SimCall]
    ) -> dict[str, Any]:
        """One queuestatus result as V:564 shows it; `names` counts the agents' names,
        `answered` holds the queue's answered calls."""
        now = self.state.now()
        taken_by: dict[str | None, list[SimCall]] = {}
        for call in answered:
            taken_by.setdefault(call.agent_id, []).append(call)
        members: dict[str, dict[str, Any]] = {}
        for agent_id in queue.member_ids:
            agent = self.state.agents[agent_id]
            if not agent.logged_in:  # dynamic members leave the queue when they log out
                continue
            line = self.login_line(agent, index)
            line_state = self.line_state(agent, index)
            number = self.agent_number(agent)
            taken = taken_by.get(agent.id, [])
            last = max((c.answered for c in taken if c.answered), default=None)
            # Agent names are unique on the PBX: tell the state's namesakes apart.
            name = agent.name if names[agent.name] == 1 else f"{agent.name} ({number})"
            members[name] = {
                "agentName": name,
                "channelStatus": line_state,
                "location": f"Local/{self.agent_number(agent)}@extensions-dialplanid-{DIALPLAN_ID}",
                "loggedFrom": f"SIP/{self.sip_user(line)}" if line else "",
                "membership": "dynamic",
                # What agentadd gave (V:461); members the state put there have the default.
                "penalty": self.penalties.get((agent.id, queue.id), "1"),
                "callsTaken": str(len(taken)),
                "lastCall": str(int(last.timestamp())) if last else "0",
                "isInCall": "1"
                if agent.status in (AgentStatus.IN_CALL, AgentStatus.ON_HOLD)
                else "0",
                "status": UNAVAILABLE_STATUS
                if line_state == "Line is unavailable"
                else MEMBER_STATUS[agent.status],
                "paused": "1" if agent.paused else "0",
            }
        waiters: dict[str, dict[str, Any]] = {}
        for position, call in enumerate(self.state.waiting_calls(queue.id), start=1):
            caller = national(call.caller)
            waiters[str(position)] = {
                "position": str(position),
                "channel": self.channel_name(call, index),
                "uniqueid": f"{int(call.created.timestamp())}.{call.id}",
                "callerIdNum": caller,
                "callerIdName": caller,
                "connectedLineNum": None,
                "connectedLineName": None,
                "wait": str(int((now - call.created).total_seconds())),
            }
        done = queue.completed + queue.abandoned
        talks = [(c.ended - c.answered).total_seconds() for c in answered if c.ended and c.answered]
        return {
            "queueName": queue.name,
            "max": "0",
            "strategy": queue.strategy,
            "calls": str(len(waiters)),
            "holdTime": str(int(queue.total_hold_seconds / len(answered)) if answered else 0),
            "talkTime": str(int(sum(talks) / len(talks)) if talks else 0),
            "completed": str(queue.completed),
            "abandoned": str(queue.abandoned),
            "serviceLevel": "20",
            "serviceLevelPerf": f"{100 * queue.answered_within_sla / done:.1f}" if done else "0.0",
            "weight": "0",
            # PHP encodes an empty array as a list.
            "members": members or [],
            "waiters": waiters or [],
        }

    # --- recordings ----------------------------------------------------------------------

    def _move_record(self, params: Params) -> web.Response:
        """moverecord, V:567-610: a call's recording (CDR id: the call id); V:776-788."""
        self._require(params, "cdrId")
        filename, folder = params.get("filename"), params.get("path")
        if not filename and not folder:
            raise VoipsunRefusedError("120", "Missing required parameters")
        call = self.state.calls.get(params["cdrId"])
        if call is None:
            raise VoipsunRefusedError("800", "CDR record not found!")
        if not call.recording:
            raise VoipsunRefusedError("801", "CDR not contain any information about audio record!")
        old_folder, _, old_name = call.recording.rpartition("/")
        call.recording = f"{(folder or old_folder).rstrip('/')}/{filename or old_name}"
        return self._success()
