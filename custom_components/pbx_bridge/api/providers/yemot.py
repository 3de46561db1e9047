"""Yemot (call2all) client.

Every command is `<base>/<Command>` with the `token` (`<system number>:<password>`) as a
parameter; we POST it as a form (QueueManagement: as JSON, the only way it takes its arrays)
so the token never travels in a URL. Answers are JSON with HTTP 200 even on failure:
`responseStatus` OK, ERROR or EXCEPTION with a `message`; a bad token is an EXCEPTION.

Yemot has no call push in its documentation: no webhooks; received SMS are polled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
import hashlib
from typing import Any
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
    AnnounceRequest,
    Call,
    CallDirection,
    CallResult,
    CallState,
    Capability,
    DialRequest,
    DialSourceKind,
    Queue,
    SipKind,
    SipRegistration,
    SmsDirection,
    SmsMessage,
    SmsRequest,
    SmsResult,
    Snapshot,
)
from ..numbers import ISRAELI_NUMBERS

# Option: the IVR paths of the queue extensions to watch (e.g. ["ivr2:/5"]); the API cannot
# list them.
OPTION_QUEUE_PATHS = "queue_paths"

YEMOT_URL = "https://www.call2all.co.il/ym/api"
ISRAEL = ZoneInfo("Asia/Jerusalem")
SMS_POLL_LIMIT = 20
MAX_CALLS_TIMEOUT = 35  # seconds, the documented maximum of CallExtensionBridging
MAIN_EXTENSION = "ivr2:/"
MIN_REDACTED_PASSWORD = 6
# Words of the EXCEPTION messages Yemot gives for a bad or expired token.
AUTH_WORDS = ("token", "session", "authenticate", "login")

MEMBER_STATES = {
    "not in use": AgentState.IDLE,
    "idle": AgentState.IDLE,
    "in use": AgentState.IN_CALL,
    "busy": AgentState.IN_CALL,
    "ringing": AgentState.RINGING,
    "ring+inuse": AgentState.RINGING,
    "on hold": AgentState.ON_HOLD,
    "unavailable": AgentState.UNAVAILABLE,
    "invalid": AgentState.UNAVAILABLE,
}
BUSY_STATES = frozenset({AgentState.IN_CALL, AgentState.RINGING, AgentState.ON_HOLD})

type Json = dict[str, Any]


def ivr_path(path: str) -> str:
    """An IVR path in Yemot's `ivr2:/1/100` form, from `/1/100`, `1/100` or `ivr2:1/100`."""
    return "ivr2:/" + path.strip().removeprefix("ivr2:").strip("/")


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _israel_time(value: object, fmt: str) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), fmt).replace(tzinfo=ISRAEL)
    except ValueError:
        return None


