"""Telfa client.

Telfa is a REST API under the account's own host (`https://telfa.cz`, `https://www4.telfa.cz`
…): paths end in `.json` or `.xml`, the `api_key` travels in the `api_key` header (never in
a URL), request bodies are JSON or XML with the matching Content-Type. We read JSON where
Telfa offers it and XML where it offers nothing else (active calls, click-to-call, operator
login): Rails' typed XML (dashed names, `type="integer"`, `nil="true"`) and its untyped
underscore form for calls. Dates come as `2014-02-24T10:44:49Z`, `2009-10-11T13:41:59+02:00`,
`2014/06/16 23:41:08 +0000`, `2009/10/11 13:41:59+02:00` and, zoneless, Prague local time.

Call hooks arrive as XML POSTs and received SMS as a JSON POST, to URLs set per number;
where Telfa cannot reach the webhook, received SMS can be polled from `/sms.json` instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import chain, islice
import logging
import re
import time
from typing import Any, NamedTuple, cast
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from ..client import (
    REDACTED,
    HttpResponse,
    PbxClient,
    parse_int,
    read_json,
)
from ..declaration import (
    OPTION_SMS_SENDER,
    OPTION_WEBHOOK_TARGETS,
    ConnectionField,
    OptionField,
    OptionKind,
    ProviderDeclaration,
)
from ..errors import PbxError, PbxInvalidInput, PbxResponseError
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
    HangupRequest,
    HangupTargetKind,
    Listing,
    ProblemKind,
    ProviderProblem,
    Queue,
    SmsDirection,
    SmsField,
    SmsMessage,
    SmsRequest,
    SmsResult,
    Snapshot,
    TransferRequest,
    WebhookItem,
    WebhookRequest,
)
from ..numbers import CZECH_NUMBERS

_LOGGER = logging.getLogger(__name__)

# Options: the number ids whose hooks we register on (default: every number of the account),
# how click-to-call reaches the user ("voip", "mobile" or "both"; default: VoIP first), and
# whether received SMS are read from /sms.json (for a webhook Telfa cannot reach).
OPTION_HOOK_NUMBERS = OPTION_WEBHOOK_TARGETS
OPTION_DIAL_METHOD = "dial_method"
OPTION_SMS_POLLING = "sms_polling"

TELFA_URL = "https://telfa.cz"

PRAGUE = ZoneInfo("Europe/Prague")
HOOK_NAMES = (
    "incoming_hook",
    "group_hook",
    "ring_hook",
    "transfer_hook",
    "outgoing_hook",
    "hangup_hook",
    "sms_hook",
)
DIAL_METHODS = ("voip", "mobile", "both")
VOICES = {"jan": "0", "alena": "1", "radka": "2", "iva": "3", "standa": "4"}
CALLS_PER_PAGE = 2000  # the documented maximum of per_page (calls and SMS)
MAX_CALL_PAGES = 5  # a day with more than 10,000 calls is counted from its first 10,000
RECIPES_PER_PAGE = 30  # recipes.json pages are fixed at 30
MAX_RECIPE_PAGES = 100
HOOK_EVENTS = {
    "incoming_hook": CallEventType.INCOMING,
    "ring_hook": CallEventType.RINGING,
    # "when the operator picks up" (T:1065): an answer, not a transfer.
    "transfer_hook": CallEventType.ANSWERED,
    "group_hook": CallEventType.QUEUED,
    "outgoing_hook": CallEventType.OUTGOING,
    "hangup_hook": CallEventType.HANGUP,
}
HOOK_TIME_FIELDS = {
    "incoming_hook": "start",
    "ring_hook": "ring_start_at",
    "transfer_hook": "answered_at",
    "group_hook": "group_start_at",
    "outgoing_hook": "start",
    "hangup_hook": "hungup_at",
}
HOOK_AGENT_FIELDS = {
    "ring_hook": "transferred_to",
    "transfer_hook": "answered_by_login",
    "hangup_hook": "answered_by_user",
}
_TIME = re.compile(
    r"(\d{4})[-/](\d\d)[-/](\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?(?:\.\d+)?"
    r"\s*(Z|[+-]\d\d:?\d\d)?"
)
_PHONE = re.compile(r"\+?\d{3,16}")
# Telfa logins look like host names (`marek.telfa.cz`); a hidden caller is empty or a word.
_LOGIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
# The documented SMS error codes (T:743-750) with a message of their own; OTHER_ERROR (500)
# is Telfa's refusal in its own words.
SMS_ERROR_KEYS = {
    "400": "sms_invalid_recipient",
    "413": "sms_too_long",
    "550": "sms_limit_or_sim",
    "900": "sms_gateway_error",
    "901": "sms_empty_recipient",
    "902": "sms_invalid_sender",
}
# Hooks name agents by login, which the user list lacks (T:314-338): each poll reads the
# details (T:345-384) of this many users whose login it does not know yet, one at a time,
# so that a poll's requests stay bounded however large the account (a learning poll costs
# 10 more than an ordinary one; at one poll a minute, 600 users are learned an hour).
LOGINS_LEARNED_PER_POLL = 10
# A user whose details Telfa refused (or sent without a login) is tried again this much
# later, after the others; after a failure of the connection, at the next poll.
LOGIN_RETRY_SECONDS = 15 * 60
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Telfa's documents are a few levels deep; deeper ones are refused before they are read
# (recursively) into records.
MAX_XML_DEPTH = 16

type Json = dict[str, Any]


# --- reading Telfa's formats -----------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    """Any of Telfa's date formats; zoneless ones are Prague time. None if unreadable."""
    if not isinstance(value, str) or not (match := _TIME.fullmatch(value.strip())):
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        if zone is None:
            tzinfo: timezone | ZoneInfo = PRAGUE
        elif zone == "Z":
            tzinfo = UTC
        else:
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tzinfo = timezone(-offset if zone[0] == "-" else offset)  # ValueError: >= 24 h
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), 0, tzinfo
        )
    except ValueError:
        return None


