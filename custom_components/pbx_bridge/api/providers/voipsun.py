"""VoIPSUN PBX client.

Every action is `GET <PBX>/api/api.php?username=…&password=…&action=…` with its parameters
in the query string, the only place the documentation puts them (dial actions send the same
query on a POST, which no HTTP layer repeats). The password travels in the URL, so it (also
URL-encoded) is redacted from every message and log record. Answers are JSON with HTTP 200
even on failure: `{"success":"false","errno":"<n>","reason":…}`; errno 100 is a rejected
login. `agentstatus` answers `{"success":"true":"reason":"…"}`, which is not valid JSON: its
reason text is read all the same.

Agents are call-centre agents: their actions need the agent number and its PIN, taken from
the `agent_pins` option. VoIPSUN has no push: no webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
import math
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ..client import (
    DEFAULT_TIMEOUT,
    PbxClient,
    national_or_international,
    parse_int,
    read_json,
)
from ..declaration import ConnectionField, OptionField, OptionKind, ProviderDeclaration
from ..errors import PbxAuthError, PbxInvalidInput, PbxResponseError
from ..models import (
    AccountInfo,
    Agent,
    AgentState,
    Call,
    CallDirection,
    CallResult,
    CallState,
    Capability,
    DialRequest,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    Queue,
    SipKind,
    SipRegistration,
    Snapshot,
)

# Option: agent number -> PIN; the PBX wants the PIN to log an agent in, out or pause them.
OPTION_AGENT_PINS = "agent_pins"

API_PATH = "/api/api.php"
AUTH_ERRNO = "100"
# A DialSource value that names an extension or outgoing route by its database id.
ID_PREFIX = "id:"
# agentstatus writes `"success":"true":"reason"`: a colon where the comma belongs.
AGENT_STATUS_QUIRK = re.compile(r'^(\{\s*"success"\s*:\s*"(?:true|false)"\s*):(\s*"reason")')
AGENT_STATUS_REASON = re.compile(
    r"^Agent (?P<number>\S+) is logged (?P<login>in|out)\.\s*(?P<line>.*)$"
)
AGENT_NUMBER = re.compile(r"^Local/(?P<number>[^@]+)@")
LINE_STATES = {
    "line is free": AgentState.IDLE,
    "line is in use": AgentState.IN_CALL,
    "line is busy": AgentState.IN_CALL,
    "line is not free": AgentState.IN_CALL,
    "line is ringing": AgentState.RINGING,
    "line is on hold": AgentState.ON_HOLD,
    "line is unavailable": AgentState.UNAVAILABLE,
}
# Asterisk's device states, for a member whose channelStatus is missing or new to us.
DEVICE_STATES = {
    "1": AgentState.IDLE,
    "2": AgentState.IN_CALL,
    "3": AgentState.IN_CALL,
    "4": AgentState.UNAVAILABLE,
    "5": AgentState.UNAVAILABLE,
    "6": AgentState.RINGING,
    "7": AgentState.RINGING,
    "8": AgentState.ON_HOLD,
}
BUSY_STATES = frozenset({AgentState.IN_CALL, AgentState.RINGING, AgentState.ON_HOLD})
CHANNEL_STATES = {"up": CallState.ANSWERED, "ring": CallState.RINGING, "ringing": CallState.RINGING}
UNSPECIFIED_HOST = "(Unspecified)"

type Json = dict[str, Any]


def to_e164(number: object) -> str | None:
    """A number as the PBX writes it (`800123456`, `00421…`) in E.164; extensions unchanged."""
    text = str(number).strip() if number is not None else ""
    if not text:
        return None
    if text.startswith("00") and len(text) > 6 and text[2:].isdigit():
        return "+" + text[2:]
    if len(text) == 9 and text.isdigit() and not text.startswith("0"):
        return "+420" + text
    return text


def parse_answer(body: bytes) -> Json | None:
    """The JSON object of an answer, tolerating agentstatus' documented colon; else None."""
    text = body.decode("utf-8", errors="replace").strip()
    for candidate in (text, AGENT_STATUS_QUIRK.sub(r"\1,\2", text, count=1)):
        try:
            answer = read_json(candidate)
        except ValueError:
            continue
        return answer if isinstance(answer, dict) else None
    return None


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _peer(channel: str) -> str | None:
    """The SIP peer of a channel: `SIP/sip101-0000b70f` -> `sip101`."""
    _, _, rest = channel.partition("/")
    peer = rest.rpartition("-")[0] if "-" in rest else rest
    return peer or None


