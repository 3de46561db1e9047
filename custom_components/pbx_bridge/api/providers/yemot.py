"""Yemot (call2all) client.

Every command is `<base>/<Command>` with a `token` parameter; we POST it as a form
(QueueManagement: as JSON, the only way it takes its arrays) so the token never travels in
a URL. Answers are JSON with HTTP 200 even on failure: `responseStatus` OK, ERROR,
FORBIDDEN or EXCEPTION with a `message` (shared/provider-docs/yemot-call2all.txt = Y).

The token is a session token from the *pub* `Login?username=&password=` command (the
system number and its password), or, for entries made before, `<system number>:<password>`
itself. A public client shows the answers this file reads (github.com search "ym/api/Login",
C# HomeController comments): `{"responseStatus":"OK","token":"N1eBwpAyJ6qtuVPS",...}`,
`{"responseStatus":"FORBIDDEN","message":"user name or password do not match",...}`, and
for a dead session `{"responseStatus":"EXCEPTION","message":"IllegalStateException(session
token is invalid)"}`. A dead session token is replaced by one new `Login`, once; when that
fails too the credentials are wrong (reauth).

Push: a `type=api` extension (*pub*) calls our webhook with `ApiCallId`, `ApiPhone`,
`ApiDID`, `ApiRealDID`, `ApiExtension`, `ApiTime` and, with `api_hangup_send=yes`, once
more with `hangup=yes` (parameter names as the public `yemot-router` library reads them,
github.com/MusiCode1/yemot-router lib/call.js). Our answer is the extension's next command,
plain text: `go_to_folder=/path` (the same library's `go_to_folder` and `restart_ext`).
Received SMS and active calls are polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl
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
from ..errors import PbxAuthError, PbxInvalidInput, PbxPermissionError, PbxResponseError
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
    WebhookItem,
    WebhookReply,
    WebhookRequest,
)
from ..numbers import ISRAELI_NUMBERS

# Options: the IVR paths of the queue extensions to watch (e.g. ["ivr2:/5"]; the API cannot
# list them), and where the API extension sends a call on (default: back up one folder).
OPTION_QUEUE_PATHS = "queue_paths"
OPTION_API_RETURN_FOLDER = "api_return_folder"
CONF_SYSTEM_NUMBER = "system_number"
# What the return folder may be: an absolute IVR path, or `hangup` (end the call).
RETURN_FOLDER_PATTERN = r"hangup|/[0-9A-Za-z\u05d0-\u05ea_/-]*"

YEMOT_URL = "https://www.call2all.co.il/ym/api"
ISRAEL = ZoneInfo("Asia/Jerusalem")
SMS_POLL_LIMIT = 20
# A poll whose rows are all new asks again for twice as many, up to this many rows.
SMS_POLL_MAX_LIMIT = 320
MAX_CALLS_TIMEOUT = 35  # seconds, the documented maximum of CallExtensionBridging (Y:85)
MAX_TZINTUK_TIMEOUT = 16  # seconds, the *pub* maximum of RunTzintuk's TzintukTimeOut
MAIN_EXTENSION = "ivr2:/"
MIN_REDACTED_PASSWORD = 6
# SipGetContexts takes one account a request (Y:124-132): at most this many a poll, the
# longest unread first; the others keep what was read before.
CONTEXTS_PER_POLL = 2
# Words of the EXCEPTION messages Yemot gives for a bad or expired token.
AUTH_WORDS = ("token", "session", "authenticate", "login")
# The one SIP answer of a server without SIP (public forum post f2.freeivr.co.il/post/135629).
NO_SIP_SUPPORT = "שרת זה אינו תומך במערכת SIP"
# A SIP user name is `<system number>=<account number>` (the same forum post).
SIP_ACCOUNT_SUFFIX = re.compile(r"=(\d{1,4})$")
# API extension fields we keep (raw) and how long each may be.
API_FIELDS = ("ApiCallId", "ApiPhone", "ApiDID", "ApiRealDID", "ApiExtension", "ApiTime")
MAX_API_FIELD = 64
API_CALL_ID = re.compile(r"[0-9A-Za-z._:-]{1,64}")

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


def folder_path(path: str) -> str:
    """An IVR path as `go_to_folder` takes it: `/1/100`."""
    return "/" + path.strip().removeprefix("ivr2:").strip("/")


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


def _sms_time(value: object) -> datetime | None:
    """GetSmsIncomingLog's `server_date`, in either order of its date and time.

    Y:150 shows `22:40:54 2024-07-30`, time first, in a right-to-left paragraph whose
    text flow reverses two number runs split by a space; every other date of the page
    (Y:132, Y:140) is date first, so the server may well send `2024-07-30 22:40:54`.
    """
    return _israel_time(value, "%H:%M:%S %Y-%m-%d") or _israel_time(value, "%Y-%m-%d %H:%M:%S")


# A JSON `\uXXXX` escape written out as text.
JSON_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")


def _sms_text(value: object) -> str:
    r"""A GetSmsIncomingLog `message`, which Y:150 says "needs conversion to JSON format".

    Read as: the text may arrive JSON-escaped (`\u05e9\u05dc…` as characters), which is
    decoded; a text that does not decode as the inside of a JSON string stays as it is.
    """
    text = str(value) if value is not None else ""
    if not JSON_ESCAPE.search(text):
        return text
    try:
        decoded = json.loads(f'"{text}"', strict=False)  # newlines may stay raw
        decoded.encode()  # a lone surrogate (`\ud83d` alone) is no text
    except ValueError:  # UnicodeEncodeError is one
        return text
    return str(decoded)


def _listed_oldest_first(rows: Sequence[Mapping[str, Any]]) -> bool:
    """Y:147 asks for "the latest `limit`" SMS without saying in which order they come:
    newest first (as the simulator lists them) unless the first and last dates say not."""
    if not rows:
        return False
    first, last = (_sms_time(row.get("server_date")) for row in (rows[0], rows[-1]))
    return first is not None and last is not None and first < last


def _text_or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _epoch(value: int | None) -> datetime | None:
    """A Unix time in seconds or milliseconds (ApiTime's unit is not documented)."""
    if value is None or not 0 < value < 10**14:
        return None
    return datetime.fromtimestamp(value / 1000 if value >= 10**11 else value, UTC)


@dataclass(frozen=True, slots=True)
class _Contexts:
    """What SipGetContexts told about one account's registration."""

    user_agent: str | None = None
    contact: str | None = None
    ip: str | None = None
    port: int | None = None
    expires: datetime | None = None


def webhook_setup(url: str) -> str:
    """The `ext.ini` of a `type=api` extension that calls `url` (README: "Yemot API extension").

    `api_hangup_send=yes` reports the caller's hangup; the call, phone, DID, extension and
    time fields are sent unless turned off (`api_*_send=no`), so they are not listed.
    """
    return "\n".join(f"`{line}`" for line in ("type=api", f"api_link={url}", "api_hangup_send=yes"))


class YemotClient(PbxClient):
    """A Yemot (call2all) system, by its system number and password (or a token)."""

    declaration = ProviderDeclaration(
        # The status this client writes from GetSipAccountsRegisteredStatus `registered`.
        line_states={"registered": "registered", "unregistered": "not_registered"},
        provider="yemot",
        title="Yemot (call2all)",
        connection_fields=(
            # With the system number, `token` is its password and we log in (Login);
            # without, it is `<system number>:<password>` or a session token.
            ConnectionField(CONF_SYSTEM_NUMBER, required=False, pattern=r"\d{6,12}"),
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
                Capability.CALL_WEBHOOK,
            }
        ),
        # CallExtensionBridging: `callerId`, `callsTimeOut` (Y:85); `ring_once` is
        # RunTzintuk. SendTTS: voice, caller id, rate and repeats; SendSms: `from`.
        dial_fields=frozenset({DialField.CALLER_ID, DialField.RING_TIMEOUT, DialField.RING_ONCE}),
        announce_fields=frozenset(
            {
                AnnounceField.VOICE,
                AnnounceField.CALLER_ID,
                AnnounceField.SPEECH_RATE,
                AnnounceField.REPEAT,
            }
        ),
        sms_fields=frozenset({SmsField.SENDER}),
        options=(
            OptionField(key=OPTION_QUEUE_PATHS, kind=OptionKind.TEXT_LIST),
            OptionField(key=OPTION_API_RETURN_FOLDER, pattern=RETURN_FOLDER_PATTERN),
        ),
        # The API extension calls with GET, or with a form POST when `api_url_post=yes`.
        webhook_methods=frozenset({"GET", "POST"}),
        webhook_setup=webhook_setup,
        push_sees_every_call=False,
        redact_keys=frozenset({CONF_SYSTEM_NUMBER}),  # the account number
        # Calls are pushed only where they pass the API extension; the rest and SMS come
        # from polling, and a refresh costs a request per queue.
        poll_interval=timedelta(seconds=30),
        number_plan=ISRAELI_NUMBERS,
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
        username = self._config.get(CONF_SYSTEM_NUMBER, "").strip()
        token = self._config.get("token", "").strip()
        password = ""
        if username:  # the token field holds the password: log in for a session token
            password, token = self._config.get("token", ""), ""
        elif ":" in token:  # `<system number>:<password>`, used as the token itself
            username, _, password = token.partition(":")
        # A token given is used as it is; the credentials log in when there is none, or
        # again when the server calls the token invalid or expired.
        self._credentials = (username, password) if username and password else None
        self._token: str | None = token or None
        self._system_number = username
        self._login_lock = asyncio.Lock()
        # The password alone must not leak either; a very short one is left out, since
        # redacting it would mangle the digits of phone numbers in messages.
        if len(password) >= MIN_REDACTED_PASSWORD:
            self._secrets += (password,)
        paths = self._options.get(OPTION_QUEUE_PATHS) or ()
        if isinstance(paths, str):
            paths = paths.split(",")
        self._queue_paths = tuple(dict.fromkeys(ivr_path(p) for p in paths if str(p).strip()))
        self._return_folder = str(self._options.get(OPTION_API_RETURN_FOLDER) or "").strip()
        # Agent name -> queue paths it is a member of, from the last snapshot.
        self._agent_queues: dict[str, tuple[str, ...]] = {}
        # SIP account number -> its last read contexts, and the order to read them in.
        self._contexts: dict[str, _Contexts] = {}
        self._contexts_read: dict[str, int] = {}
        self._polls = 0
        # The ids of the received SMS the last poll listed (None before the first poll).
        self._sms_seen: set[str] | None = None

    # --- transport --------------------------------------------------------------------

    async def _command(
        self,
        command: str,
        params: Mapping[str, str] | None = None,
        *,
        json_body: Json | None = None,
        once: bool = False,
    ) -> Json:
        """Run one command and return its answer when `responseStatus` is OK.

        A session token the server calls invalid or expired is replaced by one new login
        and the command sent again: the server refused it, so it was not carried out. A
        command refused again right after Login accepted the credentials is refused for
        what it asks, not for who asks: new credentials would not help (no reauth).
        """
        token = await self._session_token()
        answer = await self._send(command, token, params, json_body, once=once)
        if self._is_auth_refusal(answer) and self._credentials:
            token = await self._session_token(refused=token)
            answer = await self._send(command, token, params, json_body, once=once)
            if self._is_auth_refusal(answer):
                message = self.redact(str(answer.get("message") or "refused"))
                raise PbxPermissionError(
                    f"{self.title} refused {command} although it accepted the login: {message}",
                    command,
                )
        return self._checked(command, answer)

    async def _send(
        self,
        command: str,
        token: str,
        params: Mapping[str, str] | None,
        json_body: Json | None,
        *,
        once: bool,
    ) -> Json:
        if json_body is not None:
            response = await self._request(
                "POST", f"/{command}", json={"token": token, **json_body}, once=once
            )
        else:
            response = await self._request(
                "POST", f"/{command}", data={"token": token, **(params or {})}, once=once
            )
        try:
            answer = read_json(response.body)
        except ValueError:
            # The forum post shows this one answer with bare keys, not as JSON.
            if NO_SIP_SUPPORT in response.text:
                return {"responseStatus": "ERROR", "message": NO_SIP_SUPPORT}
            answer = None
        if not isinstance(answer, dict):
            raise PbxResponseError(
                f"{self.title} sent an unreadable answer to {command} (HTTP {response.status})",
                str(response.status),
            )
        return answer

    @staticmethod
    def _is_auth_refusal(answer: Json) -> bool:
        status = str(answer.get("responseStatus", "")).upper()
        message = str(answer.get("message") or "").lower()
        return status == "FORBIDDEN" or (
            status == "EXCEPTION" and any(word in message for word in AUTH_WORDS)
        )

    def _checked(self, command: str, answer: Json) -> Json:
        status = str(answer.get("responseStatus", ""))
        if status == "OK":
            return answer
        message = self.redact(str(answer.get("message") or f"{command} failed"))
        if self._is_auth_refusal(answer):
            raise PbxAuthError(f"{self.title} rejected the credentials: {message}")
        raise PbxResponseError(message, status or None)

    async def _session_token(self, refused: str | None = None) -> str:
        """The token to send; a new session when there is none yet or `refused` was refused.

        Concurrent commands share one login: who waited for the lock finds the new token.
        """
        async with self._login_lock:
            if self._token is not None and self._token != refused:
                return self._token
            if self._credentials is None:
                raise PbxAuthError(f"{self.title} needs the system number and its password")
            username, password = self._credentials
            response = await self._request(
                "POST", "/Login", data={"username": username, "password": password}
            )
            try:
                answer = read_json(response.body)
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise PbxResponseError(
                    f"{self.title} sent an unreadable answer to Login (HTTP {response.status})",
                    str(response.status),
                )
            answer = self._checked("Login", answer)
            token = answer.get("token")
            if not isinstance(token, str) or not token.strip():
                raise PbxResponseError(f"{self.title} sent no session token")
            self._token = token.strip()
            self._secrets += (self._token,)
            return self._token

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
        """Check the credentials with GetSession, which every server answers (*pub*).

        Its `username` is the system number, the account's id (a bare session token does
        not tell it otherwise). The SIP commands are not asked: servers without SIP
        refuse them (forum post 135629).
        """
        answer = await self._command("GetSession")
        number = str(answer.get("username") or answer.get("name") or "").strip()
        if number:
            self._system_number = number
        if not self._system_number:
            raise PbxResponseError(f"{self.title} did not say which system this is")
        return self._account()

    def _account(self) -> AccountInfo:
        return AccountInfo(self._system_number, f"{self.title} {self._system_number}")

    async def async_fetch_snapshot(self) -> Snapshot:
        """Read everything in a bounded number of requests.

        GetSipAccountsRegisteredStatus lists every SIP account at once; SipGetContexts
        has no bulk form, so at most `CONTEXTS_PER_POLL` accounts are read a poll.
        GetQueueRealTime has no bulk form and the API cannot list queues: one request
        per queue path in the `queue_paths` option. GetIncomingCalls lists the calls in
        progress, GetSmsIncomingLog the latest received SMS.
        """
        if not self._system_number:
            await self.async_validate()  # a bare session token: learn the system number
        self._polls += 1
        registrations = await self._registrations()
        agents: dict[str, Agent] = {}
        queues: dict[str, Queue] = {}
        calls: dict[str, Call] = {}
        problems: list[ProviderProblem] = []
        for path in self._queue_paths:
            try:
                answer = await self._command("GetQueueRealTime", {"queuePath": path})
            except PbxResponseError as err:
                if err.code != "ERROR":
                    raise
                # One path the server refuses (a typo, a deleted queue) must not hide the
                # rest: skip it and let the user fix it (a repair issue names the path).
                problems.append(ProviderProblem(ProblemKind.UNKNOWN_QUEUE, path))
                continue
            queues[path] = self._read_queue(path, answer, agents, calls)
        self._agent_queues = {agent_id: agent.queue_ids for agent_id, agent in agents.items()}
        calls = await self._incoming_calls(calls, problems)
        return Snapshot(
            account=self._account(),
            agents=agents,
            queues=queues,
            registrations=registrations,
            calls=calls,
            received_sms=await self._received_sms(),
            problems=tuple(problems),
            complete=frozenset({Listing.REGISTRATIONS}),
        )

    async def _registrations(self) -> dict[str, SipRegistration]:
        """Every SIP account; a server without SIP has none (not an error)."""
        try:
            answer = await self._command("GetSipAccountsRegisteredStatus")
        except PbxResponseError as err:
            if NO_SIP_SUPPORT in str(err):
                return {}
            raise
        accounts = self._rows(answer, "accounts")
        registered: dict[str, bool] = {}
        for account in accounts:
            user = str(account.get("userName", "")).strip()
            if not user:
                raise PbxResponseError("Yemot (call2all) sent a SIP account without userName")
            registered[user] = _as_bool(account.get("registered"))
        numbers = self._account_numbers(list(registered))
        await self._read_contexts(
            [numbers[user] for user, is_on in registered.items() if is_on and user in numbers]
        )
        registrations: dict[str, SipRegistration] = {}
        for user, is_on in registered.items():
            contexts = self._contexts.get(numbers.get(user, ""), _Contexts()) if is_on else None
            contexts = contexts or _Contexts()
            registrations[user] = SipRegistration(
                registration_id=user,
                name=user,
                kind=SipKind.EXTENSION,
                registered=is_on,
                status="registered" if is_on else "unregistered",
                user_agent=contexts.user_agent,
                contact=contexts.contact,
                ip=contexts.ip,
                port=contexts.port,
                expires=contexts.expires,
            )
        return registrations

    @staticmethod
    def _account_numbers(users: Sequence[str]) -> dict[str, str]:
        """SIP user name -> account number, from the `=N` suffix of the name.

        A single account without a suffix (the documented example, Y:140) is the first
        one, which SipGetContexts answers without `accountNumber` (Y:128); among several,
        an account without a suffix cannot be told apart and gets no contexts.
        """
        numbers = {
            user: match.group(1) for user in users if (match := SIP_ACCOUNT_SUFFIX.search(user))
        }
        if len(users) == 1 and not numbers:
            numbers[users[0]] = ""
        return numbers

    async def _read_contexts(self, account_numbers: list[str]) -> None:
        """Read the contexts of the registered accounts read longest ago, a few a poll."""
        wanted = set(account_numbers)
        for stale in set(self._contexts) - wanted:  # unregistered or gone: forget
            del self._contexts[stale]
        for stale in set(self._contexts_read) - wanted:
            del self._contexts_read[stale]
        due = sorted(account_numbers, key=lambda number: self._contexts_read.get(number, -1))
        for number in due[:CONTEXTS_PER_POLL]:
            params = {"accountNumber": number} if number else {}
            self._contexts_read[number] = self._polls
            try:
                answer = await self._command("SipGetContexts", params)
            except PbxResponseError as err:
                if err.code != "ERROR":
                    raise
                # The account number is read from the user name (no documented link): one
                # the server does not know costs its user agent and contact, not the refresh.
                self._contexts.pop(number, None)
                continue
            contexts = [
                _Contexts(
                    user_agent=_text_or_none(context.get("user_agent")),
                    contact=_text_or_none(context.get("uri")),
                    ip=_text_or_none(context.get("via_addr")),
                    port=parse_int(context.get("via_port")),
                    expires=_israel_time(context.get("expiration_time"), "%Y-%m-%d %H:%M:%S"),
                )
                for context in self._rows(answer, "contexts")
            ]
            if not contexts:
                self._contexts.pop(number, None)
                continue
            # "There should not be more than one active registration" (Y:131), in no stated
            # order: the one that expires last is the live one (keep-alives extend it, Y:132).
            self._contexts[number] = max(
                reversed(contexts), key=lambda c: c.expires or datetime.min.replace(tzinfo=UTC)
            )

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
            calls[call_id] = Call(
                call_id=call_id,
                direction=CallDirection.INCOMING,
                state=CallState.QUEUED,
                caller=ISRAELI_NUMBERS.read(entry.get("phone")),
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

    async def _incoming_calls(
        self, queued: dict[str, Call], problems: list[ProviderProblem]
    ) -> dict[str, Call]:
        """The calls in progress (*pub* GetIncomingCalls), with what the queues told.

        Each row is `{did, callerIdNum, duration, transferFrom, id, path}`; a caller
        waiting in a watched queue keeps the queue's state. A server that refuses the
        command (it is not in the provider's documentation) leaves the queued calls only.
        """
        try:
            answer = await self._command("GetIncomingCalls")
        except PbxResponseError:
            return queued
        except PbxPermissionError:
            # Refused after a login that worked: the account lacks the right. The rest of
            # the refresh stands; a repair issue tells the user.
            problems.append(ProviderProblem(ProblemKind.MISSING_PERMISSION, "GetIncomingCalls"))
            return queued
        calls: dict[str, Call] = {}
        now = datetime.now(UTC)
        for row in self._rows(answer, "calls"):
            call_id = str(row.get("id", "")).strip()
            if not call_id:
                raise PbxResponseError("Yemot (call2all) sent a call without id")
            duration = parse_int(row.get("duration"))
            path = _text_or_none(row.get("path"))
            waiting = queued.pop(call_id, None)
            queue_path = ivr_path(path) if path else None
            calls[call_id] = Call(
                call_id=call_id,
                direction=CallDirection.INCOMING,
                state=waiting.state if waiting else CallState.ANSWERED,
                caller=ISRAELI_NUMBERS.read(row.get("callerIdNum")),
                callee=ISRAELI_NUMBERS.read(row.get("did")),
                queue_id=waiting.queue_id
                if waiting
                else (queue_path if queue_path in self._queue_paths else None),
                started=now - timedelta(seconds=duration) if duration is not None else None,
            )
        return calls | queued  # queued callers the call list missed stay

    async def _received_sms(self) -> tuple[SmsMessage, ...]:
        """The latest received SMS, oldest first; more than the usual page when all are new.

        The rows have no id (Y:150): a message is known by its time, numbers and text,
        and the n-th of identical rows (same second) by its place among them.
        """
        limit = SMS_POLL_LIMIT
        while True:
            answer = await self._command("GetSmsIncomingLog", {"limit": str(limit)})
            rows = self._rows(answer, "rows")
            messages = self._sms_messages(rows)
            ids = {message.sms_id for message in messages if message.sms_id}
            seen = self._sms_seen
            if seen is None or len(rows) < limit or ids & seen or limit >= SMS_POLL_MAX_LIMIT:
                break
            limit *= 2  # every row is new: more arrived since the last poll than we read
        self._sms_seen = ids
        return messages

    @staticmethod
    def _sms_messages(rows: list[Json]) -> tuple[SmsMessage, ...]:
        messages = []
        occurrences: dict[str, int] = {}
        # The snapshot wants the newest last.
        for row in rows if _listed_oldest_first(rows) else reversed(rows):
            raw = {key: str(value) for key, value in row.items() if value is not None}
            sender, recipient = row.get("phone"), row.get("dest")
            text = _sms_text(row.get("message"))
            key = "\x1f".join((raw.get("server_date", ""), str(sender), str(recipient), text))
            occurrence = occurrences.get(key, 0)
            occurrences[key] = occurrence + 1
            digest = hashlib.sha256(f"{key}\x1f{occurrence}".encode()).hexdigest()[:16]
            messages.append(
                SmsMessage(
                    sms_id=digest,
                    direction=SmsDirection.INCOMING,
                    sender=ISRAELI_NUMBERS.read(sender),
                    recipient=ISRAELI_NUMBERS.read(recipient),
                    text=text,
                    status="received",
                    timestamp=_sms_time(row.get("server_date")),
                    raw=raw,
                )
            )
        return tuple(messages)

    # --- actions ------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """CallExtensionBridging: call `number`; on answer the call enters an IVR path.

        The source is the extension path (`/1/100`); without one, the main extension.
        `ring_once` rings the number briefly instead (RunTzintuk).
        """
        if request.ring_once:
            return await self._ring_once(request)
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
            if request.ring_timeout > MAX_CALLS_TIMEOUT:
                # Refused, not cut short: the call would ring less long than asked.
                raise PbxInvalidInput(
                    f"{self.title} rings a number for at most {MAX_CALLS_TIMEOUT} seconds"
                )
            params["callsTimeOut"] = str(request.ring_timeout)
        answer = await self._command("CallExtensionBridging", params, once=True)
        self._raise_if_none_placed(answer, "callsCount", "errors")
        return CallResult(_text_or_none(answer.get("campaignId")))

    async def _ring_once(self, request: DialRequest) -> CallResult:
        """RunTzintuk (*pub*): ring `number` and hang up before it can be answered."""
        if request.source is not None:
            raise PbxInvalidInput(f"{self.title} rings a number once from no source")
        if request.ring_timeout and request.ring_timeout > MAX_TZINTUK_TIMEOUT:
            raise PbxInvalidInput(
                f"{self.title} rings a number once for at most {MAX_TZINTUK_TIMEOUT} seconds"
            )
        params = {"phones": self.format_number(request.number)}
        if request.caller_id:
            params["callerId"] = self.format_number(request.caller_id)
        if request.ring_timeout:
            params["TzintukTimeOut"] = str(request.ring_timeout)  # capital T, as documented
        answer = await self._command("RunTzintuk", params, once=True)
        self._raise_if_none_placed(answer, "callsCount", "errors")
        return CallResult(_text_or_none(answer.get("campaignId")))

    async def async_announce(self, request: AnnounceRequest) -> CallResult:
        """SendTTS (*pub*): call `number` and read `text` (recordings, live calls: no).

        `ttsRate` runs from -10 (slowest) to 10, `repeatFile` is how many times the text
        is played (the provider's default: twice).
        """
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
        if request.speech_rate is not None:
            params["ttsRate"] = str(request.speech_rate)
        if request.repeat is not None:
            params["repeatFile"] = str(request.repeat)
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
        tried in queues it may not belong to. Each queue's request goes out once.
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
                    once=True,
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
            once=True,
        )
        status = answer.get("status")
        outcome = status.get(call_id) if isinstance(status, dict) else None
        if outcome != "OK":
            raise PbxResponseError(self.redact(str(outcome or "no status for the call")))

    # --- the API extension (push) -------------------------------------------------------

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookItem]:
        """One request of a `type=api` extension: a call arrived, or (`hangup=yes`) ended.

        The fields come in the query (GET) or as a form (`api_url_post=yes`).
        """
        fields = dict(request.query)
        if request.method == "POST" and request.body:
            try:
                fields.update(parse_qsl(request.body.decode(), strict_parsing=True))
            except (UnicodeDecodeError, ValueError) as err:
                raise PbxInvalidInput("Yemot API extension sent an unreadable form") from err
        call_id = fields.get("ApiCallId", "")
        if not API_CALL_ID.fullmatch(call_id):
            raise PbxInvalidInput("Yemot API extension request without a valid ApiCallId")
        raw = {key: fields[key] for key in API_FIELDS if key in fields}
        if any(len(value) > MAX_API_FIELD for value in raw.values()):
            raise PbxInvalidInput("Yemot API extension sent a field that is too long")
        hangup = fields.get("hangup", "").lower() == "yes"
        if hangup:
            raw["hangup"] = "yes"
        moment = parse_int(fields.get("ApiTime"))
        event = CallEvent(
            event_type=CallEventType.HANGUP if hangup else CallEventType.INCOMING,
            call_id=call_id,
            direction=CallDirection.INCOMING,
            caller=ISRAELI_NUMBERS.read(fields.get("ApiPhone")),
            callee=ISRAELI_NUMBERS.read(fields.get("ApiRealDID") or fields.get("ApiDID")),
            timestamp=_epoch(moment),
            raw=raw,
        )
        if hangup:
            return [event]
        # A call in an extension is one the IVR answered (GetIncomingCalls lists it so too):
        # its hangup is no missed call.
        return [event, replace(event, event_type=CallEventType.ANSWERED)]

    def webhook_reply(
        self, request: WebhookRequest, items: list[WebhookItem]
    ) -> WebhookReply | None:
        """The API extension's next command: go on to the folder the options name.

        Without one, back up one folder from the extension (`ApiExtension` `5/1` ->
        `/5`); the main extension has no folder above it, so the call there ends
        (`go_to_folder=hangup`) instead of entering the extension again for ever. A
        `hangup=yes` request needs no answer.
        """
        event = next((item for item in items if isinstance(item, CallEvent)), None)
        if event is None or event.event_type is CallEventType.HANGUP:
            return None
        folder = self._return_folder
        if not folder or not re.fullmatch(RETURN_FOLDER_PATTERN, folder):
            extension = event.raw.get("ApiExtension", "").removeprefix("ivr2:").strip("/")
            parent = extension.rpartition("/")[0] if extension else None
            folder = "hangup" if parent is None else folder_path(parent)
        return WebhookReply(f"go_to_folder={folder}")