def _is_phone(value: str | None) -> bool:
    return value is not None and _PHONE.fullmatch(value) is not None


def _is_login(value: str | None) -> bool:
    return value is not None and _LOGIN.fullmatch(value) is not None


class TelfaNumber(NamedTuple):
    """A number of the account, as the call plans list it (T:916-926)."""

    number: str
    gsm_gateway: bool  # a SIM card in Telfa's GSM gateway: it can send SMS


XML_CHUNK = 8192  # parse in pieces so that the depth limit stops a hostile body early


def safe_xml(body: bytes) -> ET.Element:
    """Parse XML that has no DTD (so no entity can expand); ValueError if it cannot.

    A body larger than `XML_CHUNK` has its depth checked while it is parsed, so a deeply
    nested one is refused before its tree is built. A smaller one (a hook, most answers)
    is built at once, in C, and checked after: its tree cannot be large.
    """
    text = body.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if _DTD.search(text):
        raise ValueError("XML with a DTD is refused")
    text = text.lstrip("\ufeff")
    root = _small_xml(text) if len(text) <= XML_CHUNK else _large_xml(text)
    if root is None:
        raise ValueError("empty XML")
    return root


def _small_xml(text: str) -> ET.Element:
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD, so no entity to expand
    except ET.ParseError as err:
        raise ValueError("malformed XML") from err
    level = [root]
    for _ in range(MAX_XML_DEPTH):
        level = [child for element in level for child in element]
        if not level:
            return root
    raise ValueError("XML nested too deeply")


def _large_xml(text: str) -> ET.Element | None:
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    depth = 0
    root: ET.Element | None = None
    chunks = [text[start : start + XML_CHUNK] for start in range(0, len(text), XML_CHUNK)]
    try:
        for chunk in [*chunks, None]:
            if chunk is None:
                parser.close()
            else:
                parser.feed(chunk)
            # Only "start" and "end" were asked for: each event is (kind, element).
            events = cast("Iterator[tuple[str, ET.Element]]", parser.read_events())
            for kind, element in events:
                depth += 1 if kind == "start" else -1
                if depth > MAX_XML_DEPTH:
                    raise ValueError("XML nested too deeply")
                if root is None:
                    root = element
    except ET.ParseError as err:
        raise ValueError("malformed XML") from err
    return root


def xml_value(element: ET.Element) -> Any:
    """A Rails XML element's value: typed by its `type`, None for `nil="true"` or empty."""
    if element.get("nil") == "true":
        return None
    kind = element.get("type")
    if kind == "array":
        return [xml_fields(child) for child in element]
    if len(element):
        return xml_fields(element)
    text = (element.text or "").strip()
    if not text:
        return None
    match kind:
        case "integer":
            number = parse_int(text)
            return text if number is None else number
        case "boolean":
            return text == "true"
        case "datetime":
            return parse_time(text)
        case _:
            return text


def xml_fields(element: ET.Element) -> Json:
    """An XML record as a dict with underscore keys (`presence-changed-at` -> `…_at`)."""
    return {child.tag.replace("-", "_"): xml_value(child) for child in element}


def xml_records(root: ET.Element) -> list[Json]:
    """The records of an XML array; `<nil-classes type="array"/>` is Rails' empty one."""
    return [xml_fields(child) for child in root]


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _answered_at(row: Json) -> object:
    """When a call was answered: `answered_at`, else when it was bridged to someone."""
    return row.get("answered_at") or row.get("bridge_start_at")


def _id(value: object) -> str | None:
    """Ids come as integers, strings or XML text; booleans are never ids."""
    return None if isinstance(value, bool) else _text(value)


def webhook_setup(url: str) -> str:
    """The hook fields of a number that get the webhook URL (docs: "Čísla a jejich webhooky")."""
    return "\n".join(f"`{hook}_url`: `{url}`" for hook in HOOK_NAMES)