def line_state(text: str) -> AgentState | None:
    """An agent's state from the PBX's line text (`Line is busy`)."""
    return LINE_STATES.get(text.strip().rstrip(".").lower())


class VoipsunClient(PbxClient):
    """A VoIPSUN PBX, by its address and an HTTP API user (Settings -> HTTP API users)."""

    declaration = ProviderDeclaration(
        provider="voipsun",
        title="VoIPSUN PBX",
        connection_fields=(
            ConnectionField("base_url", is_url=True),
            ConnectionField("username"),
            ConnectionField("password", secret=True),
        ),
        capabilities=frozenset(
            {
                Capability.DIAL,
                Capability.HANGUP,
                Capability.ACTIVE_CALLS,
                Capability.SIP_REGISTRATIONS,
                Capability.QUEUES,
                Capability.AGENTS,
                Capability.AGENT_LOGIN,
                Capability.AGENT_PAUSE,
                Capability.QUEUE_LOGIN,
            }
        ),
        # Agent actions need each agent's PIN.
        options=(
            OptionField(
                key=OPTION_AGENT_PINS, kind=OptionKind.MAPPING, pattern="[0-9]+", secret=True
            ),
        ),
        redact_keys=frozenset({"username"}),
        # No push: calls come from polling the PBX, on the premises and cheap to ask.
        poll_interval=timedelta(seconds=15),
    )
    # The PBX runs at the customer's: there is no public default address.
    default_base_url = ""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: Mapping[str, str],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(session, config, options=options, timeout=timeout)
        self._username = self._config.get("username", "")
        self._password = self._config.get("password", "")
        pins = self._options.get(OPTION_AGENT_PINS) or {}
        self._pins = {str(number): str(pin) for number, pin in pins.items() if pin}
        # Agent number -> the SIP user they were last seen logged in from.
        self._login_lines: dict[str, str] = {}

    def format_number(self, e164: str) -> str:
        """Czech numbers national (`+420800123456` -> `800123456`), others `00<cc>…`."""
        return national_or_international(e164, self.default_country_code)

    # --- transport --------------------------------------------------------------------

    async def _action(
        self, action: str, params: Mapping[str, str] | None = None, *, once: bool = False
    ) -> Json:
        """Run one action and return its answer when `success` is true."""
        query = {"username": self._username, "password": self._password, "action": action}
        # aiohttp resends a GET whose connection drops; a dial must never go out twice, so it
        # is a POST (the PBX reads the query string whatever the method).
        response = await self._request(
            "POST" if once else "GET", API_PATH, params={**query, **(params or {})}, once=once
        )
        answer = parse_answer(response.body)
        if answer is None:
            raise PbxResponseError(
                f"{self.title} sent an unreadable answer to {action} (HTTP {response.status})",
                str(response.status),
            )
        if str(answer.get("success")).lower() == "true":
            return answer
        errno = _text(answer.get("errno"))
        reason = self.redact(str(answer.get("reason") or f"{action} failed"))
        if errno == AUTH_ERRNO:
            raise PbxAuthError(f"{self.title} rejected the login: {reason}")
        raise PbxResponseError(reason, errno)

    def _rows(self, answer: Json, key: str) -> list[Json]:
        """A list of objects; PHP writes an empty map as `[]` and a full one as `{…}`."""
        rows = answer.get(key)
        if rows is None:
            return []
        if isinstance(rows, dict):
            rows = list(rows.values())
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise PbxResponseError(f"{self.title} sent a malformed '{key}' list")
        return rows

    # --- account and snapshot -----------------------------------------------------------

    def _account(self) -> AccountInfo:
        """The PBX's host (and port): stable, and no secret."""
        parts = urlsplit(self.base_url)
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if not host:
            raise PbxInvalidInput(f"{self.title} needs the PBX address, e.g. http://192.0.2.10")
        account_id = f"{host}:{port}" if port else host
        return AccountInfo(account_id, f"{self.title} {account_id}")

    async def async_validate(self) -> AccountInfo:
        """Check the login with the read-only listcalls; the PBX host is the account id."""
        account = self._account()
        await self._action("listcalls")
        return account

    async def async_fetch_snapshot(self) -> Snapshot:
        """Read everything in 3 requests, whatever the number of agents, queues or lines.

        sipstatus lists every line and trunk, listcalls every call, and queuestatus without
        `queueName` every queue with its members and waiting callers (its answer is a list).
        agentstatus has no bulk form and needs each agent's PIN, so agents come from the
        queue members; agents with a PIN that sit in no queue are logged out (dynamic
        members leave their queues when they log out).
        """
        account = self._account()
        registrations = self._registrations(await self._action("sipstatus"))
        calls = self._calls(await self._action("listcalls"))
        agents: dict[str, Agent] = {}
        queues: dict[str, Queue] = {}
        for row in self._rows(await self._action("queuestatus"), "results"):
            queue = self._read_queue(row, agents, calls)
            queues[queue.queue_id] = queue
        for number in self._pins.keys() - agents.keys():
            agents[number] = Agent(
                agent_id=number,
                name=f"Agent {number}",
                state=AgentState.LOGGED_OUT,
                logged_in=False,
                paused=False,
            )
        return Snapshot(
            account=account,
            agents=agents,
            queues=queues,
            registrations=registrations,
            calls=calls,
        )

    def _registrations(self, answer: Json) -> dict[str, SipRegistration]:
        registrations: dict[str, SipRegistration] = {}
        for row in self._rows(answer, "results"):
            user = _text(row.get("user"))
            if user is None:
                raise PbxResponseError(f"{self.title} sent a SIP channel without a user")
            status = _text(row.get("status")) or ""
            host = _text(row.get("host"))
            host = None if host == UNSPECIFIED_HOST else host
            # "OK (35 ms)" answers qualify; an unmonitored peer is up when it has an address.
            registered = status.upper().startswith("OK") or (
                status.lower() == "unmonitored" and host is not None
            )
            port = parse_int(row.get("port"))
            registrations[user] = SipRegistration(
                registration_id=user,
                name=user,
                kind=SipKind.EXTENSION if row.get("type") == "extension_line" else SipKind.TRUNK,
                registered=registered,
                status=status or None,
                user_agent=_text(row.get("useragent")),
                contact=_text(row.get("regcontact")),
                ip=host,
                port=port or None,
            )
        return registrations

    def _calls(self, answer: Json) -> dict[str, Call]:
        now = datetime.now(UTC)
        calls: dict[str, Call] = {}
        for row in self._rows(answer, "results"):
            channel = _text(row.get("channelName"))
            if channel is None:
                raise PbxResponseError(f"{self.title} sent a call without channelName")
            context = str(row.get("context", ""))
            # Calls from outside run in the incoming routes' contexts, ours in the dialplan.
            if context.startswith("incomingRoute"):
                direction = CallDirection.INCOMING
            elif context:
                direction = CallDirection.OUTGOING
            else:
                direction = CallDirection.UNKNOWN
            duration = parse_int(row.get("duration"))
            calls[channel] = Call(
                call_id=channel,
                direction=direction,
                state=CHANNEL_STATES.get(str(row.get("status", "")).lower(), CallState.UNKNOWN),
                caller=to_e164(row.get("src")),
                callee=to_e164(row.get("dst")),
                line=_peer(channel),
                started=now - timedelta(seconds=duration) if duration is not None else None,
                channel=channel,
            )
        return calls

    def _read_queue(self, row: Json, agents: dict[str, Agent], calls: dict[str, Call]) -> Queue:
        """One queuestatus result: members become agents, waiters mark queued calls."""
        name = _text(row.get("queueName"))
        if name is None:
            raise PbxResponseError(f"{self.title} sent a queue without queueName")
        member_ids: list[str] = []
        states: list[AgentState] = []
        paused_flags: list[bool] = []
        for member in self._rows(row, "members"):
            agent = self._read_member(member, name, agents)
            agents[agent.agent_id] = agent
            member_ids.append(agent.agent_id)
            states.append(self._line_state(member))
            paused_flags.append(bool(agent.paused))
        waits: list[int] = []
        waiters = self._rows(row, "waiters")
        for waiter in waiters:
            if (wait := parse_int(waiter.get("wait"))) is not None:
                waits.append(wait)
            channel = _text(waiter.get("channel"))
            if channel is not None and (call := calls.get(channel)) is not None:
                calls[channel] = Call(
                    call_id=call.call_id,
                    direction=CallDirection.INCOMING,
                    state=CallState.QUEUED,
                    caller=call.caller,
                    callee=call.callee,
                    line=call.line,
                    queue_id=name,
                    started=call.started,
                    channel=call.channel,
                )
        waiting = parse_int(row.get("calls"))
        return Queue(
            queue_id=name,
            name=name,
            waiting_calls=waiting if waiting is not None else len(waiters),
            longest_wait=float(max(waits)) if waits else None,
            agents_logged_in=len(member_ids),
            agents_ready=sum(
                state is AgentState.IDLE and not paused
                for state, paused in zip(states, paused_flags, strict=True)
            ),
            agents_busy=sum(state in BUSY_STATES for state in states),
            agents_paused=sum(paused_flags),
            completed=parse_int(row.get("completed")),
            abandoned=parse_int(row.get("abandoned")),
            service_level=_float(row.get("serviceLevelPerf")),
            member_ids=tuple(member_ids),
        )

    @staticmethod
    def _line_state(member: Json) -> AgentState:
        state = line_state(str(member.get("channelStatus", "")))
        return state or DEVICE_STATES.get(str(member.get("status", "")), AgentState.UNKNOWN)

    def _read_member(self, member: Json, queue: str, agents: Mapping[str, Agent]) -> Agent:
        """A queue member as an agent, by the agent number of its `Local/<number>@` location."""
        name = _text(member.get("agentName"))
        match = AGENT_NUMBER.match(str(member.get("location", "")).replace("\\/", "/"))
        agent_id = match["number"] if match else name
        if agent_id is None:
            raise PbxResponseError(f"{self.title} sent a queue member without a name")
        line = _peer(str(member.get("loggedFrom", "")))
        if line is not None:
            self._login_lines[agent_id] = line
        paused = _text(member.get("paused")) == "1"
        state = self._line_state(member)
        previous = agents.get(agent_id)
        return Agent(
            agent_id=agent_id,
            name=name or agent_id,
            state=AgentState.PAUSED if paused and state is AgentState.IDLE else state,
            extension=line,
            logged_in=True,
            paused=paused,
            queue_ids=(*previous.queue_ids, queue) if previous else (queue,),
        )

    async def async_agent_status(self, agent_id: str) -> Agent:
        """One agent's login and line state by agentstatus (which needs the agent's PIN)."""
        answer = await self._action("agentstatus", self._agent_params(agent_id))
        match = AGENT_STATUS_REASON.match(str(answer.get("reason", "")).strip())
        if match is None:
            raise PbxResponseError(f"{self.title} sent an agent status it does not explain")
        logged_in = match["login"] == "in"
        state = line_state(match["line"]) or AgentState.UNKNOWN
        return Agent(
            agent_id=agent_id,
            name=f"Agent {match['number']}",
            state=state if logged_in else AgentState.LOGGED_OUT,
            extension=self._login_lines.get(agent_id),
            logged_in=logged_in,
        )

    # --- actions ------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """Place a call; the PBX first rings the source, then dials `number`.

        The source chooses the action and its one source parameter:
        EXTENSION `100` -> originate `srcExtenInternalNum` (`id:5` -> `srcExtenId`);
        USER `sip100` -> originate `srcSipUsername`;
        LINE `+420299299000` -> originate `srcExtenPublicNum`;
        LINE `<outgoing route>@<context>` (route name, or `id:<n>`) -> `dial`, which calls
        the number through that route and sends the answered call into the Asterisk context.
        The PBX answers no call id.
        """
        source = request.source
        if source is None or not source.value.strip():
            raise PbxInvalidInput(f"{self.title} needs the line, extension or user to call from")
        value = source.value.strip()
        params = {"dstNum": self.format_number(request.number)}
        if request.caller_id:
            params["overrideCallerId"] = self.format_number(request.caller_id)
        if source.kind is DialSourceKind.LINE and "@" in value:
            route, _, context = value.partition("@")
            if not route or not context:
                raise PbxInvalidInput(f"{self.title} dials through <outgoing route>@<context>")
            if route.startswith(ID_PREFIX):
                params["outrouteId"] = route.removeprefix(ID_PREFIX)
            else:
                params["outrouteName"] = route
            params["context"] = context
            if request.ring_timeout:
                params["dstRingTimeout"] = str(request.ring_timeout)
            await self._action("dial", params, once=True)
            return CallResult(None)
        if source.kind is DialSourceKind.EXTENSION and value.startswith(ID_PREFIX):
            params["srcExtenId"] = value.removeprefix(ID_PREFIX)
        elif source.kind is DialSourceKind.EXTENSION:
            params["srcExtenInternalNum"] = value
        elif source.kind is DialSourceKind.USER:
            params["srcSipUsername"] = value
        else:
            params["srcExtenPublicNum"] = self.format_number(value)
        if request.ring_timeout:
            params["srcRingTimeout"] = str(request.ring_timeout)
        await self._action("originate", params, once=True)
        return CallResult(None)

    async def async_hangup(self, request: HangupRequest) -> None:
        """hangupcall by channel name.

        A call id (our call ids are channel names) is looked up in listcalls first, so a
        call that has already ended is reported as such.
        """
        value = request.value.strip()
        if not value:
            raise PbxInvalidInput(f"{self.title} needs the call or channel to hang up")
        if request.kind is HangupTargetKind.CALL:
            calls = self._calls(await self._action("listcalls"))
            if value not in calls:
                # The channel can hold a phone number: keep it out of the message.
                raise PbxInvalidInput(f"{self.title} has no such call in progress")
        elif request.kind is not HangupTargetKind.CHANNEL:
            raise PbxInvalidInput(
                f"{self.title} hangs up a call or channel, not a {request.kind.value}"
            )
        await self._action("hangupcall", {"channelName": value})

    def _agent_params(self, agent_id: str) -> dict[str, str]:
        pin = self._pins.get(agent_id)
        if pin is None:
            raise PbxInvalidInput(f"{self.title} needs the PIN of agent {agent_id} (options)")
        return {"agentNumber": agent_id, "agentPin": pin}

    async def async_agent_login(self, agent_id: str, extension: str | None = None) -> None:
        """agentlogin from the line the agent was last seen logged in from."""
        params = self._agent_params(agent_id)
        line = self._login_lines.get(agent_id)
        if line is None:
            raise PbxInvalidInput(
                f"{self.title} logs agent {agent_id} in from their phone line, "
                "which is known once the agent has been seen logged in"
            )
        await self._action("agentlogin", {"srcSipUsername": line, **params})

    async def async_agent_logout(self, agent_id: str) -> None:
        await self._action("agentlogout", self._agent_params(agent_id))

    async def async_agent_pause(self, agent_id: str, reason: str | None = None) -> None:
        if reason:
            raise PbxInvalidInput(f"{self.title} has no pause reasons")
        await self._action("agentpause", self._agent_params(agent_id))

    async def async_agent_unpause(self, agent_id: str) -> None:
        await self._action("agentunpause", self._agent_params(agent_id))

    async def async_queue_login(
        self, agent_id: str, queue_id: str, extension: str | None = None
    ) -> None:
        await self._action("agentadd", {**self._agent_params(agent_id), "queueName": queue_id})

    async def async_queue_logout(self, agent_id: str, queue_id: str) -> None:
        await self._action("agentremove", {**self._agent_params(agent_id), "queueName": queue_id})
