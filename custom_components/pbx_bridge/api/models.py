"""Normalized, provider-independent models of a phone system.

Every provider module turns its own wire format into these frozen dataclasses; the
integration only ever sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Capability(StrEnum):
    """What a provider's API can do; the integration offers only these."""

    AGENTS = "agents"
    AGENT_LOGIN = "agent_login"  # log an agent in and out
    AGENT_PAUSE = "agent_pause"  # pause and unpause an agent
    PAUSE_REASONS = "pause_reasons"  # named pauses to choose from
    QUEUES = "queues"
    QUEUE_LOGIN = "queue_login"  # log an agent into or out of one queue
    QUEUE_KICK = "queue_kick"  # remove a waiting caller from a queue
    SIP_REGISTRATIONS = "sip_registrations"
    ACTIVE_CALLS = "active_calls"
    MISSED_CALLS = "missed_calls"  # the snapshot counts today's missed calls
    BALANCE = "balance"
    DIAL = "dial"
    HANGUP = "hangup"
    TRANSFER = "transfer"
    TRANSFER_TO_AGENT = "transfer_to_agent"  # transfer a call to an agent by id
    TRANSFER_TO_QUEUE = "transfer_to_queue"  # transfer a call into a queue by id
    ANNOUNCE = "announce"
    SEND_SMS = "send_sms"
    CALL_WEBHOOK = "call_webhook"  # the provider pushes call events to us
    SMS_WEBHOOK = "sms_webhook"  # the provider pushes received SMS to us
    SMS_POLLING = "sms_polling"  # received SMS appear in the snapshot
    REGISTER_WEBHOOK = "register_webhook"  # we can set our webhook URL at the provider


class AgentState(StrEnum):
    """An agent's state, normalized across providers."""

    LOGGED_OUT = "logged_out"
    # Logged in to the call centre but in no queue: no queue call reaches them.
    NOT_IN_QUEUE = "not_in_queue"
    IDLE = "idle"
    RINGING = "ringing"
    IN_CALL = "in_call"
    ON_HOLD = "on_hold"
    PAUSED = "paused"
    WRAP_UP = "wrap_up"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


class SipKind(StrEnum):
    """What a SIP registration belongs to."""

    EXTENSION = "extension"
    TRUNK = "trunk"


class CallDirection(StrEnum):
    """Direction of a call as seen from the account."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


class CallState(StrEnum):
    """Lifecycle state of a call."""

    RINGING = "ringing"
    ANSWERED = "answered"
    QUEUED = "queued"
    ON_HOLD = "on_hold"
    ENDED = "ended"
    UNKNOWN = "unknown"


class CallEventType(StrEnum):
    """Normalized call event types (fired as `pbx_bridge_call` events)."""

    INCOMING = "incoming"
    RINGING = "ringing"
    ANSWERED = "answered"
    OUTGOING = "outgoing"
    QUEUED = "queued"
    TRANSFERRED = "transferred"
    HANGUP = "hangup"
    MISSED = "missed"


class SmsDirection(StrEnum):
    """Direction of an SMS."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"


class DialSourceKind(StrEnum):
    """Where a dialled call starts from."""

    USER = "user"  # an agent / user account (rings their phone or app)
    EXTENSION = "extension"
    LINE = "line"


class TransferTargetKind(StrEnum):
    """What a transfer destination names."""

    NUMBER = "number"  # a phone number or an extension
    AGENT = "agent"  # an agent, by the id the snapshot keys agents by
    QUEUE = "queue"  # a queue, by the id the snapshot keys queues by


class HangupTargetKind(StrEnum):
    """What a hangup request names."""

    CALL = "call"
    USER = "user"
    EXTENSION = "extension"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """A provider account: a stable, non-secret id and a display name."""

    account_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Agent:
    """A person (user, operator, queue member) who takes calls."""

    agent_id: str
    name: str
    state: AgentState
    extension: str | None = None
    logged_in: bool | None = None
    paused: bool | None = None
    pause_reason: str | None = None
    call_partner: str | None = None
    queue_ids: tuple[str, ...] = ()
    state_since: datetime | None = None  # when the state (or the login) last changed


@dataclass(frozen=True, slots=True)
class Queue:
    """A call queue / hunt group."""

    queue_id: str
    name: str
    waiting_calls: int | None = None
    longest_wait: float | None = None  # seconds
    average_hold_time: float | None = None  # seconds a caller waits before an answer, on average
    average_talk_time: float | None = None  # seconds an answered call lasts, on average
    agents_logged_in: int | None = None
    agents_ready: int | None = None
    agents_busy: int | None = None
    agents_paused: int | None = None
    completed: int | None = None
    abandoned: int | None = None
    service_level: float | None = None  # percent
    member_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SipRegistration:
    """A SIP extension or trunk and whether it is registered."""

    registration_id: str
    name: str
    kind: SipKind
    registered: bool | None  # None: the provider does not check it (an unmonitored trunk)
    status: str | None = None
    user_agent: str | None = None
    contact: str | None = None
    ip: str | None = None
    port: int | None = None
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """A call in progress."""

    call_id: str
    direction: CallDirection
    state: CallState
    caller: str | None = None
    callee: str | None = None
    line: str | None = None
    agent_id: str | None = None
    queue_id: str | None = None
    started: datetime | None = None
    answered: datetime | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Something that happened to a call, from a webhook or derived from polling."""

    event_type: CallEventType
    call_id: str | None
    direction: CallDirection = CallDirection.UNKNOWN
    caller: str | None = None
    caller_name: str | None = None
    callee: str | None = None
    agent_id: str | None = None
    queue_id: str | None = None
    line: str | None = None
    timestamp: datetime | None = None
    # Provider fields as received, for automations that need more; never secrets.
    raw: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """An SMS sent or received."""

    sms_id: str | None
    direction: SmsDirection
    sender: str | None
    recipient: str | None
    text: str
    status: str | None = None
    timestamp: datetime | None = None
    sender_name: str | None = None  # the name the sender's network gave, where it gave one
    raw: dict[str, str] = field(default_factory=dict, compare=False)


type WebhookItem = CallEvent | SmsMessage


class Listing(StrEnum):
    """A kind of object a snapshot lists."""

    AGENTS = "agents"
    QUEUES = "queues"
    REGISTRATIONS = "registrations"


class ProblemKind(StrEnum):
    """Something about the account's configuration the user has to fix (a repair issue)."""

    UNKNOWN_QUEUE = "unknown_queue"  # a configured queue name or path the provider does not know
    UNKNOWN_NUMBER = "unknown_number"  # a configured number the provider does not know
    MISSING_PERMISSION = "missing_permission"  # valid credentials without a needed right


