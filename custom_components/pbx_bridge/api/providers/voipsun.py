"""VoIPSUN PBX client.

Every action is `GET <PBX>/api/api.php?username=…&password=…&action=…` with its parameters
in the query string, as every example of the documentation sends it. Actions that change
something (dial, hangup, agent and queue controls) go out once: a connection that drops
after sending is reported as "may have been carried out", never resent. The password
travels in the URL, so it (also URL-encoded) is redacted from every message and log record.

Answers are JSON with HTTP 200 even on failure: `{"success":"false","errno":"<n>",
"reason":…}`. errno 100 is "Unauthorized user or bad permissions": a second read tells a
wrong login (reauth) from an API user without the right (`PbxPermissionError`).
`agentstatus` answers `{"success":"true":"reason":"…"}`, which is not valid JSON (its reason
is read all the same), or errnos 630-636 for the agent's line, which are states, not errors.

No action lists the queues: their names come from the `queue_names` option, one
`queuestatus` each. `listcalls` lists every channel, so an external call appears twice (the
extension's leg and the trunk's): the legs are merged into one call. Agents are call-centre
agents, by agent number; their actions need the PIN (`agent_pins`), and logging in needs
the line to log in from (`agent_lines`, else the line last seen). VoIPSUN has no push.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import logging
import math
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ..client import (
    DEFAULT_TIMEOUT,
    PbxClient,
    parse_int,
    read_json,
)
from ..declaration import ConnectionField, OptionField, OptionKind, ProviderDeclaration
from ..errors import PbxAuthError, PbxInvalidInput, PbxPermissionError, PbxResponseError
from ..models import (
    AccountInfo,
    Agent,
    AgentState,
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
    Listing,
    ProblemKind,
    ProviderProblem,
    Queue,
    SipKind,
    SipRegistration,
    Snapshot,
)
from ..numbers import CZECH_NUMBERS

_LOGGER = logging.getLogger(__name__)

# Option: agent number -> PIN; the PBX wants the PIN to log an agent in, out or pause them.
OPTION_AGENT_PINS = "agent_pins"
OPTION_QUEUE_NAMES = "queue_names"  # list of queue names: the API cannot list queues
OPTION_AGENT_LINES = "agent_lines"  # dict: agent number -> the line they log in from
OPTION_QUEUE_PENALTY = "queue_penalty"  # agentadd's `penalty` (priority in the queue)
DEFAULT_PENALTY = "1"
# What `line_params` reads: sip:<user>, id:<id>, +<public number>, <internal>[@<dialplan>].
AGENT_LINE_PATTERN = r"sip:\S+|id:\S+|\+[0-9]+|[^@\s]+(@\S+)?"

API_PATH = "/api/api.php"
AUTH_ERRNO = "100"
MISSING_PARAMETERS_ERRNO = "120"
# agentadd / agentremove: "Queue FrontaABC not found!" (V:741, V:750).
QUEUE_NOT_FOUND_ERRNOS = frozenset({"600", "610"})
# A DialSource or agent line value that names an extension or route by its database id.
ID_PREFIX = "id:"
# An agent line given by SIP user name (`sip:sip100`).
SIP_PREFIX = "sip:"
# agentstatus writes `"success":"true":"reason"`: a colon where the comma belongs.
AGENT_STATUS_QUIRK = re.compile(r'^(\{\s*"success"\s*:\s*"(?:true|false)"\s*):(\s*"reason")')
AGENT_STATUS_REASON = re.compile(
    r"^Agent (?P<number>\S+) is logged (?P<login>in|out)\.\s*(?P<line>.*)$"
)
# agentstatus errnos that describe a logged-in agent's line (V:761-773).
AGENT_LINE_ERRNOS = {
    "630": AgentState.UNAVAILABLE,  # SIP channel is unreacheable
    "631": AgentState.UNAVAILABLE,  # Line is unavailable
    "632": AgentState.IN_CALL,  # Line is In use
    "633": AgentState.RINGING,  # Line is ringing
    "634": AgentState.ON_HOLD,  # Line in On hold
    "635": AgentState.IN_CALL,  # Line is not free
    "636": AgentState.IN_CALL,  # Line is busy
}
# agentstatus has no bulk form: at most this many agents are asked per refresh, in turn,
# so that a refresh costs the same however many agents sit in no queue.
AGENT_STATUS_PER_REFRESH = 4
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
UNMONITORED = "unmonitored"
# How far apart legs of unknown duration count when the closest trunk leg is chosen.
UNKNOWN_AGE_GAP = 1 << 31

type Json = dict[str, Any]


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


def _device(device: str) -> str | None:
    """The SIP peer of a device, which has no channel sequence: `SIP/Linka_1000` (V:564)."""
    return device.partition("/")[2].strip() or None


def _unknown_queue(err: PbxResponseError) -> bool:
    """Whether a refusal says the queue does not exist (as agentadd's V:741, or its text)."""
    return err.code in QUEUE_NOT_FOUND_ERRNOS or "not found" in err.reason


def line_state(text: str) -> AgentState | None:
    """An agent's state from the PBX's line text (`Line is busy`)."""
    return LINE_STATES.get(text.strip().rstrip(".").lower())


def internal_line(line: str) -> dict[str, str] | None:
    """`100` -> srcExtenInternalNum; `100@plan` adds the dialplanName (V:34, V:329) the PBX
    needs for an internal number several dialplans use (errnos 201, 502); None: no number."""
    number, at, dialplan = (part.strip() for part in line.partition("@"))
    if not number or (at and not dialplan):
        return None
    return {"srcExtenInternalNum": number} | ({"dialplanName": dialplan} if at else {})


def line_params(line: str) -> dict[str, str]:
    """The one documented parameter (V:321-329) naming the line an agent logs in from.

    `sip:sip100` -> srcSipUsername, `id:5` -> srcExtenId, `+420299299000` -> the public
    number srcExtenPublicNum, `100` -> the internal number srcExtenInternalNum, and
    `100@plan` adds the dialplanName of an internal number used in several dialplans.
    """
    line = line.strip()
    for prefix, param in ((SIP_PREFIX, "srcSipUsername"), (ID_PREFIX, "srcExtenId")):
        if line.startswith(prefix):
            value = line.removeprefix(prefix).strip()
            if not value:
                break
            return {param: value}
    else:
        if line.startswith("+") and line[1:].isdigit():
            return {"srcExtenPublicNum": CZECH_NUMBERS.write(line)}
        if (internal := internal_line(line)) is not None:
            return internal
    raise PbxInvalidInput(
        "A VoIPSUN agent line is sip:<SIP user>, id:<line id>, +<public number> "
        "or <internal number>[@<dialplan>]"
    )


@dataclass(frozen=True, slots=True)
class _Leg:
    """One channel listcalls lists: an extension's or a trunk's side of a call."""

    channel: str
    on_trunk: bool
    direction: CallDirection
    state: CallState
    src: str | None
    dst: str | None
    duration: int | None

    def shares_party(self, other: _Leg) -> bool:
        """Whether both legs name the same caller or the same number dialled."""
        return bool({self.src, self.dst} & {other.src, other.dst} - {None})

    def age_gap(self, other: _Leg) -> int:
        """How far apart the legs' durations are (the same call's legs are about as old)."""
        if self.duration is None or other.duration is None:
            return UNKNOWN_AGE_GAP
        return abs(self.duration - other.duration)


class VoipsunClient(PbxClient):
    """A VoIPSUN PBX, by its address and an HTTP API user (Settings -> HTTP API users)."""

    declaration = ProviderDeclaration(
        # sipstatus `status` as its documented answer shows it ("OK (35 ms)", UNKNOWN,
        # Unmonitored).
        line_states={"OK": "ok", "UNKNOWN": "unknown_state", "UNMONITORED": "unmonitored"},
        on_premises=True,
        # originate starts from a SIP username: the id of a sipstatus line.
        line_dial_source=DialSourceKind.USER,
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
        # originate / dial: `overrideCallerId`, `srcRingTimeout`, `dstRingTimeout` (V:54-66,
        # V:139-143); calls go out at once and in full.
        dial_fields=frozenset({DialField.CALLER_ID, DialField.RING_TIMEOUT}),
        options=(
            # No action lists the queues: the user names them.
            OptionField(key=OPTION_QUEUE_NAMES, kind=OptionKind.TEXT_LIST),
            # Agent actions need each agent's PIN, logging in a line.
            OptionField(
                key=OPTION_AGENT_PINS, kind=OptionKind.MAPPING, pattern="[0-9]+", secret=True
            ),
            OptionField(
                key=OPTION_AGENT_LINES, kind=OptionKind.MAPPING, pattern=AGENT_LINE_PATTERN
            ),
            OptionField(key=OPTION_QUEUE_PENALTY, pattern="[0-9]{1,4}", default=DEFAULT_PENALTY),
        ),
        redact_keys=frozenset({"username"}),
        # The API names no PBX: its address is all there is.
        account_id_is_address=True,
        number_plan=CZECH_NUMBERS,
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
        lines = self._options.get(OPTION_AGENT_LINES) or {}
        self._agent_lines = {str(number): str(line) for number, line in lines.items() if line}
        names = self._options.get(OPTION_QUEUE_NAMES) or ()
        self._queue_names = tuple(dict.fromkeys(n.strip() for n in map(str, names) if n.strip()))
        self._penalty = str(self._options.get(OPTION_QUEUE_PENALTY) or DEFAULT_PENALTY)
        # Agent number -> the SIP user they were last seen logged in from.
        self._login_lines: dict[str, str] = {}
        # Whether queuestatus without a queueName lists every queue: asked once (None).
        self._lists_queues: bool | None = None
        # Agents in no queue, by agentstatus: the last answer, and who is asked next.
        self._agent_status: dict[str, Agent] = {}
        self._status_turn = 0

    # --- transport --------------------------------------------------------------------

    async def _answer(self, action: str, params: Mapping[str, str], *, once: bool) -> Json:
        """One request as documented (a GET), its answer read, whatever it says."""
        query = {"username": self._username, "password": self._password, "action": action}
        response = await self._request("GET", API_PATH, params={**query, **params}, once=once)
        answer = parse_answer(response.body)
        if answer is None:
            raise PbxResponseError(
                f"{self.title} sent an unreadable answer to {action} (HTTP {response.status})",
                str(response.status),
            )
        return answer

    async def _action(
        self, action: str, params: Mapping[str, str] | None = None, *, once: bool = False
    ) -> Json:
        """Run one action and return its answer when `success` is true.

        `once`: the action changes something at the PBX and is never sent twice.
        """
        answer = await self._answer(action, params or {}, once=once)
        if str(answer.get("success")).lower() == "true":
            return answer
        errno = _text(answer.get("errno"))
        reason = self.redact(str(answer.get("reason") or f"{action} failed"))
        if errno == AUTH_ERRNO:
            raise await self._unauthorized(action, reason)
        raise PbxResponseError(reason, errno)

    async def _unauthorized(self, action: str, reason: str) -> PbxAuthError | PbxPermissionError:
        """errno 100 is a wrong login or a right the API user lacks: another read tells.

        When the PBX answers that read, the login is right and only `action` is not
        allowed (Settings -> HTTP API users): asking for new credentials would not help.
        """
        probe = "sipstatus" if action == "listcalls" else "listcalls"
        try:
            answer = await self._answer(probe, {}, once=False)
        except PbxResponseError:  # unreadable: nothing says the login is right
            answer = {}
        if str(answer.get("success")).lower() == "true":
            return PbxPermissionError(
                f"{self.title}: the HTTP API user may not use {action} ({reason})", action
            )
        return PbxAuthError(f"{self.title} rejected the login: {reason}")

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
        """Check the login with the read-only listcalls; the PBX host is the account id.

        An API user without the right to listcalls has a right login all the same (errno
        100 with another read answered, V:623): the refresh reports the missing right.
        """
        account = self._account()
        try:
            await self._action("listcalls")
        except PbxPermissionError as err:
            _LOGGER.debug("%s: %s", self.title, err)
        return account

    async def async_fetch_snapshot(self) -> Snapshot:
        """sipstatus, listcalls, one queuestatus per configured queue, a few agentstatus.

        sipstatus lists every line and trunk. Agents come from the queue members; agents
        with a PIN that sit in none of the queues read are asked with agentstatus, at most
        `AGENT_STATUS_PER_REFRESH` a refresh, in turn. A read the API user is not allowed
        and a queue the PBX does not know are skipped and reported in `problems`.
        """
        account = self._account()
        problems: list[ProviderProblem] = []
        complete: set[Listing] = set()
        registrations: dict[str, SipRegistration] = {}
        if (sip := await self._permitted("sipstatus", problems)) is not None:
            registrations = self._registrations(sip)
            complete.add(Listing.REGISTRATIONS)
        listed = await self._permitted("listcalls", problems)
        agents: dict[str, Agent] = {}
        queues: dict[str, Queue] = {}
        rows, all_queues = await self._queue_rows(problems)
        if all_queues:
            complete.add(Listing.QUEUES)
        waiters: list[Json] = []
        for row in rows:
            queue = self._read_queue(row, agents)
            queues[queue.queue_id] = queue
            waiters.extend(
                {**waiter, "queue": queue.queue_id} for waiter in self._rows(row, "waiters")
            )
        await self._add_agents_in_no_queue(agents, problems)
        calls = self._calls(listed, agents, waiters) if listed is not None else {}
        return Snapshot(
            account=account,
            agents=agents,
            queues=queues,
            registrations=registrations,
            calls=calls,
            problems=tuple(problems),
            complete=frozenset(complete),
        )

    async def _permitted(self, action: str, problems: list[ProviderProblem]) -> Json | None:
        """The answer of a read, or None (and a problem) when the API user may not use it."""
        try:
            return await self._action(action)
        except PbxPermissionError:
            problems.append(ProviderProblem(ProblemKind.MISSING_PERMISSION, action))
            return None

    async def _queue_rows(self, problems: list[ProviderProblem]) -> tuple[list[Json], bool]:
        """queuestatus results of the configured queues, and whether they are every queue.

        queueName is required (V:552-559): without configured names the call without one
        is tried once, and not again once the PBX asks for the name (errno 120) or looks
        for a queue of no name (`Queue  not found!`, the documentation names no other).
        """
        if not self._queue_names:
            if self._lists_queues is False:
                return [], False
            try:
                answer = await self._permitted("queuestatus", problems)
            except PbxResponseError as err:
                if err.code != MISSING_PARAMETERS_ERRNO and not _unknown_queue(err):
                    raise
                self._lists_queues = False
                return [], False
            self._lists_queues = answer is not None
            return (self._rows(answer, "results"), True) if answer is not None else ([], False)
        rows: list[Json] = []
        for name in self._queue_names:
            try:
                answer = await self._action("queuestatus", {"queueName": name})
            except PbxPermissionError:
                problems.append(ProviderProblem(ProblemKind.MISSING_PERMISSION, "queuestatus"))
                return [], False
            except PbxResponseError as err:
                if not _unknown_queue(err):
                    raise
                answer = {}
            found = [row for row in self._rows(answer, "results") if row.get("queueName") == name]
            if not found:
                problems.append(ProviderProblem(ProblemKind.UNKNOWN_QUEUE, name))
            rows.extend(found)
        return rows, False

    async def _add_agents_in_no_queue(
        self, agents: dict[str, Agent], problems: list[ProviderProblem]
    ) -> None:
        """Agents with a PIN the queues do not list, by agentstatus (a few per refresh)."""
        absent = sorted(self._pins.keys() - agents.keys())
        start = self._status_turn % len(absent) if absent else 0
        turn = (absent[start:] + absent[:start])[:AGENT_STATUS_PER_REFRESH]
        self._status_turn = start + len(turn)
        for number in turn:
            try:
                self._agent_status[number] = await self.async_agent_status(number)
            except PbxPermissionError:
                problems.append(ProviderProblem(ProblemKind.MISSING_PERMISSION, "agentstatus"))
                break
            except PbxResponseError as err:  # a wrong PIN: the agent stays unknown
                _LOGGER.debug("%s agentstatus of %s: %s", self.title, number, err)
                self._agent_status.pop(number, None)
        for number in absent:
            agents[number] = self._agent_status.get(number) or Agent(
                agent_id=number, name=f"Agent {number}", state=AgentState.UNKNOWN
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
            extension = row.get("type") == "extension_line"
            registered: bool | None
            if status.lower() != UNMONITORED:
                registered = status.upper().startswith("OK")  # "OK (35 ms)" qualifies
            elif extension:
                # Lines register with the PBX: an address means they did.
                registered = host is not None
            else:
                # A trunk's host is configured, not registered: its state is not known.
                registered = None
            port = parse_int(row.get("port"))
            registrations[user] = SipRegistration(
                registration_id=user,
                name=user,
                kind=SipKind.EXTENSION if extension else SipKind.TRUNK,
                registered=registered,
                status=status or None,
                user_agent=_text(row.get("useragent")),
                contact=_text(row.get("regcontact")),
                ip=host,
                port=port or None,
            )
        return registrations

    def _legs(self, answer: Json) -> list[_Leg]:
        legs = []
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
            legs.append(
                _Leg(
                    channel=channel,
                    on_trunk=row.get("sourceType") == "trunk",
                    direction=direction,
                    state=CHANNEL_STATES.get(str(row.get("status", "")).lower(), CallState.UNKNOWN),
                    src=CZECH_NUMBERS.read(row.get("src")),
                    dst=CZECH_NUMBERS.read(row.get("dst")),
                    duration=parse_int(row.get("duration")),
                )
            )
        return legs

    def _calls(
        self, answer: Json, agents: Mapping[str, Agent], waiters: Iterable[Json]
    ) -> dict[str, Call]:
        """listcalls' legs as calls: an extension's leg and the trunk's leg are one call.

        The line and agent come from the extension's leg, the external number from the
        trunk's. The call is named by the leg that lives as long as it does (either ends
        the call when hung up): the trunk's for a call from outside, which waits in a queue
        before an extension rings, the extension's for one it places. Legs without a
        partner (a caller waiting in a queue, an internal call) are calls of their own.
        """
        now = datetime.now(UTC)
        legs = self._legs(answer)
        trunks = [leg for leg in legs if leg.on_trunk]
        agent_by_line = {a.extension: a.agent_id for a in agents.values() if a.extension}
        calls: dict[str, Call] = {}
        channels: dict[str, str] = {}  # each leg's channel -> the call it belongs to
        for leg in legs:
            if leg.on_trunk:
                continue
            partners = [t for t in trunks if leg.shares_party(t)]
            trunk = min(partners, key=leg.age_gap) if partners else None
            if trunk is not None:
                trunks.remove(trunk)
            call = self._call(leg, trunk, agent_by_line, now)
            calls[call.call_id] = call
            channels.update({other.channel: call.call_id for other in (leg, trunk) if other})
        for trunk in trunks:
            calls[trunk.channel] = self._call(None, trunk, agent_by_line, now)
            channels[trunk.channel] = trunk.channel
        by_caller = {call.caller: call_id for call_id, call in calls.items() if call.caller}
        for waiter in waiters:
            # A waiter may name its own (Local) channel: its call is found by the caller then.
            call_id = channels.get(_text(waiter.get("channel")) or "") or by_caller.get(
                CZECH_NUMBERS.read(waiter.get("callerIdNum")) or ""
            )
            if call_id is not None and (call := calls[call_id]).agent_id is None:
                calls[call_id] = replace(
                    call,
                    direction=CallDirection.INCOMING,
                    state=CallState.QUEUED,
                    queue_id=waiter["queue"],
                )
        return calls

    @staticmethod
    def _call(
        extension: _Leg | None,
        trunk: _Leg | None,
        agent_by_line: Mapping[str, str],
        now: datetime,
    ) -> Call:
        """One call from its extension leg, its trunk leg or both (at least one)."""
        legs = [leg for leg in (extension, trunk) if leg is not None]
        incoming = any(leg.direction is CallDirection.INCOMING for leg in legs)
        direction = CallDirection.INCOMING if incoming else legs[0].direction
        named_by = trunk if trunk is not None and (incoming or extension is None) else legs[0]
        external = trunk or legs[0]
        line = _peer((extension or external).channel)
        durations = [leg.duration for leg in legs if leg.duration is not None]
        return Call(
            call_id=named_by.channel,
            direction=direction,
            state=(extension or external).state,
            caller=external.src if incoming or extension is None else extension.src,
            callee=external.dst,
            line=line,
            agent_id=agent_by_line.get(line or "") if extension is not None else None,
            started=now - timedelta(seconds=max(durations)) if durations else None,
            channel=named_by.channel,
        )

    def _read_queue(self, row: Json, agents: dict[str, Agent]) -> Queue:
        """One queuestatus result; its members become agents.

        The counts agree with each other: waiting calls are the listed waiters (`calls`
        of the documented example says 0 beside three), and only members whose line is
        available count as logged in, only those idle and not paused as ready.
        """
        name = _text(row.get("queueName"))
        if name is None:
            raise PbxResponseError(f"{self.title} sent a queue without queueName")
        members = [self._read_member(member, name, agents) for member in self._rows(row, "members")]
        for agent in members:
            agents[agent.agent_id] = agent
        available = [a for a in members if a.state is not AgentState.UNAVAILABLE]
        waiters = self._rows(row, "waiters")
        waits = [wait for w in waiters if (wait := parse_int(w.get("wait"))) is not None]
        # The waiters listed, not `calls`: the documented example gives 0 beside three.
        counted = parse_int(row.get("calls")) if "waiters" not in row else None
        waiting = len(waiters) if counted is None else counted
        return Queue(
            queue_id=name,
            name=name,
            waiting_calls=waiting,
            longest_wait=float(max(waits)) if waits else None,
            average_hold_time=_float(row.get("holdTime")),
            average_talk_time=_float(row.get("talkTime")),
            agents_logged_in=len(available),
            agents_ready=sum(a.state is AgentState.IDLE and not a.paused for a in available),
            agents_busy=sum(a.state in BUSY_STATES for a in members),
            agents_paused=sum(bool(a.paused) for a in available),
            completed=parse_int(row.get("completed")),
            abandoned=parse_int(row.get("abandoned")),
            service_level=_float(row.get("serviceLevelPerf")),
            member_ids=tuple(a.agent_id for a in members),
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
        line = _device(str(member.get("loggedFrom", "")))
        if line is not None:
            self._login_lines[agent_id] = line
        paused = _text(member.get("paused")) == "1"
        state = self._line_state(member)
        previous = agents.get(agent_id)
        return Agent(
            agent_id=agent_id,
            name=name or agent_id,
            # The line tells whether a call rings or runs; paused is the idle agent's state.
            state=AgentState.PAUSED if paused and state is AgentState.IDLE else state,
            extension=line,
            logged_in=True,
            paused=paused,
            queue_ids=(*previous.queue_ids, queue) if previous else (queue,),
        )

    async def async_agent_status(self, agent_id: str) -> Agent:
        """One agent's login and line state by agentstatus (which needs the agent's PIN).

        The line's state arrives either in the reason of a success or as errnos 630-636.
        """
        try:
            answer = await self._action("agentstatus", self._agent_params(agent_id))
        except PbxResponseError as err:
            state = AGENT_LINE_ERRNOS.get(err.code or "")
            if state is None:
                raise
            return self._status_agent(agent_id, agent_id, state, logged_in=True)
        match = AGENT_STATUS_REASON.match(str(answer.get("reason", "")).strip())
        if match is None:
            raise PbxResponseError(f"{self.title} sent an agent status it does not explain")
        if match["login"] == "out":
            return self._status_agent(agent_id, match["number"], AgentState.LOGGED_OUT, False)
        state = line_state(match["line"]) or AgentState.UNKNOWN
        return self._status_agent(agent_id, match["number"], state, logged_in=True)

    def _status_agent(
        self, agent_id: str, number: str, state: AgentState, logged_in: bool
    ) -> Agent:
        return Agent(
            agent_id=agent_id,
            name=f"Agent {number}",
            state=state,
            extension=self._login_lines.get(agent_id),
            logged_in=logged_in,
            # agentstatus does not tell a pause; a logged-out agent has none.
            paused=False if not logged_in else None,
        )

    # --- actions ------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """Place a call; the PBX first rings the source, then dials `number`.

        The source chooses the action and its one source parameter:
        EXTENSION `100` -> originate `srcExtenInternalNum` (`100@plan` adds the
        `dialplanName` of a number several dialplans use, V:34; `id:5` -> `srcExtenId`);
        USER `sip100` -> originate `srcSipUsername`;
        LINE `+420299299000` -> originate `srcExtenPublicNum`;
        LINE `<outgoing route>@<context>` (route name, or `id:<n>`) -> `dial`, which calls
        the number through that route and sends the answered call into the Asterisk context.
        The PBX answers no call id, and it cannot schedule a call or only ring.
        """
        source = request.source
        if source is None or not source.value.strip():
            raise PbxInvalidInput(f"{self.title} needs the line, extension or user to call from")
        if request.delay or request.ring_once:
            raise PbxInvalidInput(f"{self.title} places calls at once and in full only")
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
            if (internal := internal_line(value)) is None:
                raise PbxInvalidInput(
                    f"{self.title} calls from an internal number, <number>@<dialplan> "
                    "or id:<line id>"
                )
            params |= internal
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
            legs = self._legs(await self._action("listcalls"))
            if value not in {leg.channel for leg in legs}:
                # The channel can hold a phone number: keep it out of the message.
                raise PbxInvalidInput(f"{self.title} has no such call in progress")
        elif request.kind is not HangupTargetKind.CHANNEL:
            raise PbxInvalidInput(
                f"{self.title} hangs up a call or channel, not a {request.kind.value}"
            )
        await self._action("hangupcall", {"channelName": value}, once=True)

    def _agent_params(self, agent_id: str) -> dict[str, str]:
        pin = self._pins.get(agent_id)
        if pin is None:
            raise PbxInvalidInput(f"{self.title} needs the PIN of agent {agent_id} (options)")
        return {"agentNumber": agent_id, "agentPin": pin}

    async def async_agent_login(self, agent_id: str, extension: str | None = None) -> None:
        """agentlogin from a line (V:321-327): `extension` (a line device's id, which is
        the SIP user name), else the agent's line in the options (`line_params`), else the
        line they were last seen logged in from."""
        params = self._agent_params(agent_id)
        if extension:
            source = {"srcSipUsername": extension}
        elif (line := self._agent_lines.get(agent_id)) is not None:
            source = line_params(line)
        elif (seen := self._login_lines.get(agent_id)) is not None:
            source = {"srcSipUsername": seen}
        else:
            raise PbxInvalidInput(
                f"{self.title} logs agent {agent_id} in from a phone line: name it in the "
                "options (agent lines), or it is taken once the agent was seen logged in"
            )
        await self._action("agentlogin", {**source, **params}, once=True)

    async def async_agent_logout(self, agent_id: str) -> None:
        await self._action("agentlogout", self._agent_params(agent_id), once=True)

    async def async_agent_pause(self, agent_id: str, reason: str | None = None) -> None:
        if reason:
            raise PbxInvalidInput(f"{self.title} has no pause reasons")
        await self._action("agentpause", self._agent_params(agent_id), once=True)

    async def async_agent_unpause(self, agent_id: str) -> None:
        await self._action("agentunpause", self._agent_params(agent_id), once=True)

    async def async_queue_login(
        self, agent_id: str, queue_id: str, extension: str | None = None
    ) -> None:
        """agentadd with the required penalty (V:459-466): the option's, else 1.

        A queue takes the agent as they are logged in: agentadd names no line.
        """
        params = {**self._agent_params(agent_id), "queueName": queue_id, "penalty": self._penalty}
        await self._action("agentadd", params, once=True)

    async def async_queue_logout(self, agent_id: str, queue_id: str) -> None:
        params = {**self._agent_params(agent_id), "queueName": queue_id}
        await self._action("agentremove", params, once=True)