class YemotClient(PbxClient):
    """A Yemot (call2all) system, by its `token`."""

    declaration = ProviderDeclaration(
        provider="yemot",
        title="Yemot (call2all)",
        connection_fields=(
            ConnectionField("token", secret=True),
            ConnectionField("base_url", required=False, is_url=True, default=YEMOT_URL),
        ),
        capabilities=frozenset(
            {
                Capability.SIP_REGISTRATIONS,
                Capability.QUEUES,
                Capability.AGENTS,
                Capability.AGENT_PAUSE,
                Capability.QUEUE_KICK,
                Capability.ACTIVE_CALLS,
                Capability.DIAL,
                Capability.ANNOUNCE,
                Capability.SEND_SMS,
                Capability.SMS_POLLING,
            }
        ),
        options=(OptionField(key=OPTION_QUEUE_PATHS, kind=OptionKind.TEXT_LIST),),
        number_plan=ISRAELI_NUMBERS,
        # No push: calls and SMS come from polling; a refresh costs a request per queue.
        poll_interval=timedelta(seconds=30),
    )
    default_base_url = YEMOT_URL

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: Mapping[str, str],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(session, config, options=options, timeout=timeout)
        self._token = self._config.get("token", "").strip()
        self._system_number, _, password = self._token.partition(":")
        # The password alone must not leak either; a very short one is left out, since
        # redacting it would mangle the digits of phone numbers in messages.
        if len(password) >= MIN_REDACTED_PASSWORD:
            self._secrets += (password,)
        paths = self._options.get(OPTION_QUEUE_PATHS) or ()
        if isinstance(paths, str):
            paths = paths.split(",")
        self._queue_paths = tuple(dict.fromkeys(ivr_path(p) for p in paths if str(p).strip()))
        # Agent name -> queue paths it is a member of, from the last snapshot.
        self._agent_queues: dict[str, tuple[str, ...]] = {}

    # --- transport --------------------------------------------------------------------

    async def _command(
        self,
        command: str,
        params: Mapping[str, str] | None = None,
        *,
        json_body: Json | None = None,
        once: bool = False,
    ) -> Json:
        """Run one command and return its answer when `responseStatus` is OK."""
        if json_body is not None:
            response = await self._request(
                "POST", f"/{command}", json={"token": self._token, **json_body}, once=once
            )
        else:
            response = await self._request(
                "POST", f"/{command}", data={"token": self._token, **(params or {})}, once=once
            )
        try:
            answer = read_json(response.body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PbxResponseError(
                f"{self.title} sent an unreadable answer to {command} (HTTP {response.status})",
                str(response.status),
            )
        status = str(answer.get("responseStatus", ""))
        if status == "OK":
            return answer
        message = self.redact(str(answer.get("message") or f"{command} failed"))
        if status.upper() == "EXCEPTION" and any(w in message.lower() for w in AUTH_WORDS):
            raise PbxAuthError(f"{self.title} rejected the token: {message}")
        raise PbxResponseError(message, status or None)

    @staticmethod
    def _rows(answer: Json, key: str) -> list[Json]:
        rows = answer.get(key)
        if rows is None:
            return []
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise PbxResponseError(f"Yemot (call2all) sent a malformed '{key}' list")
        return rows

    # --- account and snapshot -----------------------------------------------------------

    async def async_validate(self) -> AccountInfo:
        """Check the token with a read-only command; the system number is the account id."""
        if not self._system_number or ":" not in self._token:
            raise PbxAuthError(f"{self.title} needs the token as <system number>:<password>")
        await self._command("GetSipAccountsRegisteredStatus")
        return self._account()

    def _account(self) -> AccountInfo:
        return AccountInfo(self._system_number, f"{self.title} {self._system_number}")

    async def async_fetch_snapshot(self) -> Snapshot:
        """Read everything in 3 requests plus one per configured queue.

        GetSipAccountsRegisteredStatus lists every SIP account at once; SipGetContexts has no
        bulk form, so it is read for the first account only (the one it answers without
        `accountNumber`). GetQueueRealTime has no bulk form and the API cannot list queues:
        one request per queue path in the `queue_paths` option, whatever the number of
        agents, callers or lines. GetSmsIncomingLog returns the latest received SMS.
        """
        registrations = await self._registrations()
        agents: dict[str, Agent] = {}
        queues: dict[str, Queue] = {}
        calls: dict[str, Call] = {}
        for path in self._queue_paths:
            answer = await self._command("GetQueueRealTime", {"queuePath": path})
            queues[path] = self._read_queue(path, answer, agents, calls)
        self._agent_queues = {agent_id: agent.queue_ids for agent_id, agent in agents.items()}
        return Snapshot(
            account=self._account(),
            agents=agents,
            queues=queues,
            registrations=registrations,
            calls=calls,
            received_sms=await self._received_sms(),
        )

    async def _registrations(self) -> dict[str, SipRegistration]:
        accounts = self._rows(await self._command("GetSipAccountsRegisteredStatus"), "accounts")
        registrations: dict[str, SipRegistration] = {}
        for account in accounts:
            user = str(account.get("userName", "")).strip()
            if not user:
                raise PbxResponseError("Yemot (call2all) sent a SIP account without userName")
            registered = _as_bool(account.get("registered"))
            registrations[user] = SipRegistration(
                registration_id=user,
                name=user,
                kind=SipKind.EXTENSION,
                registered=registered,
                status="registered" if registered else "unregistered",
            )
        if not registrations:
            return registrations
        first = next(iter(registrations.values()))
        contexts = self._rows(await self._command("SipGetContexts"), "contexts")
        if contexts:
            # There should be one active registration; the last one is the newest.
            context = contexts[-1]
            registrations[first.registration_id] = SipRegistration(
                registration_id=first.registration_id,
                name=first.name,
                kind=first.kind,
                registered=first.registered,
                status=first.status,
                user_agent=_text_or_none(context.get("user_agent")),
                contact=_text_or_none(context.get("uri")),
                ip=_text_or_none(context.get("via_addr")),
                port=parse_int(context.get("via_port")),
                expires=_israel_time(context.get("expiration_time"), "%Y-%m-%d %H:%M:%S"),
            )
        return registrations

    def _read_queue(
        self, path: str, answer: Json, agents: dict[str, Agent], calls: dict[str, Call]
    ) -> Queue:
        """One GetQueueRealTime answer: members become agents, entries waiting calls."""
        member_ids: list[str] = []
        states: list[AgentState] = []
        paused_count = 0
        for member in self._rows(answer, "members"):
            name = str(member.get("agent", "")).strip()
            if not name:
                raise PbxResponseError("Yemot (call2all) sent a queue member without a name")
            paused = _as_bool(member.get("Paused"))
            state = MEMBER_STATES.get(str(member.get("Status", "")).strip().lower())
            state = state or AgentState.UNKNOWN
            member_ids.append(name)
            states.append(state)
            paused_count += paused
            known = agents.get(name)
            queue_ids = (*known.queue_ids, path) if known else (path,)
            paused = paused or bool(known and known.paused)
            agents[name] = Agent(
                agent_id=name,
                name=name,
                state=AgentState.PAUSED if paused and state is AgentState.IDLE else state,
                extension=name,
                logged_in=state is not AgentState.UNAVAILABLE,
                paused=paused,
                queue_ids=queue_ids,
            )
        entries = self._rows(answer, "entries")
        waits: list[int] = []
        for entry in entries:
            call_id = str(entry.get("CallId", "")).strip()
            if not call_id:
                raise PbxResponseError("Yemot (call2all) sent a queue entry without CallId")
            if (wait := parse_int(entry.get("Wait"))) is not None:
                waits.append(wait)
            phone = entry.get("phone")
            calls[call_id] = Call(
                call_id=call_id,
                direction=CallDirection.INCOMING,
                state=CallState.QUEUED,
                caller=ISRAELI_NUMBERS.read(phone),
                queue_id=path,
            )
        data = answer.get("queueData")
        data = data if isinstance(data, dict) else {}
        return Queue(
            queue_id=path,
            name=path.removeprefix("ivr2:"),
            waiting_calls=len(entries),
            longest_wait=float(max(waits)) if waits else None,
            agents_logged_in=sum(s is not AgentState.UNAVAILABLE for s in states),
            agents_ready=sum(
                s is AgentState.IDLE and not agents[n].paused
                for n, s in zip(member_ids, states, strict=True)
            ),
            agents_busy=sum(s in BUSY_STATES for s in states),
            agents_paused=paused_count,
            completed=parse_int(data.get("Completed")),
            abandoned=parse_int(data.get("Abandoned")),
            member_ids=tuple(member_ids),
        )

    async def _received_sms(self) -> tuple[SmsMessage, ...]:
        answer = await self._command("GetSmsIncomingLog", {"limit": str(SMS_POLL_LIMIT)})
        messages = []
        # Yemot lists the newest first; the snapshot wants the newest last.
        for row in reversed(self._rows(answer, "rows")):
            raw = {key: str(value) for key, value in row.items() if value is not None}
            sender, recipient = row.get("phone"), row.get("dest")
            text = str(row.get("message", ""))
            # Rows carry no id: derive a stable one so repeated polls can be told apart.
            digest = hashlib.sha256(
                "\x1f".join(
                    (raw.get("server_date", ""), str(sender), str(recipient), text)
                ).encode()
            ).hexdigest()[:16]
            messages.append(
                SmsMessage(
                    sms_id=digest,
                    direction=SmsDirection.INCOMING,
                    sender=ISRAELI_NUMBERS.read(sender),
                    recipient=ISRAELI_NUMBERS.read(recipient),
                    text=text,
                    status="received",
                    timestamp=_israel_time(row.get("server_date"), "%H:%M:%S %Y-%m-%d"),
                    raw=raw,
                )
            )
        return tuple(messages)

    # --- actions ------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """CallExtensionBridging: call `number`; on answer the call enters an IVR path.

        The source is the extension path (`/1/100`); without one, the main extension.
        """
        source = request.source
        if source is not None and source.kind is not DialSourceKind.EXTENSION:
            raise PbxInvalidInput(
                f"{self.title} dials into an IVR extension path (e.g. /1/100), "
                f"not from a {source.kind.value}"
            )
        params = {
            "phones": self.format_number(request.number),
            "ivrPath": ivr_path(source.value) if source else MAIN_EXTENSION,
        }
        if request.caller_id:
            params["callerId"] = self.format_number(request.caller_id)
        if request.ring_timeout:
            params["callsTimeOut"] = str(max(1, min(request.ring_timeout, MAX_CALLS_TIMEOUT)))
        answer = await self._command("CallExtensionBridging", params, once=True)
        self._raise_if_none_placed(answer, "callsCount", "errors")
        return CallResult(_text_or_none(answer.get("campaignId")))

    async def async_announce(self, request: AnnounceRequest) -> CallResult:
        """SendTTS: call `number` and read `text` (recordings and live calls: no)."""
        if request.recording or request.call_id:
            raise PbxInvalidInput(
                f"{self.title} announces text on a new call only, not recordings or live calls"
            )
        if not request.number or not request.text:
            raise PbxInvalidInput(f"{self.title} announce needs a number and a text")
        params = {"phones": self.format_number(request.number), "ttsMessage": request.text}
        if request.voice:
            params["ttsVoice"] = request.voice
        if request.caller_id:
            params["callerId"] = self.format_number(request.caller_id)
        answer = await self._command("SendTTS", params, once=True)
        self._raise_if_none_placed(answer, "OKCalls", "ErrorCalls")
        return CallResult(_text_or_none(answer.get("CampaignId")))

    async def async_send_sms(self, request: SmsRequest) -> SmsResult:
        """SendSms to every recipient at once; Yemot gives no message ids."""
        if not request.recipients:
            raise PbxInvalidInput(f"{self.title} SMS needs at least one recipient")
        params = {
            "phones": ":".join(self.format_number(r) for r in request.recipients),
            "message": request.message,
        }
        if sender := request.sender or self._options.get(OPTION_SMS_SENDER):
            params["from"] = str(sender)
        answer = await self._command("SendSms", params, once=True)
        self._raise_if_none_placed(answer, "sendCount", "errors")
        return SmsResult(())

    def _raise_if_none_placed(self, answer: Json, count_key: str, errors_key: str) -> None:
        """A campaign answer is OK even when every number was refused: make that an error."""
        count = parse_int(answer.get(count_key))
        if count is None or count > 0:
            return
        errors = answer.get(errors_key)
        # The answer keys reasons by phone number; numbers stay out of error texts (and logs).
        reasons = (
            "; ".join(sorted({str(reason) for reason in errors.values()}))
            if isinstance(errors, dict) and errors
            else "no number was accepted"
        )
        raise PbxResponseError(self.redact(reasons))

    async def async_agent_pause(self, agent_id: str, reason: str | None = None) -> None:
        """QueueManagement pause in each queue the agent is a member of (no reasons)."""
        if reason:
            raise PbxInvalidInput(f"{self.title} has no pause reasons")
        await self._agent_action(agent_id, "pause")

    async def async_agent_unpause(self, agent_id: str) -> None:
        await self._agent_action(agent_id, "unpause")

    async def _agent_action(self, agent_id: str, action: str) -> None:
        """Pausing is per queue: send it to the agent's queues (all watched ones if unknown).

        It succeeds when any queue accepted it, since an agent seen in no snapshot yet is
        tried in queues it may not belong to.
        """
        paths: Sequence[str] = self._agent_queues.get(agent_id) or self._queue_paths
        if not paths:
            raise PbxInvalidInput(f"{self.title} needs the queue paths to pause an agent")
        failures: list[PbxResponseError] = []
        for path in paths:
            try:
                await self._command(
                    "QueueManagement",
                    json_body={"queuePath": path, "action": action, "agent": agent_id},
                )
            except PbxResponseError as err:
                failures.append(err)
        if len(failures) == len(paths):
            raise failures[0]

    async def async_queue_kick(self, queue_id: str, call_id: str) -> None:
        """QueueManagement kick: remove one waiting caller (by GetQueueRealTime CallId)."""
        answer = await self._command(
            "QueueManagement",
            json_body={"queuePath": ivr_path(queue_id), "callIds": [call_id], "action": "kick"},
        )
        status = answer.get("status")
        outcome = status.get(call_id) if isinstance(status, dict) else None
        if outcome != "OK":
            raise PbxResponseError(self.redact(str(outcome or "no status for the call")))


def _text_or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