@dataclass(frozen=True, slots=True)
class ProviderProblem:
    """A problem a refresh found but worked around (the rest of the snapshot is good)."""

    kind: ProblemKind
    subject: str  # the queue, path, number or permission concerned; never a secret


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one refresh of an account returns."""

    account: AccountInfo
    agents: dict[str, Agent] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    registrations: dict[str, SipRegistration] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    missed_calls_today: int | None = None
    # Who called in today's missed calls, where the provider says (the last few, newest last).
    missed_callers: tuple[str, ...] = ()
    last_caller: str | None = None
    balance: float | None = None
    # Received SMS the provider only offers by polling (newest last).
    received_sms: tuple[SmsMessage, ...] = ()
    pause_reasons: tuple[str, ...] = ()
    # What this refresh skipped and the user should fix; an empty tuple clears the repairs.
    problems: tuple[ProviderProblem, ...] = ()
    # Kinds this snapshot lists in full (every object the provider has, not only active
    # ones): only there does an absent object mean it is gone and its device may be removed.
    complete: frozenset[Listing] = frozenset()


# --- action requests ---------------------------------------------------------


# The optional fields of the dial, announce and SMS requests that not every provider
# honours. Each value is the request's attribute (and the action's field) of that name; a
# provider declares the ones its client sends on (`ProviderDeclaration.dial_fields` and so
# on), and the integration refuses a request that sets any other.


class DialField(StrEnum):
    """An optional field of a `DialRequest`."""

    CALLER_ID = "caller_id"
    AUTO_ANSWER = "auto_answer"
    RING_TIMEOUT = "ring_timeout"
    DELAY = "delay"
    SINGLE_ATTEMPT = "single_attempt"
    RING_ONCE = "ring_once"


class AnnounceField(StrEnum):
    """An optional field of an `AnnounceRequest`."""

    CALLER_ID = "caller_id"
    VOICE = "voice"
    RECORDING = "recording"
    CALL_ID = "call_id"
    SPEECH_RATE = "speech_rate"
    REPEAT = "repeat"


class SmsField(StrEnum):
    """An optional field of an `SmsRequest`."""

    SENDER = "sender"


@dataclass(frozen=True, slots=True)
class DialSource:
    """Where a call starts: a user/agent, an extension or a line."""

    kind: DialSourceKind
    value: str


@dataclass(frozen=True, slots=True)
class DialRequest:
    """Place a call from `source` to `number` (already normalized to E.164)."""

    number: str
    source: DialSource | None = None
    caller_id: str | None = None
    auto_answer: bool | None = None
    ring_timeout: int | None = None  # seconds
    delay: timedelta | None = None  # place the call this much later, where the provider can
    # Try once over one carrier, and the source cannot dial on from the call (Odorik `simple`).
    single_attempt: bool | None = None
    # Only ring briefly and hang up before anyone can answer (a missed-call signal).
    ring_once: bool = False


@dataclass(frozen=True, slots=True)
class AnnounceRequest:
    """Call `number` and speak `text` (TTS) or play a stored `recording`."""

    number: str | None = None
    text: str | None = None
    voice: str | None = None
    recording: str | None = None
    call_id: str | None = None  # play into this live call where the provider does that
    caller_id: str | None = None
    speech_rate: int | None = None  # -10 (slowest) .. 10 (fastest), where offered
    repeat: int | None = None  # how many times the message is played, where offered


@dataclass(frozen=True, slots=True)
class HangupRequest:
    """End a call named by id, user, extension or channel."""

    kind: HangupTargetKind
    value: str


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """Transfer a live call to a number or extension, an agent or a queue."""

    call_id: str
    destination: str
    target: TransferTargetKind = TransferTargetKind.NUMBER


@dataclass(frozen=True, slots=True)
class SmsRequest:
    """Send `message` to each of `recipients` (E.164)."""

    recipients: tuple[str, ...]
    message: str
    sender: str | None = None


@dataclass(frozen=True, slots=True)
class CallResult:
    """What the provider returned for a dial or announce."""

    call_id: str | None


@dataclass(frozen=True, slots=True)
class SmsResult:
    """What the provider returned for an SMS."""

    message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What the provider expects back from our webhook (Yemot's API extension reads a
    command from the answer); None from `webhook_reply` means a plain 200."""

    body: str
    content_type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An incoming HTTP request to our webhook, as the parser sees it."""

    method: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
