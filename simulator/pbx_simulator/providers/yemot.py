"""Yemot (call2all) wire format (see shared/provider-docs/yemot-call2all.txt = Y).

Every command lives at `/ym/api/<Command>` and takes its parameters from the query string,
a form body or a JSON body (QueueManagement accepts only JSON). The `token` is
`<system number>:<password>` or a session token from the *pub* `Login` command. Answers are
JSON with HTTP 200 even on failure: `responseStatus` OK, ERROR (a refused request),
FORBIDDEN (wrong login) or EXCEPTION (a bad token, an unknown command), with a `message`.

Kept from the documentation as it is: the misspelt `bilingPerCall` and the `not Vaild` error
of CallExtensionBridging, `callsTimeOut` in the request but `callsTimeout` in the answer,
QueueManagement's `yAfastVersion`, GetSmsIncomingLog's numeric `dest`/`phone` and its
`server_date` written time first (`22:40:54 2024-07-30`), string `via_port` in SipGetContexts.

*pub* parts (public, not in provider-docs; the README cites the sources): Login, GetSession,
GetIncomingCalls, SendTTS, RunTzintuk, the SIP user names `<system>=<account>` and the ERROR
of servers without SIP (forum post f2.freeivr.co.il/post/135629), and the `type=api`
extension that calls a URL (`set_api_extension` stands in for its `ext.ini`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import hashlib
import json
import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from ..state import (
    AgentStatus,
    CallStatus,
    Direction,
    SimAgent,
    SimCall,
    SimEvent,
    SimLine,
    SimQueue,
)
from .base import BaseProviderSim

if TYPE_CHECKING:
    from ..app import Simulator

ISRAEL = ZoneInfo("Asia/Jerusalem")
API_VERSION = 6
YAFAST_VERSION = "6.6.20"
MAX_CAMPAIGN_PHONES = 500
MAX_CALLS_TIMEOUT = 35
DEFAULT_CALLS_TIMEOUT = 30
LOCAL_NUMBER = re.compile(r"0\d{8,9}")
LOCAL_MOBILE = re.compile(r"05\d{8}")
INVALID_TOKEN = "IllegalStateException(session token is invalid)"
WRONG_LOGIN = "user name or password do not match"
NO_SIP_SUPPORT = "שרת זה אינו תומך במערכת SIP"
NO_SIP_ANSWER = (
    f'{{\nresponseStatus: "ERROR",\nmessage: "{NO_SIP_SUPPORT}",\nyAfastVersion: "any"\n}}\n'
)
SIP_COMMANDS = frozenset({"GetSipAccountsRegisteredStatus", "SipGetContexts"})
MAX_TZINTUK_TIMEOUT = 16
DEFAULT_TZINTUK_TIMEOUT = 9
TTS_RATES = range(-10, 11)
DEFAULT_REPEAT = 2
MEMBER_STATUS = {
    AgentStatus.IDLE: "Not in use",
    AgentStatus.WRAP_UP: "Not in use",
    AgentStatus.RINGING: "Ringing",
    AgentStatus.IN_CALL: "In use",
    AgentStatus.ON_HOLD: "On Hold",
}

type Params = dict[str, Any]
type Answer = dict[str, Any]
type Command = Callable[[web.Request, Params], Awaitable[Answer]]


class YemotRefusedError(Exception):
    """A request Yemot answers with `responseStatus: ERROR`."""


def local_number(number: str) -> str:
    """A number as Yemot writes it: Israeli numbers national (`05…`), others `00<cc>…`."""
    if number.startswith("+972"):
        return "0" + number[4:]
    if number.startswith("+"):
        return "00" + number[1:]
    return number


def international_digits(number: str) -> int | str:
    """A number as GetSmsIncomingLog writes it: `972501234567`, a JSON number."""
    if number.startswith("+"):
        digits = number[1:]
    elif number.startswith("0") and not number.startswith("00"):
        digits = "972" + number[1:]
    else:
        digits = number.removeprefix("00")
    return int(digits) if digits.isdigit() else number


def israel_time(moment: datetime, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return moment.astimezone(ISRAEL).strftime(fmt)


class YemotSim(BaseProviderSim):
    provider = "yemot"
    base_path = "/ym/api"
    default_credentials = {"token": "0773137770:ym-4567-pass"}  # noqa: RUF012

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.sessions: set[str] = set()  # tokens handed out by Login
        # A server without SIP (forum post 135629) refuses every SIP command.
        self.sip_supported = True
        # The URL of a `type=api` extension (its `ext.ini` `api_link`) and its path.
        self.api_link: str | None = None
        self.api_extension = "5"
        self.commands: dict[str, Command] = {
            "Login": self._login,
            "GetSession": self._get_session,
            "GetIncomingCalls": self._incoming_calls,
            "GetSipAccountsRegisteredStatus": self._sip_accounts,
            "SipGetContexts": self._sip_contexts,
            "GetQueueRealTime": self._queue_real_time,
            "QueueManagement": self._queue_management,
            "CallExtensionBridging": self._call_extension_bridging,
            "GetSmsIncomingLog": self._sms_incoming_log,
            "SendTTS": self._send_tts,
            "SendSms": self._send_sms,
            "RunTzintuk": self._run_tzintuk,
        }
        self.state.subscribe(self._on_event)

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", self.base_path + "/{command}", self._handle)

    def endpoint_key(self, request: web.Request, path: str) -> str:
        return path.removeprefix(self.base_path + "/")

    # --- what several commands share ---------------------------------------------------

    @property
    def system_number(self) -> str:
        return self.credentials["token"].partition(":")[0]

    def demo_options(self) -> dict[str, str | list[str]]:
        """The API cannot list queues: the integration is told their paths."""
        return {"queue_paths": [self.queue_path(queue) for queue in self.state.queues.values()]}

    def queue_path(self, queue: SimQueue) -> str:
        """The IVR path of a queue extension, as GetQueueRealTime takes it."""
        return f"ivr2:/{queue.extension}"

    def sip_user(self, account_number: int) -> str:
        """`<system number>=<account number>` (forum post 135629); accounts count from 1."""
        return f"{self.system_number}={account_number}"

    def sip_lines(self) -> list[SimLine]:
        return [line for line in self.state.lines.values() if line.kind == "extension"]

    def call_id(self, call: SimCall) -> str:
        """Yemot's call ids are 32 hex digits."""
        return hashlib.md5(f"yemot-call-{call.id}".encode(), usedforsecurity=False).hexdigest()

    def member_name(self, agent: SimAgent) -> str:
        return agent.extension

    async def _handle(self, request: web.Request) -> web.Response:
        """Every command: parameters from query, form or JSON (Y:26: QueueManagement only
        as a JSON POST); HTTP 200 with `responseStatus` (Y:35) whatever happened."""
        command = request.match_info["command"]
        params: Params = dict(request.query)
        json_body = request.content_type == "application/json"
        if request.method == "POST" and request.body_exists:
            if json_body:
                try:
                    data = await request.json()
                except ValueError:
                    return self._exception("JSONException(body is not valid JSON)")
                if not isinstance(data, dict):
                    return self._exception("JSONException(body must be a JSON object)")
                params.update(data)
            else:
                params.update(await request.post())
        handler = self.commands.get(command)
        if handler is None:
            return self._exception(f"IllegalArgumentException(unknown api command {command})")
        if command != "Login" and not self._token_ok(params.get("token")):
            return self._exception(INVALID_TOKEN)
        if command in SIP_COMMANDS and not self.sip_supported:
            # Exactly as the forum post shows it: bare keys, not JSON.
            return web.Response(
                text=NO_SIP_ANSWER, content_type="application/json", charset="utf-8"
            )
        if command == "QueueManagement" and not (request.method == "POST" and json_body):
            return self._exception(
                "IllegalArgumentException(QueueManagement takes a POST request with a JSON body)"
            )
        try:
            answer = await handler(request, params)
        except YemotRefusedError as err:
            answer = {"responseStatus": "ERROR", "message": str(err)}
        return self._json(answer)

    def _token_ok(self, token: Any) -> bool:
        return isinstance(token, str) and (
            token == self.credentials["token"] or token in self.sessions
        )

    def expire_sessions(self) -> None:
        """Every session token handed out by Login stops working (they expire)."""
        self.sessions.clear()

    @staticmethod
    def _json(answer: Answer) -> web.Response:
        return web.Response(
            text=json.dumps(answer, ensure_ascii=False),
            content_type="application/json",
            charset="utf-8",
        )

    def _exception(self, message: str) -> web.Response:
        return self._json(
            {"yemotAPIVersion": API_VERSION, "responseStatus": "EXCEPTION", "message": message}
        )

    @staticmethod
    def _ok(**fields: Any) -> Answer:
        return {"responseStatus": "OK", "yemotAPIVersion": API_VERSION, **fields}

    @staticmethod
    def _text(params: Params, key: str, default: str = "") -> str:
        value = params.get(key, default)
        return value if isinstance(value, str) else str(value)

    def _phone_list(self, params: Params, default_caller_id: str) -> list[tuple[str, str]]:
        """(phone, caller id) pairs of a `phones` parameter in any documented form."""
        phones = params.get("phones")
        if isinstance(phones, str):
            if phones.startswith(("tpl:", "tzl:")):
                raise YemotRefusedError(f"phone list {phones} not found")
            return [(p.strip(), default_caller_id) for p in phones.split(":") if p.strip()]
        if not isinstance(phones, list) or not phones:
            raise YemotRefusedError("phones is required")
        pairs: list[tuple[str, str]] = []
        for item in phones:
            if isinstance(item, str):
                pairs.append((item, default_caller_id))
            elif isinstance(item, dict) and isinstance(item.get("phone"), str):
                pairs.append((item["phone"], str(item.get("callerId", default_caller_id))))
            elif isinstance(item, dict) and isinstance(item.get("phones"), list):
                caller = str(item.get("callerId", default_caller_id))
                pairs += [(str(phone), caller) for phone in item["phones"]]
            else:
                raise YemotRefusedError("phones has an entry that is not a phone")
        return pairs

    def _campaign(
        self, params: Params, valid: re.Pattern[str], *, announcement: str | None = None
    ) -> tuple[str, list[SimCall], dict[str, str]]:
        """Dial every valid number of `phones`: (caller id, calls, errors by number)."""
        caller_id = self._text(params, "callerId") or self.system_number
        pairs = self._phone_list(params, caller_id)
        if len(pairs) > MAX_CAMPAIGN_PHONES:
            raise YemotRefusedError(f"too many phones: at most {MAX_CAMPAIGN_PHONES}")
        calls: list[SimCall] = []
        errors: dict[str, str] = {}
        for phone, caller in pairs:
            if valid.fullmatch(phone):
                calls.append(self.state.originate(caller, phone, announcement=announcement))
            else:
                errors[phone] = "not Vaild"
        return caller_id, calls, errors

    def _campaign_id(self, caller_id: str) -> str:
        millis = int(self.state.now().timestamp() * 1000)
        return f"YA-1-{caller_id}-Yemot-{millis}{self.state.random.randrange(1000):03d}"

    def _find_queue(self, params: Params) -> SimQueue:
        wanted = self._text(params, "queuePath").removeprefix("ivr2:").strip("/")
        for queue in self.state.queues.values():
            if self.queue_path(queue).removeprefix("ivr2:").strip("/") == wanted:
                return queue
        raise YemotRefusedError(f"queuePath {wanted or '(empty)'} is not a queue extension")

    # --- commands ---------------------------------------------------------------------

    async def _login(self, _request: web.Request, params: Params) -> Answer:
        """*pub* Login: a session token for the system number and its password.

        Answers as a public client records them: `{"responseStatus":"OK","token":…}`, and
        `FORBIDDEN` with "user name or password do not match".
        """
        number, _, password = self.credentials["token"].partition(":")
        if (self._text(params, "username"), self._text(params, "password")) != (number, password):
            return {
                "responseStatus": "FORBIDDEN",
                "message": WRONG_LOGIN,
                "yemotAPIVersion": API_VERSION,
            }
        token = secrets.token_hex(8)
        self.sessions.add(token)
        return {"responseStatus": "OK", "token": token, "yemotAPIVersion": API_VERSION}

    async def _get_session(self, _request: web.Request, _params: Params) -> Answer:
        """*pub* GetSession: the account behind the token (the public client's fields)."""
        return self._ok(
            name=self.system_number,
            units=round(self.state.balance, 2),
            unitsExpireDate="2030-01-01",
            username=self.system_number,
        )

    async def _incoming_calls(self, _request: web.Request, _params: Params) -> Answer:
        """*pub* GetIncomingCalls: `calls[{did, callerIdNum, duration, transferFrom, id, path}]`.

        Ids are those of GetQueueRealTime's entries; the stricter reading of the
        undocumented types: every value a string.
        """
        now = self.state.now()
        queue_paths = {queue.id: self.queue_path(queue) for queue in self.state.queues.values()}
        calls = [
            {
                "did": local_number(call.callee),
                "callerIdNum": local_number(call.caller),
                "duration": str(int((now - call.created).total_seconds())),
                "transferFrom": "",
                "id": self.call_id(call),
                "path": queue_paths.get(call.queue_id or "", f"ivr2:/{self.api_extension}"),
            }
            for call in self.state.calls.values()
            if call.direction is Direction.IN and call.status is not CallStatus.ENDED
        ]
        return self._ok(calls=calls)

    async def _sip_accounts(self, _request: web.Request, _params: Params) -> Answer:
        """GetSipAccountsRegisteredStatus (Y:133-140): every account, registered or not."""
        # The documented example's date, a day apart; the date is local (Israel) time.
        first_created = datetime(2021, 6, 26, 23, 0)  # noqa: DTZ001
        system = self.system_number
        accounts = [
            {
                "userName": f"{system}={index + 1}",
                "createdDate": (first_created + timedelta(days=index)).isoformat(" "),
                "registered": line.registered,
            }
            for index, line in enumerate(self.sip_lines())
        ]
        return self._ok(accounts=accounts)

    async def _sip_contexts(self, _request: web.Request, params: Params) -> Answer:
        """SipGetContexts (Y:124-132): one account by its number, the first without one."""
        lines = self.sip_lines()
        wanted = self._text(params, "accountNumber")
        number = int(wanted) if wanted.isdigit() else 1 if not wanted else 0
        if not 1 <= number <= len(lines):
            raise YemotRefusedError(f"sip account {wanted or '(first)'} not found")
        line = lines[number - 1]
        contexts = []
        if line.registered:
            contexts.append(
                {
                    "expiration_time": israel_time(
                        self.state.now() + timedelta(seconds=line.expires)
                    ),
                    "uri": f"sip:{self.sip_user(number)}@{line.ip}:{line.port}",
                    "user_agent": line.user_agent,
                    "via_addr": line.ip,
                    "via_port": str(line.port),
                }
            )
        return self._ok(contexts=contexts)

    async def _queue_real_time(self, _request: web.Request, params: Params) -> Answer:
        """GetQueueRealTime (Y:23, Y:46; *pub* shape): members, waiting entries, totals."""
        queue = self._find_queue(params)
        now = self.state.now()
        # The calls are read once, not once for each of thousands of members.
        taken_by: dict[str | None, list[SimCall]] = {}
        for call in self.state.calls.values():
            if call.queue_id == queue.id and call.was_answered:
                taken_by.setdefault(call.agent_id, []).append(call)
        members = []
        for agent_id in queue.member_ids:
            agent = self.state.agents[agent_id]
            taken = taken_by.get(agent.id, [])
            last = max((call.answered for call in taken if call.answered), default=None)
            members.append(
                {
                    "agent": self.member_name(agent),
                    "Status": MEMBER_STATUS[agent.status] if agent.logged_in else "Unavailable",
                    "CallsTaken": len(taken),
                    "LastCallUnitTime": str(int(last.timestamp())) if last else "0",
                    "LastCall": israel_time(last, "%m/%d/%Y, %I:%M:%S %p") if last else None,
                    "LastCallAgo": str(now - last) if last else None,
                    "Paused": agent.paused,
                    "Penalty": "0",
                }
            )
        entries = []
        for position, call in enumerate(self.state.waiting_calls(queue.id), start=1):
            wait = int((now - call.created).total_seconds())
            entries.append(
                {
                    "phone": local_number(call.caller),
                    "Wait": wait,
                    "WaitAgo": f"{wait // 60:02d}:{wait % 60:02d}",
                    "Position": position,
                    "CallId": self.call_id(call),
                }
            )
        answered = [c for c in self.state.calls.values() if c.queue_id == queue.id and c.answered]
        return self._ok(
            queueData={
                "Abandoned": queue.abandoned,
                "Calls": len(entries),
                "Completed": queue.completed,
                "TalkTime": 0,
                "Holdtime": int(queue.total_hold_seconds / len(answered)) if answered else 0,
                "Max": 0,
                "Strategy": queue.strategy,
            },
            members=members,
            entries=entries,
        )

    async def _queue_management(self, _request: web.Request, params: Params) -> Answer:
        """QueueManagement (Y:21-48): kick waiting callers, pause and unpause members."""
        queue = self._find_queue(params)
        action = self._text(params, "action")
        if action == "kick":
            call_ids = params.get("callIds")
            if not isinstance(call_ids, list):
                raise YemotRefusedError("callIds must be an array")
            waiting = {self.call_id(call): call for call in self.state.waiting_calls(queue.id)}
            more_data = self._text(params, "moreData")
            status: dict[str, str] = {}
            for call_id in map(str, call_ids):
                call = waiting.get(call_id)
                if call is None:
                    status[call_id] = "Call not found"
                    continue
                if more_data.startswith("GOTO:"):
                    call.queue_id = None
                    call.status = CallStatus.ANSWERED
                    self.state.transfer(call.id, more_data.removeprefix("GOTO:"))
                else:
                    self.state.hangup(call.id, "kicked")
                status[call_id] = "OK"
            return {"responseStatus": "OK", "yAfastVersion": YAFAST_VERSION, "status": status}
        if action in ("pause", "unpause"):
            name = self._text(params, "agent")
            agent = next(
                (
                    self.state.agents[agent_id]
                    for agent_id in queue.member_ids
                    if self.member_name(self.state.agents[agent_id]) == name
                ),
                None,
            )
            if agent is None:
                raise YemotRefusedError(f"agent {name or '(empty)'} is not a member of the queue")
            if action == "pause":
                self.state.agent_pause(agent.id)
            else:
                self.state.agent_unpause(agent.id)
            return {"responseStatus": "OK"}
        raise YemotRefusedError(f"unknown action {action or '(empty)'}")

    async def _call_extension_bridging(self, _request: web.Request, params: Params) -> Answer:
        """CallExtensionBridging (Y:79-112): a campaign whose answered calls enter ivrPath."""
        ivr_path = self._text(params, "ivrPath")
        if not ivr_path.startswith("ivr2:"):
            raise YemotRefusedError("ivrPath is required, e.g. ivr2:/1/100")
        try:
            timeout = int(params.get("callsTimeOut", DEFAULT_CALLS_TIMEOUT))
        except TypeError, ValueError:
            raise YemotRefusedError("callsTimeOut must be a number of seconds") from None
        timeout = max(1, min(timeout, MAX_CALLS_TIMEOUT))
        module = (
            "queue"
            if any(
                self.queue_path(q).strip("/") == ivr_path.strip("/")
                for q in self.state.queues.values()
            )
            else "menu"
        )
        caller_id, calls, errors = self._campaign(params, LOCAL_NUMBER)
        return self._ok(
            module=module,
            callerId=caller_id,
            callsCount=len(calls),
            bilingPerCall=1,
            errors=errors,
            callsTimeout=timeout,
            campaignId=self._campaign_id(caller_id),
        )

    async def _sms_incoming_log(self, _request: web.Request, params: Params) -> Answer:
        """GetSmsIncomingLog (Y:143-151): the latest `limit` received SMS, newest first.

        Y:147 marks only the dates optional: without `limit` the request is refused.
        """
        if "limit" not in params:
            raise YemotRefusedError("limit is required")
        try:
            limit = int(params["limit"])
            start = self._date(params, "startDate")
            end = self._date(params, "endDate")
        except TypeError, ValueError:
            raise YemotRefusedError("limit, startDate or endDate is not valid") from None
        received = [
            sms
            for sms in self.state.sms.values()
            if sms.direction is Direction.IN
            and (start is None or sms.created >= start)
            and (end is None or sms.created <= end)
        ]
        received.sort(key=lambda sms: (sms.created, int(sms.id)), reverse=True)
        rows = [
            {
                "dest": international_digits(sms.recipient),
                "phone": international_digits(sms.sender),
                "message": sms.text,
                "server_date": israel_time(sms.created, "%H:%M:%S %Y-%m-%d"),
            }
            for sms in received[: max(0, limit)]
        ]
        return self._ok(rows=rows)

    @staticmethod
    def _date(params: Params, key: str) -> datetime | None:
        value = params.get(key)
        if not value:
            return None
        text = str(value)
        fmt = "%Y-%m-%d %H:%M:%S" if " " in text else "%Y-%m-%d"
        return datetime.strptime(text, fmt).replace(tzinfo=ISRAEL)

    async def _send_tts(self, _request: web.Request, params: Params) -> Answer:
        """*pub* SendTTS: `ttsRate` -10..10, `repeatFile` times played (default 2)."""
        message = self._text(params, "ttsMessage")
        if not message:
            raise YemotRefusedError("ttsMessage is required")
        rate = self._integer(params, "ttsRate", 0)
        if rate not in TTS_RATES:
            raise YemotRefusedError("ttsRate must be between -10 and 10")
        repeat = self._integer(params, "repeatFile", DEFAULT_REPEAT)
        if repeat < 1:
            raise YemotRefusedError("repeatFile must be a positive number")
        caller_id, calls, errors = self._campaign(params, LOCAL_NUMBER, announcement=message)
        return self._ok(
            CampaignId=self._campaign_id(caller_id),
            OKCalls=len(calls),
            ErrorCalls=errors,
            billing=len(calls),
            units=round(self.state.balance, 2),
            TTS_RATE=rate,
            TTS_VOICE=self._text(params, "ttsVoice"),
            REPEAT_FILE=repeat,
        )

    def _integer(self, params: Params, key: str, default: int) -> int:
        text = self._text(params, key, str(default)).strip()
        if not re.fullmatch(r"-?\d{1,4}", text):
            raise YemotRefusedError(f"{key} must be a whole number")
        return int(text)

    async def _send_sms(self, _request: web.Request, params: Params) -> Answer:
        """*pub* SendSms: `phones` (`:` separated), `message`, `from`."""
        message = self._text(params, "message")
        if not message:
            raise YemotRefusedError("message is required")
        sender = self._text(params, "from") or self.system_number
        oks: list[str] = []
        errors: dict[str, str] = {}
        for phone, _caller in self._phone_list(params, sender):
            if LOCAL_MOBILE.fullmatch(phone):
                self.state.send_sms(sender, phone, message)
                oks.append(phone)
            else:
                errors[phone] = "not Vaild"
        return self._ok(
            message=message,
            **{"from": sender},
            sendCount=len(oks),
            Billing=len(oks),
            oks=oks,
            errors=errors,
        )

    async def _run_tzintuk(self, _request: web.Request, params: Params) -> Answer:
        """*pub* RunTzintuk: ring each phone for `TzintukTimeOut` seconds (at most 16).

        The parameter is read as documented, capital T; another spelling is not it.
        """
        timeout = self._integer(params, "TzintukTimeOut", DEFAULT_TZINTUK_TIMEOUT)
        if not 1 <= timeout <= MAX_TZINTUK_TIMEOUT:
            raise YemotRefusedError(f"TzintukTimeOut must be 1 to {MAX_TZINTUK_TIMEOUT} seconds")
        caller_id, calls, errors = self._campaign(params, LOCAL_NUMBER)
        for call in calls:  # it only rings: nobody can answer a tzintuk
            self.state.hangup(call.id, "tzintuk")
        return self._ok(
            callerId=caller_id,
            callsCount=len(calls),
            verifyCode=None,
            bilingPerCall=0.1,
            biling=round(0.1 * len(calls), 1),
            errors=errors,
            callsTimeout=timeout,
            campaignId=self._campaign_id(caller_id),
        )

    # --- the API extension (*pub* `type=api`) --------------------------------------------

    def set_api_extension(self, url: str | None, extension: str = "5") -> None:
        """Point a `type=api` extension's `api_link` at `url` (None: no extension).

        An administrator's setting in the extension's `ext.ini`, not an API command.
        """
        self.api_link = url
        self.api_extension = extension.strip("/")

    def set_admin_hook(self, settings: dict[str, Any]) -> None:
        """`{"url": …, "extension"?: …}`: the API extension's `api_link` (`ext.ini`)."""
        url = settings.get("url")
        self.set_api_extension(str(url) if url else None, str(settings.get("extension") or "5"))

    def _on_event(self, event: SimEvent) -> None:
        """Incoming calls enter the extension; `api_hangup_send=yes` reports the hangup."""
        call = event.call
        if self.api_link is None or call is None or call.direction is not Direction.IN:
            return
        if event.kind not in ("call.incoming", "call.hangup"):
            return
        query = {
            "ApiCallId": self.call_id(call),
            "ApiDID": self.system_number,
            "ApiRealDID": local_number(call.callee),
            "ApiPhone": local_number(call.caller),
            "ApiExtension": self.api_extension,
            "ApiTime": str(int(self.state.now().timestamp())),
        }
        if event.kind == "call.hangup":
            query["hangup"] = "yes"
        separator = "&" if "?" in self.api_link else "?"
        self.sim.webhooks.send("yemot", "GET", self.api_link + separator + urlencode(query))
