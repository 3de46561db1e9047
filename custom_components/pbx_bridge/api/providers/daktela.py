"""Daktela client (legacy API 3.x-4.x).

Every action is `GET <instance>/api/<VERSION>/<Action>[/<ID>]/json` with the
`access_token` (SHA1 of login + password); we send the token as a cookie, which the API
accepts, so it never travels in a URL. Each action is called with the version it requires.
Answers are `{"status":1,"error":null,"result":…}` or `status:0` with a Czech `error`;
some documented bodies are not valid JSON (CreateCall by user ends in an extra `}`), so
answers are read tolerantly. A bad token is HTTP 401, or `Uživatel neexistuje` from GetUser.

Daktela pushes call events from dialplan hooks (`notify_crm_api.agi`, GET with `callerId`,
`calleeId`, `line`, `idcall`, `action`; the incoming-call hook sends `callid` = the caller's
number and `dnd` = the dialled number) that an administrator sets up, and received SMS to
the `incoming_callback` URL of SetSMSSettings, which we register.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import hashlib
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from ..client import (
    DEFAULT_TIMEOUT,
    PbxClient,
    parse_int,
    read_json,
)
from ..declaration import OPTION_SMS_SENDER, ConnectionField, ProviderDeclaration
from ..errors import PbxAuthError, PbxInvalidInput, PbxResponseError
from ..models import (
    AccountInfo,
    Agent,
    AgentState,
    AnnounceRequest,
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
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
    SmsDirection,
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

PRAGUE = ZoneInfo("Europe/Prague")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The documented CreateCall answer ends in one `}` too many: stray closing brackets after a
# complete value are ignored.
STRAY_AFTER_JSON = "}]"
# GetUser's answer to a token that belongs to nobody.
UNKNOWN_USER = "uživatel neexistuje"
# Pauses the PBX sets by itself (after a call, for idling): not for choosing.
SYSTEM_PAUSE_TYPES = frozenset({"wrap", "lajdak"})
SMS_PLACEHOLDERS = "number=$number&message=$message&id=$id&direction=$direction"
# Option: agent login -> the extension they sit at (for Login and LoginQueue).
OPTION_AGENT_EXTENSIONS = "agent_extensions"

AGENT_STATES = {
    "logged": AgentState.IDLE,  # in the call centre but in no queue
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
        # The dialplan hooks and the SMS callback are plain GET requests.
        webhook_methods=frozenset({"GET"}),
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
        # From the last snapshot, for actions that name things differently than we do.
        self._known_agents: dict[str, Agent] = {}  # login -> last seen
        self._agent_logins: dict[str, str] = {}  # agent id -> login
        self._queue_numbers: dict[str, str] = {}  # queue id -> queue number
        self._pauses: dict[str, str] = {}  # pause title -> pause id
        self._call_owners: dict[str, str] = {}  # call id -> login of the agent on it

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
        if not isinstance(answer, dict) or "status" not in answer:
            raise PbxResponseError(
                f"{self.title} sent an unreadable answer to {action} (HTTP {response.status})",
                str(response.status),
            )
        if str(answer["status"]) == "1":
            return answer.get("result")
        error = self.redact(str(answer.get("error") or f"{action} failed"))
        if action == "GetUser" and error.strip().lower() == UNKNOWN_USER:
            raise PbxAuthError(f"{self.title} rejected the access token: {error}")
        raise PbxResponseError(error)

    # --- account and snapshot -----------------------------------------------------------

    async def async_validate(self) -> AccountInfo:
        """GetUser checks the token; the instance's host name is the account id."""
        await self._action("4.0", "GetUser")
        return self._account()

    def _account(self) -> AccountInfo:
        host = (urlsplit(self.base_url).netloc or self.base_url).lower()
        return AccountInfo(host, f"Daktela {host}")

    async def async_fetch_snapshot(self) -> Snapshot:
        """Six requests whatever the size of the account.

        RTUsersState (agents and their calls), GetQueues (names, numbers), RTStatsQueues
        (counts), DeviceStates (SIP registrations), RTStatsCalls (calls) and GetPauses (pause
        names) each cover everything at once. RTUsersState lists only agents logged in to the
        call centre: those seen before stay listed as logged out.
        """
        pauses = _rows(await self._action("3.3", "GetPauses"), "pause")
        self._read_pauses(pauses)
        agents = self._read_agents(_rows(await self._action("4.1", "RTUsersState"), "user"))
        queue_result = await self._action("3.0", "GetQueues")
        if isinstance(queue_result, dict) and "queue" in queue_result:
            queue_result = [queue_result]  # one queue, written as the queue itself
        queue_rows = _rows(queue_result, "queue")
        stats = _rows(await self._action("3.5", "RTStatsQueues"), "queue statistics")
        queues = self._read_queues(queue_rows, stats, agents)
        devices = _rows(await self._action("3.0", "DeviceStates"), "device")
        calls = self._read_calls(_rows(await self._action("3.5", "RTStatsCalls"), "call"))
        return Snapshot(
            account=self._account(),
            agents=agents,
            queues=queues,
            registrations=self._read_devices(devices),
            calls=calls,
            pause_reasons=tuple(self._pauses),
        )

    def _read_pauses(self, rows: list[Json]) -> None:
        """Both documented shapes: 3.3 `pause`/`title`/`type`, 3.0 `pcode_id`/`pcode_desc`."""
        pauses: dict[str, str] = {}
        for row in rows:
            pause_id = _text(row.get("pause", row.get("pcode_id")))
            title = _text(row.get("title", row.get("pcode_desc")))
            kind = str(row.get("type") or "").lower()
            usable = str(row.get("deleted")) != "1" and kind not in SYSTEM_PAUSE_TYPES
            if pause_id and title and usable:
                pauses[title] = pause_id
        self._pauses = pauses

    def _read_agents(self, rows: list[Json]) -> dict[str, Agent]:
        pause_titles = {pause_id: title for title, pause_id in self._pauses.items()}
        agents: dict[str, Agent] = {}
        self._agent_logins = {}
        self._call_owners = {}
        for row in rows:
            login = _text(row.get("agent_name"))
            if login is None:
                raise PbxResponseError("Daktela sent a user without agent_name")
            if agent_number := _text(row.get("id_agent")):
                self._agent_logins[agent_number] = login
            raw_state = str(row.get("agent_state") or "").strip().lower()
            state = AGENT_STATES.get(raw_state, AgentState.UNKNOWN)
            calls = row.get("calls")
            calls = [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
            for call in calls:
                if call_id := _text(call.get("id_call")):
                    self._call_owners[call_id] = login
            queues = row.get("login_oqueues")
            queue_ids = tuple(
                str(queue["queue"])
                for queue in (queues if isinstance(queues, list) else [])
                if isinstance(queue, dict) and queue.get("rt_logged") is True and "queue" in queue
            )
            agents[login] = Agent(
                agent_id=login,
                name=_text(row.get("agent_title")) or login,
                state=state,
                extension=_text(row.get("exten")),
                logged_in=True,
                paused=state is AgentState.PAUSED,
                pause_reason=pause_titles.get(str(row.get("id_pause"))),
                call_partner=CZECH_NUMBERS.read(calls[0].get("clid")) if calls else None,
                queue_ids=queue_ids,
            )
        for login, known in self._known_agents.items():
            if login not in agents:
                agents[login] = Agent(
                    agent_id=login,
                    name=known.name,
                    state=AgentState.LOGGED_OUT,
                    extension=known.extension,
                    logged_in=False,
                    paused=False,
                )
        self._known_agents = dict(agents)
        return agents

    def _read_queues(
        self, rows: list[Json], stats: list[Json], agents: dict[str, Agent]
    ) -> dict[str, Queue]:
        names: dict[str, str] = {}
        self._queue_numbers = {}
        for row in rows:
            queue_id = _text(row.get("queue"))
            if queue_id is None or str(row.get("deleted")) == "1":
                continue
            number = _text(row.get("name"))
            if number:
                self._queue_numbers[queue_id] = number
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
            agent = self._agent_logins.get(agent_number or "", agent_number)
            if agent and call_id not in self._call_owners:
                self._call_owners[call_id] = agent
            calls[call_id] = Call(
                call_id=call_id,
                direction=CallDirection.INCOMING if incoming else CallDirection.OUTGOING,
                state=CALL_STATES.get(str(row.get("state") or "").lower(), CallState.UNKNOWN),
                caller=partner if incoming else None,
                callee=None if incoming else partner,
                agent_id=agent,
                queue_id=_text(row.get("queue")),
                started=_time(row.get("enter_time_absolute")),
                answered=_time(row.get("answer_time_absolute")),
            )
        return calls

    # --- lookups for actions --------------------------------------------------------------

    async def _call_owner(self, call_id: str) -> str:
        """The login of the agent on a live call (RTUsersState if the snapshot missed it)."""
        if call_id not in self._call_owners:
            self._read_agents(_rows(await self._action("4.1", "RTUsersState"), "user"))
        try:
            return self._call_owners[call_id]
        except KeyError:
            raise PbxInvalidInput(
                f"{self.title} can only act on a live call of a logged-in agent; "
                f"call {call_id} is not one"
            ) from None

    def _user_number(self, login: str) -> str:
        """The numeric user ID of an agent named by login (as the last snapshot saw it)."""
        for number, known in self._agent_logins.items():
            if known == login:
                return number
        if login.isdigit():
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

    # --- actions ------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """Place a call; the source says which of the documented actions does it.

        A user: CreateCall (3.1, the call-centre form); an extension: CreateCall (3.0); a
        line that is a phone number: CreateRemoteCall (3.8: ring that number first, then
        connect `number`); any other line: ClickToCall (3.9) into that Click-to-Call queue.
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
        elif source.value.startswith("+"):
            params = {
                "primarynumber": self.format_number(source.value),
                "secondarynumber": number,
            }
            if timeout:
                params["dialingtime"] = timeout
            result = await self._action("3.8", "CreateRemoteCall", params, once=True)
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
        """ControlPlayback: play a stored recording into a live call (no text to speech)."""
        if not request.recording:
            raise PbxInvalidInput(
                f"{self.title} plays stored recordings only: name one in `recording`"
            )
        if not request.call_id:
            raise PbxInvalidInput(f"{self.title} plays a recording into a live call: give call_id")
        user = await self._call_owner(request.call_id)
        await self._action(
            "3.6",
            "ControlPlayback",
            {"user": user, "command": "play", "recording": request.recording},
            once=True,
        )
        return CallResult(request.call_id)

    async def async_send_sms(self, request: SmsRequest) -> SmsResult:
        """SendSMS through the hosted gateway, or SendSMSConnect when a sender is named.

        One request per recipient: the single-message actions are the documented ones.
        """
        sender = request.sender or self._options.get(OPTION_SMS_SENDER)

        async def send(recipient: str) -> str | None:
            if sender:
                params = {"number": recipient, "message": request.message, "sender": str(sender)}
                result = await self._action("4.1", "SendSMSConnect", params, once=True)
            else:
                params = {"number": self.format_number(recipient), "message": request.message}
                result = await self._action("3.1", "SendSMS", params, once=True)
            return _text(result.get("id")) if isinstance(result, dict) else None

        return SmsResult(await self._send_to_each(request.recipients, send))

    def _extension_of(self, agent_id: str, named: str | None) -> str | None:
        """The extension to log an agent in at: the one named, the one in the options,
        or the one the agent was last seen at (Login and LoginQueue need it, D:201, D:615)."""
        configured = self._options.get(OPTION_AGENT_EXTENSIONS) or {}
        known = self._known_agents.get(agent_id)
        return named or configured.get(agent_id) or (known.extension if known else None)

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

    @staticmethod
    def _sms_callback(url: str) -> str:
        """Our URL with every documented placeholder, so no parameter depends on defaults."""
        return url + ("&" if "?" in url else "?") + SMS_PLACEHOLDERS

    async def _incoming_callback(self) -> str | None:
        result = await self._action("3.1", "GetSMSSettings")
        settings = result.get("settings") if isinstance(result, dict) else None
        if not isinstance(settings, dict):
            raise PbxResponseError("Daktela sent SMS settings without `settings`")
        return _text(settings.get("incoming_callback"))

    async def async_register_webhook(self, url: str) -> list[str]:
        """Set the SMS `incoming_callback` to us, unless someone else's is set.

        Daktela keeps one callback URL, so a different one cannot be kept beside ours.
        Call hooks live in the dialplan, which only an administrator can edit.
        """
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
        if await self._incoming_callback() in (url, self._sms_callback(url)):
            await self._action("3.1", "SetSMSSettings", {"incoming_callback": ""}, once=True)

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookItem]:
        """A dialplan hook or the SMS callback, both GET requests with a query."""
        if request.method.upper() not in self.webhook_methods:
            raise PbxInvalidInput(f"{self.title} calls webhooks with GET only")
        query = {str(k): str(v) for k, v in request.query.items()}
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
