"""Actions of PBX Bridge: dial, SMS, announce, hangup, transfer, agent and queue controls.

Registered once in `async_setup`; every action names its account with `config_entry_id`.
Each call is checked before any request is made (entry loaded, capability offered, numbers
valid, agent and queue known) and then sent to the provider exactly once: dial, announce
and SMS are never retried, since the provider may have acted on a request it did not
confirm.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
import logging
from typing import TYPE_CHECKING, Any, NoReturn, cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import probatio

from .api.errors import PbxInvalidInput
from .api.models import (
    AnnounceRequest,
    Capability,
    DialRequest,
    DialSource,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    SmsRequest,
    TransferRequest,
    TransferTargetKind,
)
from .api.numbers import normalize_destination, normalize_number
from .const import CONF_DEFAULT_DIAL_SOURCE, CONF_DEFAULT_DIAL_SOURCE_KIND, DOMAIN
from .helpers import pbx_errors

if TYPE_CHECKING:
    from . import PbxConfigEntry

_LOGGER = logging.getLogger(__name__)

SERVICE_DIAL = "dial"
SERVICE_SEND_SMS = "send_sms"
SERVICE_ANNOUNCE = "announce"
SERVICE_HANGUP = "hangup"
SERVICE_TRANSFER = "transfer"
SERVICE_AGENT_LOGIN = "agent_login"
SERVICE_AGENT_LOGOUT = "agent_logout"
SERVICE_AGENT_PAUSE = "agent_pause"
SERVICE_AGENT_UNPAUSE = "agent_unpause"
SERVICE_QUEUE_LOGIN = "queue_login"
SERVICE_QUEUE_LOGOUT = "queue_logout"
SERVICE_QUEUE_KICK = "queue_kick"

ATTR_NUMBER = "number"
ATTR_SOURCE_KIND = "source_kind"
ATTR_SOURCE = "source"
ATTR_CALLER_ID = "caller_id"
ATTR_AUTO_ANSWER = "auto_answer"
ATTR_RING_TIMEOUT = "ring_timeout"
ATTR_DELAY = "delay"
ATTR_SINGLE_ATTEMPT = "single_attempt"
ATTR_RING_ONCE = "ring_once"
ATTR_RECIPIENTS = "recipients"
ATTR_MESSAGE = "message"
ATTR_SENDER = "sender"
ATTR_VOICE = "voice"
ATTR_RECORDING = "recording"
ATTR_SPEECH_RATE = "speech_rate"
ATTR_REPEAT = "repeat"
ATTR_CALL_ID = "call_id"
ATTR_USER = "user"
ATTR_EXTENSION = "extension"
ATTR_CHANNEL = "channel"
ATTR_DESTINATION = "destination"
ATTR_DESTINATION_AGENT = "destination_agent"
ATTR_DESTINATION_QUEUE = "destination_queue"
ATTR_AGENT_ID = "agent_id"
ATTR_QUEUE_ID = "queue_id"
ATTR_REASON = "reason"
ATTR_MESSAGE_IDS = "message_ids"

# Providers let a phone ring for seconds to minutes; beyond that nobody is answering.
MIN_RING_TIMEOUT = 5
MAX_RING_TIMEOUT = 300
# A scheduled call is for later today or this week, not for next year.
MAX_DIAL_DELAY = timedelta(days=30)
# Text-to-speech rate as a step from normal speed, and how often a message is played.
MIN_SPEECH_RATE = -10
MAX_SPEECH_RATE = 10
MAX_REPEAT = 10

_TEXT = probatio.All(cv.string, probatio.Strip, probatio.NonEmpty())

_ENTRY: dict[Any, Any] = {probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string}

DIAL_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required(ATTR_NUMBER): _TEXT,
        probatio.Inclusive(ATTR_SOURCE_KIND, "source"): probatio.In(
            [kind.value for kind in DialSourceKind]
        ),
        probatio.Inclusive(ATTR_SOURCE, "source"): _TEXT,
        probatio.Optional(ATTR_CALLER_ID): _TEXT,
        probatio.Optional(ATTR_AUTO_ANSWER): cv.boolean,
        probatio.Optional(ATTR_RING_TIMEOUT): probatio.All(
            probatio.Coerce(int), probatio.Range(min=MIN_RING_TIMEOUT, max=MAX_RING_TIMEOUT)
        ),
        probatio.Optional(ATTR_DELAY): probatio.All(
            cv.time_period, cv.positive_timedelta, probatio.Range(max=MAX_DIAL_DELAY)
        ),
        probatio.Optional(ATTR_SINGLE_ATTEMPT): cv.boolean,
        probatio.Optional(ATTR_RING_ONCE): cv.boolean,
    }
)
SEND_SMS_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required(ATTR_RECIPIENTS): probatio.All(
            cv.ensure_list, [_TEXT], probatio.NonEmpty()
        ),
        probatio.Required(ATTR_MESSAGE): _TEXT,
        probatio.Optional(ATTR_SENDER): _TEXT,
    }
)
ANNOUNCE_SCHEMA = probatio.Schema(
    probatio.All(
        {
            **_ENTRY,
            probatio.Optional(ATTR_NUMBER): _TEXT,
            probatio.Optional(ATTR_CALL_ID): _TEXT,
            probatio.Optional(ATTR_MESSAGE): _TEXT,
            probatio.Optional(ATTR_RECORDING): _TEXT,
            probatio.Optional(ATTR_VOICE): _TEXT,
            probatio.Optional(ATTR_CALLER_ID): _TEXT,
            probatio.Optional(ATTR_SPEECH_RATE): probatio.All(
                probatio.Coerce(int),
                probatio.Range(min=MIN_SPEECH_RATE, max=MAX_SPEECH_RATE),
            ),
            probatio.Optional(ATTR_REPEAT): probatio.All(
                probatio.Coerce(int), probatio.Range(min=1, max=MAX_REPEAT)
            ),
        },
        # Whom to reach (a number to call or a live call) and what to play there.
        probatio.AtLeastOne(ATTR_NUMBER, ATTR_CALL_ID),
        probatio.AtLeastOne(ATTR_MESSAGE, ATTR_RECORDING),
    )
)
HANGUP_TARGETS = {
    ATTR_CALL_ID: HangupTargetKind.CALL,
    ATTR_USER: HangupTargetKind.USER,
    ATTR_EXTENSION: HangupTargetKind.EXTENSION,
    ATTR_CHANNEL: HangupTargetKind.CHANNEL,
}
HANGUP_SCHEMA = probatio.Schema(
    probatio.All(
        {**_ENTRY, **{probatio.Optional(key): _TEXT for key in HANGUP_TARGETS}},
        probatio.ExactlyOne(*HANGUP_TARGETS),
    )
)
# Where a transfer goes, each with the capability it needs beyond TRANSFER.
TRANSFER_TARGETS = {
    ATTR_DESTINATION: (TransferTargetKind.NUMBER, None),
    ATTR_DESTINATION_AGENT: (TransferTargetKind.AGENT, Capability.TRANSFER_TO_AGENT),
    ATTR_DESTINATION_QUEUE: (TransferTargetKind.QUEUE, Capability.TRANSFER_TO_QUEUE),
}
TRANSFER_SCHEMA = probatio.Schema(
    probatio.All(
        {
            **_ENTRY,
            probatio.Required(ATTR_CALL_ID): _TEXT,
            **{probatio.Optional(key): _TEXT for key in TRANSFER_TARGETS},
        },
        probatio.ExactlyOne(*TRANSFER_TARGETS),
    )
)
AGENT_SCHEMA = probatio.Schema({**_ENTRY, probatio.Required(ATTR_AGENT_ID): _TEXT})
AGENT_LOGIN_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required(ATTR_AGENT_ID): _TEXT,
        probatio.Optional(ATTR_EXTENSION): _TEXT,
    }
)
AGENT_PAUSE_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required(ATTR_AGENT_ID): _TEXT,
        probatio.Optional(ATTR_REASON): _TEXT,
    }
)
QUEUE_MEMBER_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required(ATTR_AGENT_ID): _TEXT,
        probatio.Required(ATTR_QUEUE_ID): _TEXT,
    }
)
QUEUE_LOGIN_SCHEMA = QUEUE_MEMBER_SCHEMA.extend({probatio.Optional(ATTR_EXTENSION): _TEXT})
QUEUE_KICK_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required(ATTR_QUEUE_ID): _TEXT,
        probatio.Required(ATTR_CALL_ID): _TEXT,
    }
)


type ActionHandler = Callable[
    [HomeAssistant, PbxConfigEntry, dict[str, Any]], Awaitable[dict[str, Any] | None]
]


@dataclass(frozen=True, kw_only=True)
class PbxAction:
    """One action: its schema, the capability it needs and what it does."""

    name: str
    capability: Capability
    schema: probatio.Schema
    handler: ActionHandler
    supports_response: SupportsResponse = SupportsResponse.NONE


# --- checks before a request ---------------------------------------------------------


def _raise_validation(key: str, **placeholders: str) -> NoReturn:
    raise ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _loaded_entry(hass: HomeAssistant, entry_id: str, action: str) -> PbxConfigEntry:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        _raise_validation("action_entry_not_found", action=action, entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        _raise_validation("action_entry_not_loaded", action=action, entry_title=entry.title)
    return cast("PbxConfigEntry", entry)


def _number(entry: PbxConfigEntry, action: str, field: str, raw: str) -> str:
    """`raw` as E.164, or a translated error naming the field (never the number)."""
    try:
        return normalize_number(raw, entry.runtime_data.client.default_country_code)
    except PbxInvalidInput as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="action_invalid_number",
            translation_placeholders={"action": action, "field": field, "reason": str(err)},
        ) from err


def _optional_number(
    entry: PbxConfigEntry, action: str, field: str, data: dict[str, Any]
) -> str | None:
    return _number(entry, action, field, data[field]) if field in data else None


# --- the actions ---------------------------------------------------------------------


async def _async_dial(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> dict[str, Any]:
    number = _number(entry, SERVICE_DIAL, ATTR_NUMBER, data[ATTR_NUMBER])
    source: DialSource | None = None
    if ATTR_SOURCE in data:
        source = DialSource(DialSourceKind(data[ATTR_SOURCE_KIND]), data[ATTR_SOURCE])
    elif (default_source := entry.options.get(CONF_DEFAULT_DIAL_SOURCE)) and (
        default_kind := entry.options.get(CONF_DEFAULT_DIAL_SOURCE_KIND)
    ):
        source = DialSource(DialSourceKind(default_kind), default_source)
    request = DialRequest(
        number=number,
        source=source,
        caller_id=_optional_number(entry, SERVICE_DIAL, ATTR_CALLER_ID, data),
        auto_answer=data.get(ATTR_AUTO_ANSWER),
        ring_timeout=data.get(ATTR_RING_TIMEOUT),
        delay=data.get(ATTR_DELAY),
        single_attempt=data.get(ATTR_SINGLE_ATTEMPT),
        ring_once=data.get(ATTR_RING_ONCE, False),
    )
    _LOGGER.debug("Dialling %s from %s", number, source)
    with pbx_errors(hass, entry, SERVICE_DIAL):
        result = await entry.runtime_data.client.async_dial(request)
    return {ATTR_CALL_ID: result.call_id}


async def _async_send_sms(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> dict[str, Any]:
    recipients = tuple(
        _number(entry, SERVICE_SEND_SMS, ATTR_RECIPIENTS, raw) for raw in data[ATTR_RECIPIENTS]
    )
    return await async_send_sms(hass, entry, recipients, data[ATTR_MESSAGE], data.get(ATTR_SENDER))


async def async_send_sms(
    hass: HomeAssistant,
    entry: PbxConfigEntry,
    recipients: tuple[str, ...],
    message: str,
    sender: str | None,
) -> dict[str, Any]:
    """Send one SMS request for E.164 `recipients` (also used by the notify entities)."""
    _LOGGER.debug("Sending an SMS to %s", ", ".join(recipients))
    with pbx_errors(hass, entry, SERVICE_SEND_SMS, recipients=len(recipients)):
        result = await entry.runtime_data.client.async_send_sms(
            SmsRequest(recipients=recipients, message=message, sender=sender)
        )
    return {ATTR_MESSAGE_IDS: list(result.message_ids)}


async def _async_announce(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> dict[str, Any]:
    number = _optional_number(entry, SERVICE_ANNOUNCE, ATTR_NUMBER, data)
    request = AnnounceRequest(
        number=number,
        text=data.get(ATTR_MESSAGE),
        voice=data.get(ATTR_VOICE),
        recording=data.get(ATTR_RECORDING),
        call_id=data.get(ATTR_CALL_ID),
        caller_id=_optional_number(entry, SERVICE_ANNOUNCE, ATTR_CALLER_ID, data),
        speech_rate=data.get(ATTR_SPEECH_RATE),
        repeat=data.get(ATTR_REPEAT),
    )
    _LOGGER.debug("Announcing to %s", number or f"call {request.call_id}")
    with pbx_errors(hass, entry, SERVICE_ANNOUNCE):
        result = await entry.runtime_data.client.async_announce(request)
    return {ATTR_CALL_ID: result.call_id}


async def _async_hangup(hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]) -> None:
    key = next(key for key in HANGUP_TARGETS if key in data)
    with pbx_errors(hass, entry, SERVICE_HANGUP):
        await entry.runtime_data.client.async_hangup(
            HangupRequest(kind=HANGUP_TARGETS[key], value=data[key])
        )


async def _async_transfer(hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]) -> None:
    client = entry.runtime_data.client
    field = next(key for key in TRANSFER_TARGETS if key in data)
    target, capability = TRANSFER_TARGETS[field]
    if capability is not None and not client.supports(capability):
        _raise_validation(
            "action_not_supported", provider=client.title, action=f"{SERVICE_TRANSFER} ({field})"
        )
    if target is not TransferTargetKind.NUMBER:
        with pbx_errors(hass, entry, SERVICE_TRANSFER):
            await client.async_transfer(TransferRequest(data[ATTR_CALL_ID], data[field], target))
        return
    try:
        destination = normalize_destination(data[ATTR_DESTINATION], client.default_country_code)
    except PbxInvalidInput as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="action_invalid_number",
            translation_placeholders={
                "action": SERVICE_TRANSFER,
                "field": ATTR_DESTINATION,
                "reason": str(err),
            },
        ) from err
    with pbx_errors(hass, entry, SERVICE_TRANSFER):
        await client.async_transfer(
            TransferRequest(call_id=data[ATTR_CALL_ID], destination=destination)
        )


async def _async_agent_login(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    with pbx_errors(hass, entry, SERVICE_AGENT_LOGIN):
        await entry.runtime_data.client.async_agent_login(
            data[ATTR_AGENT_ID], data.get(ATTR_EXTENSION)
        )


async def _async_agent_logout(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    with pbx_errors(hass, entry, SERVICE_AGENT_LOGOUT):
        await entry.runtime_data.client.async_agent_logout(data[ATTR_AGENT_ID])


async def _async_agent_pause(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    with pbx_errors(hass, entry, SERVICE_AGENT_PAUSE):
        await entry.runtime_data.client.async_agent_pause(
            data[ATTR_AGENT_ID], data.get(ATTR_REASON)
        )


async def _async_agent_unpause(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    with pbx_errors(hass, entry, SERVICE_AGENT_UNPAUSE):
        await entry.runtime_data.client.async_agent_unpause(data[ATTR_AGENT_ID])


async def _async_queue_login(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    with pbx_errors(hass, entry, SERVICE_QUEUE_LOGIN):
        await entry.runtime_data.client.async_queue_login(
            data[ATTR_AGENT_ID], data[ATTR_QUEUE_ID], data.get(ATTR_EXTENSION)
        )


async def _async_queue_logout(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    with pbx_errors(hass, entry, SERVICE_QUEUE_LOGOUT):
        await entry.runtime_data.client.async_queue_logout(data[ATTR_AGENT_ID], data[ATTR_QUEUE_ID])


async def _async_queue_kick(
    hass: HomeAssistant, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    with pbx_errors(hass, entry, SERVICE_QUEUE_KICK):
        await entry.runtime_data.client.async_queue_kick(data[ATTR_QUEUE_ID], data[ATTR_CALL_ID])


ACTIONS: tuple[PbxAction, ...] = (
    PbxAction(
        name=SERVICE_DIAL,
        capability=Capability.DIAL,
        schema=DIAL_SCHEMA,
        handler=_async_dial,
        supports_response=SupportsResponse.OPTIONAL,
    ),
    PbxAction(
        name=SERVICE_SEND_SMS,
        capability=Capability.SEND_SMS,
        schema=SEND_SMS_SCHEMA,
        handler=_async_send_sms,
        supports_response=SupportsResponse.OPTIONAL,
    ),
    PbxAction(
        name=SERVICE_ANNOUNCE,
        capability=Capability.ANNOUNCE,
        schema=ANNOUNCE_SCHEMA,
        handler=_async_announce,
        supports_response=SupportsResponse.OPTIONAL,
    ),
    PbxAction(
        name=SERVICE_HANGUP,
        capability=Capability.HANGUP,
        schema=HANGUP_SCHEMA,
        handler=_async_hangup,
    ),
    PbxAction(
        name=SERVICE_TRANSFER,
        capability=Capability.TRANSFER,
        schema=TRANSFER_SCHEMA,
        handler=_async_transfer,
    ),
    PbxAction(
        name=SERVICE_AGENT_LOGIN,
        capability=Capability.AGENT_LOGIN,
        schema=AGENT_LOGIN_SCHEMA,
        handler=_async_agent_login,
    ),
    PbxAction(
        name=SERVICE_AGENT_LOGOUT,
        capability=Capability.AGENT_LOGIN,
        schema=AGENT_SCHEMA,
        handler=_async_agent_logout,
    ),
    PbxAction(
        name=SERVICE_AGENT_PAUSE,
        capability=Capability.AGENT_PAUSE,
        schema=AGENT_PAUSE_SCHEMA,
        handler=_async_agent_pause,
    ),
    PbxAction(
        name=SERVICE_AGENT_UNPAUSE,
        capability=Capability.AGENT_PAUSE,
        schema=AGENT_SCHEMA,
        handler=_async_agent_unpause,
    ),
    PbxAction(
        name=SERVICE_QUEUE_LOGIN,
        capability=Capability.QUEUE_LOGIN,
        schema=QUEUE_LOGIN_SCHEMA,
        handler=_async_queue_login,
    ),
    PbxAction(
        name=SERVICE_QUEUE_LOGOUT,
        capability=Capability.QUEUE_LOGIN,
        schema=QUEUE_MEMBER_SCHEMA,
        handler=_async_queue_logout,
    ),
    PbxAction(
        name=SERVICE_QUEUE_KICK,
        capability=Capability.QUEUE_KICK,
        schema=QUEUE_KICK_SCHEMA,
        handler=_async_queue_kick,
    ),
)


async def _async_handle(action: PbxAction, call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID], action.name)
    client = entry.runtime_data.client
    if not client.supports(action.capability):
        _raise_validation("action_not_supported", provider=client.title, action=action.name)
    response = await action.handler(call.hass, entry, dict(call.data))
    return response if call.return_response else None


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for every account)."""
    for action in ACTIONS:
        hass.services.async_register(
            DOMAIN,
            action.name,
            partial(_async_handle, action),
            schema=action.schema,
            supports_response=action.supports_response,
        )