class TelfaClient(PbxClient):
    """A Telfa account, by an `api_key` of one of its users."""

    declaration = ProviderDeclaration(
        # Calls start from a user (login or id: the agent id).
        agent_dial_source=DialSourceKind.USER,
        provider="telfa",
        title="Telfa",
        connection_fields=(
            ConnectionField("api_key", secret=True),
            ConnectionField("base_url", required=False, is_url=True, default=TELFA_URL),
        ),
        capabilities=frozenset(
            {
                Capability.AGENTS,
                Capability.AGENT_LOGIN,
                Capability.QUEUES,
                Capability.ACTIVE_CALLS,
                Capability.MISSED_CALLS,
                Capability.DIAL,
                Capability.HANGUP,
                Capability.TRANSFER,
                Capability.ANNOUNCE,
                Capability.SEND_SMS,
                Capability.CALL_WEBHOOK,
                Capability.SMS_WEBHOOK,
                Capability.REGISTER_WEBHOOK,
            }
        ),
        # Click-to-call takes `auto_answer` (T:87-95), the outbound number and ring time
        # are the user's own; announce reads a text in a voice (T:110-117) or plays a
        # recording, also into a live call (T:124-134).
        dial_fields=frozenset({DialField.AUTO_ANSWER}),
        announce_fields=frozenset(
            {AnnounceField.VOICE, AnnounceField.RECORDING, AnnounceField.CALL_ID}
        ),
        sms_fields=frozenset({SmsField.SENDER}),
        options=(
            OptionField(key=OPTION_HOOK_NUMBERS, kind=OptionKind.WEBHOOK_TARGETS, pattern="[0-9]+"),
            OptionField(key=OPTION_DIAL_METHOD, kind=OptionKind.CHOICE, choices=DIAL_METHODS),
            OptionField(key=OPTION_SMS_POLLING, kind=OptionKind.BOOLEAN, default=False),
        ),
        webhook_methods=frozenset({"POST"}),
        webhook_setup=webhook_setup,
        number_plan=CZECH_NUMBERS,
        # Calls and SMS are pushed; a refresh costs a request per call group.
        poll_interval=timedelta(seconds=60),
    )
    default_base_url = TELFA_URL

    _account: AccountInfo | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._poll_sms = bool(self._options.get(OPTION_SMS_POLLING))
        self._unreadable_groups: set[str] = set()
        # Logins learned from user details, by user id and back: only of listed users.
        self._logins: dict[str, str] = {}
        self._user_ids_by_login: dict[str, str] = {}
        # Users whose details could not be read -> (when, monotonic; whether Telfa refused
        # them), the oldest failure first.
        self._unreadable_details: dict[str, tuple[float, bool]] = {}

    def supports(self, capability: Capability) -> bool:
        """Received SMS are polled only where the user turned that on."""
        if capability is Capability.SMS_POLLING:
            return self._poll_sms
        return super().supports(capability)

    # --- transport --------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Json | None = None,
        xml_body: ET.Element | None = None,
        once: bool = False,
        sms: bool = False,
        conceal: str | None = None,
    ) -> HttpResponse:
        """Send one request with the key in its header; raise Telfa's refusals.

        `sms`: the answer may hold an SMS refusal (`error_code`, T:716-750) whatever its
        status, which is undocumented: a 2xx, a 4xx or a 5xx. It is read first.
        `conceal`: a text of the request (our webhook URL) that a refusal may quote back
        and that must not reach the error.
        """
        headers = {"api_key": self._config.get("api_key", "")}
        data: str | None = None
        if xml_body is not None:
            headers["Content-Type"] = "application/xml"
            data = ET.tostring(xml_body, encoding="unicode")
        response = await self._request(
            method,
            path,
            params=params,
            headers=headers,
            data=data,
            json=json_body,
            once=once,
            check_status=not sms,
        )
        if sms:
            if (refusal := self._sms_refusal(response)) is not None:
                raise refusal
            self._raise_for_status(response, once=once)
        if 300 <= response.status < 400:
            raise PbxResponseError(
                f"{self.title} redirected the request: check the account's base URL "
                f"(HTTP {response.status})",
                str(response.status),
            )
        if response.status >= 400:
            raise self._refusal(response, conceal)
        return response

    def _refusal(self, response: HttpResponse, conceal: str | None = None) -> PbxResponseError:
        """Telfa's error body (`errors`, or the SMS `error_code`/`error_text`) as an error."""
        fields: Json = {}
        try:
            if response.body.lstrip().startswith(b"<"):
                root = safe_xml(response.body)
                fields = {"errors": [e.text or "" for e in root.iter("error") if len(e) == 0]}
                fields |= {child.tag: child.text for child in root}
            else:
                data = read_json(response.body)
                # PUT /numbers answers 422 with "a list of errors" (T:1168).
                fields = data if isinstance(data, dict) else {"errors": data}
        except ValueError:
            pass
        code = _text(fields.get("error_code")) or str(response.status)
        message = _text(fields.get("error_text"))
        errors = fields.get("errors")
        if message is None and isinstance(errors, list) and errors:
            message = "; ".join(str(error) for error in errors)
        message = message or _text(fields.get("error"))
        message = message or f"{self.title} refused the request (HTTP {response.status})"
        if conceal:
            message = message.replace(conceal, REDACTED)
        return PbxResponseError(self.redact(message), code)

    def _sms_refusal(self, response: HttpResponse) -> PbxResponseError | None:
        """The `error_code`/`error_text` of an SMS answer (JSON or XML), or None."""
        try:
            if response.body.lstrip().startswith(b"<"):
                root = safe_xml(response.body)
                fields: Json = {e.tag: e.text for e in root.iter() if len(e) == 0}
            else:
                data = read_json(response.body) if response.body.strip() else None
                fields = data if isinstance(data, dict) else {}
        except ValueError:
            return None
        if (code := _text(fields.get("error_code"))) is None:
            return None
        reason = _text(fields.get("error_text")) or f"{self.title} refused the SMS"
        refusal = PbxResponseError(self.redact(reason), code)
        refusal.translation_key = SMS_ERROR_KEYS.get(code)
        return refusal

    def _json(self, response: HttpResponse) -> Any:
        try:
            return read_json(response.body)
        except ValueError:
            raise PbxResponseError(
                f"{self.title} sent an unreadable JSON answer (HTTP {response.status})"
            ) from None

    def _json_rows(self, response: HttpResponse) -> list[Json]:
        """A JSON list of objects; a lone object (as some documented examples show) is one."""
        data = self._json(response)
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise PbxResponseError(f"{self.title} sent a JSON answer that is not a list")
        return data

    def _json_object(self, response: HttpResponse) -> Json:
        data = self._json(response)
        if not isinstance(data, dict):
            raise PbxResponseError(f"{self.title} sent a JSON answer that is not an object")
        return data

    def _xml(self, response: HttpResponse) -> ET.Element:
        try:
            return safe_xml(response.body)
        except ValueError:
            raise PbxResponseError(
                f"{self.title} sent an unreadable XML answer (HTTP {response.status})"
            ) from None

    def _user_detail(self, response: HttpResponse) -> Json:
        """A user's details from the XML, the only form whose shape the docs show (T:355-384)."""
        root = self._xml(response)
        if root.tag != "telfa-user":
            raise PbxResponseError(f"{self.title} sent malformed user details")
        return xml_fields(root)

    # --- account and snapshot -----------------------------------------------------------

    async def async_validate(self) -> AccountInfo:
        """Read the users (checks the key), then one user's `user_id`: the account's id."""
        if not self._config.get("api_key", "").strip():
            raise PbxInvalidInput(f"{self.title} needs an API key")
        users = self._json_rows(await self._call("GET", "/telfa_users/status.json"))
        return await self._read_account(users)

    def resolve_webhook_items(
        self, items: list[WebhookItem], snapshot: Snapshot | None
    ) -> list[WebhookItem]:
        """Hooks name the agent by login (T:1049-1116), agents are keyed by user id: the
        polls learned which login is whose. An unknown login (an external number, a deleted
        user, a login not learned yet) stays as the hook said it; nothing is asked."""
        return [
            replace(item, agent_id=user_id)
            if isinstance(item, CallEvent)
            and item.agent_id
            and (user_id := self._user_ids_by_login.get(item.agent_id))
            else item
            for item in items
        ]

    def _learn_login(self, detail: Json) -> bool:
        """Remember the login of a user's details (T:355-384); False if they have none."""
        user_id, login = _id(detail.get("id")), _text(detail.get("login"))
        if user_id is None or login is None:
            return False
        self._forget_login(user_id)
        self._logins[user_id] = login
        self._user_ids_by_login[login] = user_id  # a login given anew is its new user's
        self._unreadable_details.pop(user_id, None)
        return True

    def _forget_login(self, user_id: str) -> None:
        login = self._logins.pop(user_id, None)
        if login is not None and self._user_ids_by_login.get(login) == user_id:
            del self._user_ids_by_login[login]

    async def _learn_logins(self, users: list[Json]) -> None:
        """Read the details of up to `LOGINS_LEARNED_PER_POLL` listed users whose login is
        not known: those never tried first, then those whose details failed longest ago,
        so that no user blocks the others. Users no longer listed are forgotten.

        Never fails: a user whose details Telfa refuses is tried again after
        `LOGIN_RETRY_SECONDS`; a failure of the connection ends the round, and that user
        is tried again at the next poll, after the others.
        """
        listed = dict.fromkeys(user_id for user in users if (user_id := _id(user.get("id"))))
        for user_id in [u for u in self._logins if u not in listed]:
            self._forget_login(user_id)
        for user_id in [u for u in self._unreadable_details if u not in listed]:
            del self._unreadable_details[user_id]
        now = time.monotonic()
        untried = (u for u in listed if u not in self._logins and u not in self._unreadable_details)
        due = (
            user_id
            for user_id, (failed_at, refused) in self._unreadable_details.items()
            if not refused or now - failed_at >= LOGIN_RETRY_SECONDS
        )
        for user_id in list(islice(chain(untried, due), LOGINS_LEARNED_PER_POLL)):
            try:
                detail = await self._user_by_id(user_id)
            except PbxResponseError as err:  # refused or malformed: this user's
                self._details_unreadable(user_id, err, refused=True)
                continue
            except PbxError as err:  # unreachable, rate limited, no right: ask no more now
                self._details_unreadable(user_id, err, refused=False)
                break
            if not self._learn_login(detail) or user_id not in self._logins:
                self._details_unreadable(user_id, "no login", refused=True)

    def _details_unreadable(self, user_id: str, reason: object, *, refused: bool) -> None:
        _LOGGER.debug("%s user %s details unreadable: %s", self.title, user_id, reason)
        self._unreadable_details.pop(user_id, None)  # to the back: the others go first
        self._unreadable_details[user_id] = (time.monotonic(), refused)

    async def _user_by_id(self, user_id: str) -> Json:
        return self._user_detail(
            await self._call("GET", "/telfa_users/user_by_id.xml", params={"id": user_id})
        )

    async def _read_account(self, users: list[Json]) -> AccountInfo:
        ids = [user_id for user in users if (user_id := _id(user.get("id")))]
        if not ids:
            raise PbxResponseError(f"{self.title} lists no users for this API key")
        detail = await self._user_by_id(ids[0])
        self._learn_login(detail)
        account_id = _id(detail.get("user_id"))
        if account_id is None:
            raise PbxResponseError(f"{self.title} sent a user without its account (user_id)")
        self._account = AccountInfo(account_id, f"Telfa {account_id}")
        return self._account

    async def async_fetch_snapshot(self) -> Snapshot:
        """Users, groups, active calls and today's calls in 4 requests + 1 per call group.

        Telfa has no bulk endpoint for group members: `/call_groups/<id>.xml` is read for
        each group, whatever the number of users, calls or numbers (the XML, because the
        documented JSON of it is malformed, T:507-509). Today's calls come in pages of 2000
        (the documented maximum), so a day over 2000 calls costs more. The first snapshot
        also reads one user's details for the account id; polled SMS cost one request more.
        Until every listed user's login is known (hooks name agents by it), a snapshot also
        reads the details of up to `LOGINS_LEARNED_PER_POLL` users (`_learn_logins`).

        A group whose details cannot be read is left out (and reported in `problems`); the
        users list every user of the account (T:318), so agents are listed in full.
        """
        users = self._json_rows(await self._call("GET", "/telfa_users/status.json"))
        account = self._account or await self._read_account(users)
        groups = self._json_rows(await self._call("GET", "/call_groups.json"))
        members: dict[str, list[str]] = {}
        listed: dict[str, Json] = {}
        problems: list[ProviderProblem] = []
        for group in groups:
            group_id = _id(group.get("id"))
            if group_id is None:
                raise PbxResponseError(f"{self.title} sent a call group without an id")
            listed[group_id] = group
            try:
                members[group_id] = await self._group_members(group_id)
            except PbxResponseError as err:
                name = _text(group.get("name")) or group_id
                problems.append(ProviderProblem(ProblemKind.UNKNOWN_QUEUE, name))
                if group_id not in self._unreadable_groups:
                    self._unreadable_groups.add(group_id)
                    _LOGGER.warning(
                        "%s call group %s cannot be read and is left out: %s", self.title, name, err
                    )
                continue
            self._unreadable_groups.discard(group_id)
        active = xml_records(self._xml(await self._call("GET", "/calls/all_current.xml")))
        today = await self._todays_rows("/calls.json", {})
        received = await self._received_sms() if self._poll_sms else ()
        await self._learn_logins(users)
        agents = self._agents(users, members)
        calls = {
            call.call_id: call
            for row in active
            if (call := self._call_of(row)) and call.state is not CallState.ENDED
        }
        queues = {
            group_id: self._queue(
                group_id,
                group=listed[group_id],
                member_ids=member_ids,
                agents=agents,
                active=active,
                today=today,
            )
            for group_id, member_ids in members.items()
        }
        inbound = [row for row in today if _flag(row.get("inbound"))]
        missed = [row for row in inbound if row.get("hungup_at") and not _answered_at(row)]
        newest = max(inbound, key=lambda row: parse_int(row.get("id")) or 0, default=None)
        return Snapshot(
            account=account,
            agents=agents,
            queues=queues,
            calls=calls,
            missed_calls_today=len(missed),
            last_caller=CZECH_NUMBERS.read(newest.get("caller_number")) if newest else None,
            received_sms=received,
            problems=tuple(problems),
            complete=frozenset({Listing.AGENTS} | (set() if problems else {Listing.QUEUES})),
        )

    async def _group_members(self, group_id: str) -> list[str]:
        """The user ids of a call group (T:478-498); PbxResponseError if unreadable."""
        root = self._xml(await self._call("GET", f"/call_groups/{group_id}.xml"))
        rows = xml_fields(root).get("call_groups_telfa_users") or []
        if root.tag != "call-group" or not isinstance(rows, list):
            raise PbxResponseError(f"{self.title} sent malformed call group members")
        return [
            member_id
            for row in rows
            if isinstance(row, dict) and (member_id := _id(row.get("telfa_user_id")))
        ]

    async def _todays_rows(self, path: str, params: Mapping[str, str]) -> list[Json]:
        """Calls or SMS since midnight (Prague), in pages of the documented maximum."""
        midnight = datetime.now(PRAGUE).strftime("%Y-%m-%d 00:00")
        rows: list[Json] = []
        for page in range(1, MAX_CALL_PAGES + 1):
            query = {
                **params,
                "from": midnight,
                "per_page": str(CALLS_PER_PAGE),
                "page": str(page),
            }
            batch = self._json_rows(await self._call("GET", path, params=query))
            rows += batch
            if len(batch) < CALLS_PER_PAGE:
                break
        return rows

    async def _received_sms(self) -> tuple[SmsMessage, ...]:
        """Today's received SMS (T:753-819), oldest first."""
        rows = await self._todays_rows("/sms.json", {"inbound": "true"})
        messages = [
            self._sms_of(row, received_at=row.get("received_at") or row.get("created_at"))
            for row in rows
            if _flag(row.get("inbound")) and isinstance(row.get("message"), str)
        ]
        return tuple(
            sorted(messages, key=lambda m: m.timestamp or datetime.min.replace(tzinfo=UTC))
        )

    @staticmethod
    def _agents(users: list[Json], members: Mapping[str, list[str]]) -> dict[str, Agent]:
        agents: dict[str, Agent] = {}
        member_sets = {group_id: set(ids) for group_id, ids in members.items()}
        for user in users:
            user_id = _id(user.get("id"))
            if user_id is None:
                raise PbxResponseError("Telfa sent a user without an id")
            present, available = _flag(user.get("present")), _flag(user.get("available"))
            if not present:
                state = AgentState.LOGGED_OUT
            elif available:
                state = AgentState.IDLE
            else:
                state = AgentState.IN_CALL  # present but busy with a call
            since = user.get("presence_changed_at")
            agents[user_id] = Agent(
                agent_id=user_id,
                name=_text(user.get("name")) or user_id,
                state=state,
                logged_in=present,
                queue_ids=tuple(gid for gid, ids in member_sets.items() if user_id in ids),
                # XML gives a datetime already, JSON a string.
                state_since=since if isinstance(since, datetime) else parse_time(since),
            )
        return agents

    @staticmethod
    def _queue(
        group_id: str,
        *,
        group: Json,
        member_ids: list[str],
        agents: Mapping[str, Agent],
        active: list[Json],
        today: list[Json],
    ) -> Queue:
        now = datetime.now(UTC)
        waiting = [
            row
            for row in active
            if _id(row.get("call_group_id")) == group_id
            and not _answered_at(row)
            and not row.get("hungup_at")
        ]
        waits = [
            (now - start).total_seconds()
            for row in waiting
            if (start := parse_time(row.get("group_start_at") or row.get("created_at")))
        ]
        ended = [
            row
            for row in today
            if _id(row.get("call_group_id")) == group_id and row.get("hungup_at")
        ]
        members = [agents[agent_id] for agent_id in member_ids if agent_id in agents]
        average = parse_int(group.get("average_call_length"))
        return Queue(
            queue_id=group_id,
            name=_text(group.get("name")) or group_id,
            waiting_calls=len(waiting),
            longest_wait=max(waits) if waits else None,
            agents_logged_in=sum(bool(agent.logged_in) for agent in members),
            agents_ready=sum(agent.state is AgentState.IDLE for agent in members),
            agents_busy=sum(agent.state is AgentState.IN_CALL for agent in members),
            completed=sum(bool(_answered_at(row)) for row in ended),
            abandoned=sum(not _answered_at(row) and _flag(row.get("inbound")) for row in ended),
            average_talk_time=float(average) if average is not None and average >= 0 else None,
            member_ids=tuple(member_ids),
        )

    @staticmethod
    def _call_of(row: Json) -> Call | None:
        call_id = _id(row.get("id"))
        if call_id is None:
            return None
        inbound = _flag(row.get("inbound"))
        if row.get("hungup_at"):
            state = CallState.ENDED
        elif _answered_at(row):
            state = CallState.ANSWERED
        elif row.get("group_start_at"):
            state = CallState.QUEUED
        else:
            state = CallState.RINGING
        dialed = CZECH_NUMBERS.read(row.get("dialed_number"))
        return Call(
            call_id=call_id,
            direction=CallDirection.INCOMING if inbound else CallDirection.OUTGOING,
            state=state,
            caller=CZECH_NUMBERS.read(row.get("caller_number")),
            callee=dialed,
            line=dialed if inbound else None,
            agent_id=_id(row.get("answered_by_user_id")) or _id(row.get("telfa_user_id")),
            queue_id=_id(row.get("call_group_id")),
            started=parse_time(row.get("created_at")),
            answered=parse_time(_answered_at(row)),
        )

    # --- calls ---------------------------------------------------------------------------

    async def async_dial(self, request: DialRequest) -> CallResult:
        """Click-to-call (T:87-105): ring the user's phone, then dial `number`.

        Without a source Telfa rings the user whose API key this is; a USER source is a
        Telfa login (`marek.telfa.cz`) or a user id. The `dial_method` option says which
        of the user's phones ring.
        """
        if request.caller_id or request.ring_timeout:
            raise PbxInvalidInput(
                f"{self.title} click-to-call uses the user's own outbound number and ring time"
            )
        params = {"number": self.format_number(request.number)}
        source = request.source
        if source is not None:
            if source.kind is not DialSourceKind.USER:
                raise PbxInvalidInput(
                    f"{self.title} dials from a user (login or id), not a {source.kind.value}"
                )
            key = "telfa_user_id" if source.value.isdigit() else "telfa_user_login"
            params[key] = source.value
        if method := self._options.get(OPTION_DIAL_METHOD):
            if method not in DIAL_METHODS:
                raise PbxInvalidInput(f"{self.title} dial method is one of {DIAL_METHODS}")
            params["method"] = str(method)
        if request.auto_answer:
            params["auto_answer"] = "true"
        return _placed_call(await self._call("POST", "/calls.xml", params=params, once=True))

    async def async_announce(self, request: AnnounceRequest) -> CallResult:
        """Call `number` and read `text` (voice 0-4 or its name) or play a recording
        (T:110-117); with a `call_id`, play a recording into that live call (T:124-134)."""
        if request.caller_id:
            raise PbxInvalidInput(f"{self.title} announces from the account's number only")
        if request.call_id:
            return await self._play_into_call(request)
        if not request.number or bool(request.text) == bool(request.recording):
            raise PbxInvalidInput(f"{self.title} announce needs a number and a text or recording")
        params = {"number": self.format_number(request.number)}
        if request.text:
            params["text"] = request.text
            if request.voice:
                voice = VOICES.get(request.voice.strip().lower(), request.voice.strip())
                if voice not in VOICES.values():
                    raise PbxInvalidInput(
                        f"{self.title} voices are 0-4 (Jan, Alena, Radka, Iva, Standa)"
                    )
                params["voice"] = voice
        elif request.voice:
            raise PbxInvalidInput(f"{self.title} reads a text in a voice; a recording has its own")
        else:
            params["recording_id"] = self._recording_id(request.recording)
        response = await self._call("POST", "/calls/announce.xml", params=params, once=True)
        return _placed_call(response)

    async def _play_into_call(self, request: AnnounceRequest) -> CallResult:
        """Mix a recording into a live call for both sides (T:124-134)."""
        call_id = str(request.call_id).strip()
        if request.number or request.text or request.voice or not request.recording:
            raise PbxInvalidInput(
                f"{self.title} plays a recording (by its id) into a live call; "
                "it cannot speak text into one or call a number for it"
            )
        if not call_id.isdigit():
            raise PbxInvalidInput(f"{self.title} calls are given by their numeric id")
        root = ET.Element("play_recording")
        ET.SubElement(root, "call_id").text = call_id
        ET.SubElement(root, "recording_id").text = self._recording_id(request.recording)
        await self._call("POST", "/calls/play_recording.xml", xml_body=root, once=True)
        return CallResult(call_id)

    def _recording_id(self, recording: str | None) -> str:
        text = str(recording or "").strip()
        if not text.isdigit():
            raise PbxInvalidInput(f"{self.title} recordings are given by their id")
        return text

    async def async_hangup(self, request: HangupRequest) -> None:
        """Interrupt a call by its id (T:180-189; Telfa names no other hangup target)."""
        if request.kind is not HangupTargetKind.CALL:
            raise PbxInvalidInput(f"{self.title} hangs up a call by its id only")
        root = ET.Element("interrupt_call")
        ET.SubElement(root, "id").text = request.value
        await self._call("POST", "/calls/interrupt.xml", xml_body=root, once=True)

    async def async_transfer(self, request: TransferRequest) -> None:
        """Continue a live call with a call-plan recipe (T:141-152; its id is the destination)."""
        if not request.destination.isdigit():
            raise PbxInvalidInput(f"{self.title} transfers a call to a call-plan recipe id")
        root = ET.Element("transfer_call")
        ET.SubElement(root, "call_id").text = request.call_id
        ET.SubElement(root, "continue_with_recipe_id").text = request.destination
        await self._call("POST", "/calls/transfer_call.xml", xml_body=root, once=True)

    # --- agents ---------------------------------------------------------------------------

    async def async_agent_login(self, agent_id: str, extension: str | None = None) -> None:
        await self._operator(agent_id, "operator_log_in")

    async def async_agent_logout(self, agent_id: str) -> None:
        await self._operator(agent_id, "operator_log_out")

    async def _operator(self, agent_id: str, action: str) -> None:
        """Log an operator in or out (T:397-408); the answer is the user's details, whose
        login is learned at no extra cost."""
        if not agent_id.isdigit():
            raise PbxInvalidInput(f"{self.title} users are given by their numeric id")
        root = self._xml(
            await self._call("POST", f"/telfa_users/{agent_id}/{action}.xml", once=True)
        )
        if root.tag == "telfa-user":
            self._learn_login(xml_fields(root))  # the documented details, login included

    # --- SMS ------------------------------------------------------------------------------

    async def async_send_sms(self, request: SmsRequest) -> SmsResult:
        """POST /sms.json (T:725-750) once per recipient, from a number with a SIM card.

        The sender is the `sms_sender` option (a number id or a number of the account),
        else the first number with a GSM gateway (T:699, 924); Telfa returns no message ids.
        """
        if not request.recipients:
            raise PbxInvalidInput(f"{self.title} SMS needs at least one recipient")
        number_id = await self._sms_number_id(
            request.sender or self._options.get(OPTION_SMS_SENDER)
        )

        async def send(recipient: str) -> None:
            body = {
                "sms": {
                    "number_id": number_id,
                    "recipient": self.format_number(recipient),
                    "message": request.message,
                }
            }
            await self._call("POST", "/sms.json", json_body=body, once=True, sms=True)

        await self._send_to_each(request.recipients, send)
        return SmsResult(())

    async def _sms_number_id(self, sender: object) -> str:
        text = _text(sender)
        if text is not None and text.isdigit() and len(text) < 9:
            return text  # a number id, as the user gave it
        numbers = await self._numbers()
        if text is None:
            # Never a landline: SMS go out through a SIM card in Telfa's GSM gateway.
            gateway = next((nid for nid, n in numbers.items() if n.gsm_gateway), None)
            if gateway is None:
                needed = PbxInvalidInput(
                    f"{self.title} lists no number with a GSM gateway to send SMS from: "
                    "set the sms_sender option"
                )
                needed.translation_key = "sms_sender_needed"
                raise needed
            return gateway
        wanted = self.format_number(text) if text.startswith("+") else text
        for number_id, number in numbers.items():
            if number.number == wanted:
                if not number.gsm_gateway:
                    landline = PbxInvalidInput(
                        f"{self.title} cannot send SMS from a number without a GSM gateway"
                    )
                    landline.translation_key = "sms_invalid_sender"
                    raise landline
                return number_id
        # The number stays out of the message, which may be logged.
        raise PbxInvalidInput(f"{self.title} has no such number to send SMS from")

    async def _numbers(self) -> dict[str, TelfaNumber]:
        """The account's numbers by id, from the call plans (T:916-926)."""
        numbers: dict[str, TelfaNumber] = {}
        for page in range(1, MAX_RECIPE_PAGES + 1):
            response = await self._call("GET", "/recipes.json", params={"page": str(page)})
            recipes = self._json_rows(response)
            for recipe in recipes:
                if number_id := _id(recipe.get("number_id")):
                    numbers.setdefault(
                        number_id,
                        TelfaNumber(
                            _text(recipe.get("number")) or "", _flag(recipe.get("gsm_gateway"))
                        ),
                    )
            if len(recipes) < RECIPES_PER_PAGE:
                break
        return numbers

    # --- webhooks -------------------------------------------------------------------------

    async def async_webhook_targets(self) -> dict[str, str]:
        """The account's numbers, id -> number: hooks are set per number."""
        return {number_id: number.number for number_id, number in (await self._numbers()).items()}

    async def async_register_webhook(self, url: str) -> list[str]:
        """Append `url` to every hook of the chosen numbers, keeping the URLs already there."""
        return await self._change_hooks(url, add=True)

    async def async_unregister_webhook(self, url: str) -> None:
        """Remove `url` (only it) from every hook of the chosen numbers."""
        await self._change_hooks(url, add=False)

    async def _change_hooks(self, url: str, *, add: bool) -> list[str]:
        """Add or remove `url` on the chosen numbers (T:1150-1176); their ids."""
        chosen = self._options.get(OPTION_HOOK_NUMBERS)
        number_ids = [str(n) for n in chosen] if chosen else list(await self._numbers())
        for number_id in number_ids:
            if not number_id.isdigit():
                raise PbxInvalidInput(f"{self.title} numbers are given by their numeric id")
            path = f"/numbers/{number_id}.json"
            current = self._json_object(await self._call("GET", path))
            changes: dict[str, str] = {}
            for hook in HOOK_NAMES:
                key = f"{hook}_url"
                urls = [u.strip() for u in str(current.get(key) or "").split(",") if u.strip()]
                if add and url not in urls:
                    changes[key] = ",".join([*urls, url])
                elif not add and url in urls:
                    kept = [u for u in urls if u != url]
                    # Telfa clears a hook only when sent the string "null".
                    changes[key] = ",".join(kept) if kept else "null"
            if changes:
                # The URL holds the webhook id: a refusal quoting it must not show it.
                await self._call("PUT", path, json_body={"number": changes}, once=True, conceal=url)
        return number_ids

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookItem]:
        """A call hook (XML) or the sms_hook (JSON) as normalized events (T:1036-1136)."""
        if request.method.upper() != "POST":
            raise PbxInvalidInput(f"{self.title} hooks are POST requests")
        body = request.body.lstrip(b"\xef\xbb\xbf \t\r\n")
        if body.startswith(b"{"):
            return [self._parse_sms_hook(body)]
        if body.startswith(b"<"):
            return self._parse_call_hook(body)
        raise PbxInvalidInput(f"{self.title} hook body is neither XML nor JSON")

    def _parse_call_hook(self, body: bytes) -> list[WebhookItem]:
        try:
            root = safe_xml(body)
        except ValueError:
            raise PbxInvalidInput(f"{self.title} hook is not readable XML") from None
        if root.tag != "call":
            raise PbxInvalidInput(f"{self.title} call hook must be a <call> element")
        raw = {child.tag: (child.text or "").strip() for child in root if len(child) == 0}
        hook = raw.get("hook_type", "")
        event_type = HOOK_EVENTS.get(hook)
        if event_type is None:
            raise PbxInvalidInput(f"{self.title} hook has an unknown hook_type")
        if not raw.get("id"):
            raise PbxInvalidInput(f"{self.title} hook has no call id")
        caller_field = raw.get("caller_number") or None
        callee = CZECH_NUMBERS.read(raw.get("dialed_number"))
        # Outgoing calls name the user's login as the caller (T:1101); a hidden caller is
        # empty or a word such as "anonymous": an incoming call all the same.
        outgoing = hook == "outgoing_hook" or _is_login(caller_field)
        caller = CZECH_NUMBERS.read(caller_field) if outgoing or _is_phone(caller_field) else None
        agent = raw.get(HOOK_AGENT_FIELDS.get(hook, "")) or None
        forwarded_to = None
        if hook == "ring_hook" and _is_phone(agent):
            # Forwarded to an external number by a dial step (T:1049): not one of our users.
            event_type, forwarded_to, agent = (
                CallEventType.TRANSFERRED,
                CZECH_NUMBERS.read(agent),
                None,
            )
        if outgoing and agent is None:
            agent = caller_field  # the user's login, resolved like the other hooks' logins
        event = CallEvent(
            event_type=event_type,
            call_id=raw["id"],
            direction=CallDirection.OUTGOING if outgoing else CallDirection.INCOMING,
            caller=caller,
            callee=forwarded_to or callee,
            agent_id=agent,
            line=None if outgoing else callee,
            timestamp=parse_time(raw.get(HOOK_TIME_FIELDS[hook])) or parse_time(raw.get("start")),
            raw=raw,
        )
        events: list[WebhookItem] = [event]
        # hangup_hook carries an empty answered_at for a call nobody picked up.
        if (
            hook == "hangup_hook"
            and not outgoing
            and "answered_at" in raw
            and not raw["answered_at"]
        ):
            events.append(replace(event, event_type=CallEventType.MISSED))
        return events

    def _parse_sms_hook(self, body: bytes) -> SmsMessage:
        try:
            data = read_json(body)
        except ValueError:
            raise PbxInvalidInput(f"{self.title} sms_hook is not readable JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            raise PbxInvalidInput(f"{self.title} sms_hook has no message")
        message = self._sms_of(data, received_at=data.get("received_at"))
        try:
            # A lone surrogate (`"\ud800"`) is valid JSON but no text: it cannot be stored.
            for text in (*message.raw, *message.raw.values()):
                text.encode()
        except UnicodeEncodeError:
            raise PbxInvalidInput(f"{self.title} sms_hook holds text that is not Unicode") from None
        return message

    @staticmethod
    def _sms_of(data: Json, *, received_at: object) -> SmsMessage:
        """A received SMS of the sms_hook (T:1130-1136) or of /sms.json (T:803-817)."""
        raw = {
            str(key): str(value)
            for key, value in data.items()
            if value is not None and not isinstance(value, dict | list)
        }
        return SmsMessage(
            sms_id=_id(data.get("id")),
            direction=SmsDirection.INCOMING,
            sender=CZECH_NUMBERS.read(_text(data.get("sender"))),
            recipient=CZECH_NUMBERS.read(_text(data.get("recipient"))),
            text=str(data["message"]),
            status="received",
            timestamp=parse_time(received_at),
            sender_name=_text(data.get("sender_name")),
            raw=raw,
        )


def _placed_call(response: HttpResponse) -> CallResult:
    """Any 2xx means the call went out (T:87-117 document no answer): never an error now,
    which would invite a retry and a second call. Its id where the answer shows one."""
    try:
        root = safe_xml(response.body)
    except ValueError:
        return CallResult(None)
    return CallResult(_id(xml_fields(root).get("id")) if root.tag == "call" else None)
