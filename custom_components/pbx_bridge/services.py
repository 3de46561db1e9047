"""Actions of PBX Bridge: dial, SMS, announce, hangup, transfer and queue controls.

Registered once in `async_setup`. Account-level actions name their account with
`config_entry_id`; what acts on an agent, queue or line takes that device (a device id,
picked with a `device` selector), and the device names the account. Logging agents in and
pausing them is the switches' and the pause-reason select's job, not an action's.

Each call is checked before any request is made (entry loaded, capability offered,
devices of the right kind and account, only optional fields the provider honours, numbers
valid) and then sent to the provider exactly once: dial, announce and SMS are never
retried, since the provider may have acted on a request it did not confirm.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
import logging
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NoReturn, cast

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.service import async_get_config_entry
import probatio

from .api import ProviderDeclaration
from .api.errors import PbxInvalidInput
from .api.models import (
    AnnounceField,
    AnnounceRequest,
    Capability,
    DialField,
    DialRequest,
    DialSource,
    DialSourceKind,
    HangupRequest,
    HangupTargetKind,
    SipKind,
    SmsField,
    SmsRequest,
    TransferRequest,
    TransferTargetKind,
)
from .api.numbers import normalize_destination, normalize_number
from .const import CONF_DEFAULT_DIAL_SOURCE, CONF_DEFAULT_DIAL_SOURCE_KIND, DOMAIN
from .entity import ObjectKind, device_object
from .helpers import pbx_errors

if TYPE_CHECKING:
    from .coordinator import PbxConfigEntry

_LOGGER = logging.getLogger(__name__)

SERVICE_DIAL = "dial"
SERVICE_SEND_SMS = "send_sms"
SERVICE_ANNOUNCE = "announce"
SERVICE_HANGUP = "hangup"
SERVICE_TRANSFER = "transfer"
SERVICE_QUEUE_LOGIN = "queue_login"
SERVICE_QUEUE_LOGOUT = "queue_logout"
SERVICE_QUEUE_KICK = "queue_kick"

ATTR_NUMBER = "number"
ATTR_SOURCE_KIND = "source_kind"
ATTR_SOURCE = "source"
ATTR_SOURCE_DEVICE = "source_device"
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
ATTR_CHANNEL = "channel"
ATTR_DESTINATION = "destination"
ATTR_DESTINATION_AGENT = "destination_agent"
ATTR_DESTINATION_QUEUE = "destination_queue"
# Device fields: the id of an agent, queue or line device of the integration.
ATTR_AGENT = "agent"
ATTR_QUEUE = "queue"
ATTR_LINE = "line"
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
# Where a device names the account, the entry may be given too (it must be the same).
_OPTIONAL_ENTRY: dict[Any, Any] = {probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}

DIAL_SCHEMA = probatio.Schema(
    probatio.All(
        {
            **_OPTIONAL_ENTRY,
            probatio.Required(ATTR_NUMBER): _TEXT,
            probatio.Optional(ATTR_SOURCE_DEVICE): cv.string,
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
        },
        # A source device names the account; without one, the entry is needed.
        probatio.AtLeastOne(ATTR_CONFIG_ENTRY_ID, ATTR_SOURCE_DEVICE),
        probatio.AtMostOne(ATTR_SOURCE_DEVICE, ATTR_SOURCE),
    )
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
# Hangup names the call by exactly one of these: an id or channel of the account, or the
# call of an agent or a line (their devices name the account).
HANGUP_TARGETS = {
    ATTR_CALL_ID: HangupTargetKind.CALL,
    ATTR_CHANNEL: HangupTargetKind.CHANNEL,
    ATTR_AGENT: HangupTargetKind.USER,
    ATTR_LINE: HangupTargetKind.EXTENSION,
}
HANGUP_SCHEMA = probatio.Schema(
    probatio.All(
        {
            **_OPTIONAL_ENTRY,
            probatio.Optional(ATTR_CALL_ID): _TEXT,
            probatio.Optional(ATTR_CHANNEL): _TEXT,
            probatio.Optional(ATTR_AGENT): cv.string,
            probatio.Optional(ATTR_LINE): cv.string,
        },
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
            probatio.Optional(ATTR_DESTINATION): _TEXT,
            probatio.Optional(ATTR_DESTINATION_AGENT): cv.string,
            probatio.Optional(ATTR_DESTINATION_QUEUE): cv.string,
        },
        probatio.ExactlyOne(*TRANSFER_TARGETS),
    )
)
QUEUE_MEMBER_SCHEMA = probatio.Schema(
    {
        **_OPTIONAL_ENTRY,
        probatio.Required(ATTR_AGENT): cv.string,
        probatio.Required(ATTR_QUEUE): cv.string,
    }
)
# The agent may log in at another line than their own (Daktela's extension).
QUEUE_LOGIN_SCHEMA = QUEUE_MEMBER_SCHEMA.extend({probatio.Optional(ATTR_LINE): cv.string})
QUEUE_KICK_SCHEMA = probatio.Schema(
    {
        **_OPTIONAL_ENTRY,
        probatio.Required(ATTR_QUEUE): cv.string,
        probatio.Required(ATTR_CALL_ID): _TEXT,
    }
)


type ActionHandler = Callable[[HomeAssistant, ActionCall], Awaitable[dict[str, Any] | None]]


def _no_fields(declaration: ProviderDeclaration) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True, kw_only=True)
class PbxAction:
    """One action: its schema, the capability it needs and what it does.

    `optional_fields`: the fields not every provider honours; `honoured_fields`: those
    the account's provider does (from its declaration). The others are refused.
    """

    name: str
    capability: Capability
    schema: probatio.Schema
    handler: ActionHandler
    supports_response: SupportsResponse = SupportsResponse.NONE
    optional_fields: frozenset[str] = frozenset()
    honoured_fields: Callable[[ProviderDeclaration], frozenset[str]] = _no_fields


# --- checks before a request ---------------------------------------------------------


def _raise_validation(key: str, **placeholders: str) -> NoReturn:
    raise ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


@dataclass(frozen=True, slots=True)
class DeviceObject:
    """The agent, queue or line a device field names."""

    kind: ObjectKind
    object_id: str
    name: str  # the device's name, for messages


# What each device field accepts, as the services.yaml selectors filter it.
DEVICE_FIELD_KINDS: dict[str, frozenset[ObjectKind]] = {
    ATTR_SOURCE_DEVICE: frozenset({ObjectKind.AGENT, ObjectKind.LINE}),
    ATTR_AGENT: frozenset({ObjectKind.AGENT}),
    ATTR_QUEUE: frozenset({ObjectKind.QUEUE}),
    ATTR_LINE: frozenset({ObjectKind.LINE}),
    ATTR_DESTINATION_AGENT: frozenset({ObjectKind.AGENT}),
    ATTR_DESTINATION_QUEUE: frozenset({ObjectKind.QUEUE}),
}


@dataclass(frozen=True, kw_only=True)
class ActionCall:
    """A checked action call: its account, data and the objects its device fields name."""

    entry: PbxConfigEntry
    data: dict[str, Any]
    objects: dict[str, DeviceObject]

    def object_id(self, field: str) -> str:
        return self.objects[field].object_id


def _resolve(hass: HomeAssistant, action: PbxAction, data: dict[str, Any]) -> ActionCall:
    """Check a call: its entry (by `config_entry_id` or its devices) is loaded and offers
    `action`, and each device field names an object of the right kind of that entry."""
    registry = dr.async_get(hass)
    entry_id: str | None = data.get(ATTR_CONFIG_ENTRY_ID)
    entry = _offering_entry(hass, action, entry_id) if entry_id is not None else None
    devices: dict[str, dr.DeviceEntry] = {}
    for field in sorted(DEVICE_FIELD_KINDS.keys() & data.keys()):
        device = registry.async_get(data[field], include_child_devices=False)
        if device is None:
            _raise_validation("action_device_not_found", action=action.name, field=field)
        ours = [
            config_entry_id
            for config_entry_id in device.config_entries
            if (owner := hass.config_entries.async_get_entry(config_entry_id))
            and owner.domain == DOMAIN
        ]
        placeholders = {"action": action.name, "field": field, "device": _name(device)}
        if not ours:
            _raise_validation("action_device_not_ours", **placeholders)
        if entry_id is not None and ours[0] != entry_id:
            _raise_validation("action_device_of_another_account", **placeholders)
        entry_id = ours[0]
        devices[field] = device
    if entry is None:
        entry = _offering_entry(hass, action, entry_id)
    unique_id = entry.runtime_data.coordinator.unique_id
    objects: dict[str, DeviceObject] = {}
    for field, device in devices.items():
        found = device_object(unique_id, device.identifiers)
        if found is None or found[0] not in DEVICE_FIELD_KINDS[field]:
            _raise_validation(
                "action_wrong_device", action=action.name, field=field, device=_name(device)
            )
        objects[field] = DeviceObject(found[0], found[1], _name(device))
    _refuse_unhonoured_fields(action, entry, data)
    return ActionCall(entry=entry, data=data, objects=objects)


def _offering_entry(hass: HomeAssistant, action: PbxAction, entry_id: str | None) -> PbxConfigEntry:
    """The loaded entry `entry_id`, whose provider offers `action`."""
    # Home Assistant's own check, with its translated errors: it exists, is ours, is loaded.
    entry = cast("PbxConfigEntry", async_get_config_entry(hass, DOMAIN, entry_id))
    client = entry.runtime_data.client
    if not client.supports(action.capability):
        _raise_validation("action_not_supported", provider=client.title, action=action.name)
    return entry


def _refuse_unhonoured_fields(
    action: PbxAction, entry: PbxConfigEntry, data: dict[str, Any]
) -> None:
    """Refuse a field the user set that the provider would drop: the call would not
    behave as asked. `False` leaves a behaviour off, as leaving the field out does."""
    client = entry.runtime_data.client
    honoured = action.honoured_fields(client.declaration)
    for field in sorted(action.optional_fields & data.keys()):
        if data[field] is not False and field not in honoured:
            _raise_validation(
                "action_field_unsupported", action=action.name, provider=client.title, field=field
            )


def _name(device: dr.DeviceEntry) -> str:
    return device.name_by_user or device.name or device.id


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


def _dial_source(call: ActionCall) -> DialSource | None:
    """Where the call starts: the source device, the free source, or the default one."""
    entry, data = call.entry, call.data
    client = entry.runtime_data.client
    if ATTR_SOURCE_DEVICE in call.objects:
        source = call.objects[ATTR_SOURCE_DEVICE]
        declaration = client.declaration
        kind = (
            declaration.agent_dial_source
            if source.kind is ObjectKind.AGENT
            else declaration.line_dial_source
        )
        registration = entry.runtime_data.coordinator.data.registrations.get(source.object_id)
        if kind is None or (registration is not None and registration.kind is SipKind.TRUNK):
            _raise_validation("action_not_a_dial_source", provider=client.title, device=source.name)
        return DialSource(kind, source.object_id)
    if ATTR_SOURCE in data:
        return DialSource(DialSourceKind(data[ATTR_SOURCE_KIND]), data[ATTR_SOURCE])
    if (default_source := entry.options.get(CONF_DEFAULT_DIAL_SOURCE)) and (
        default_kind := entry.options.get(CONF_DEFAULT_DIAL_SOURCE_KIND)
    ):
        return DialSource(DialSourceKind(default_kind), default_source)
    return None


async def _async_dial(hass: HomeAssistant, call: ActionCall) -> dict[str, Any]:
    entry, data = call.entry, call.data
    number = _number(entry, SERVICE_DIAL, ATTR_NUMBER, data[ATTR_NUMBER])
    source = _dial_source(call)
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


async def _async_send_sms(hass: HomeAssistant, call: ActionCall) -> dict[str, Any]:
    entry, data = call.entry, call.data
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


async def _async_announce(hass: HomeAssistant, call: ActionCall) -> dict[str, Any]:
    entry, data = call.entry, call.data
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


async def _async_hangup(hass: HomeAssistant, call: ActionCall) -> None:
    key = next(key for key in HANGUP_TARGETS if key in call.data)
    value = call.object_id(key) if key in call.objects else call.data[key]
    with pbx_errors(hass, call.entry, SERVICE_HANGUP):
        await call.entry.runtime_data.client.async_hangup(
            HangupRequest(kind=HANGUP_TARGETS[key], value=value)
        )


async def _async_transfer(hass: HomeAssistant, call: ActionCall) -> None:
    entry, data = call.entry, call.data
    client = entry.runtime_data.client
    field = next(key for key in TRANSFER_TARGETS if key in data)
    target, capability = TRANSFER_TARGETS[field]
    if capability is not None and not client.supports(capability):
        _raise_validation(
            "action_not_supported", provider=client.title, action=f"{SERVICE_TRANSFER} ({field})"
        )
    if target is not TransferTargetKind.NUMBER:
        with pbx_errors(hass, entry, SERVICE_TRANSFER):
            await client.async_transfer(
                TransferRequest(data[ATTR_CALL_ID], call.object_id(field), target)
            )
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


async def _async_queue_login(hass: HomeAssistant, call: ActionCall) -> None:
    line = call.object_id(ATTR_LINE) if ATTR_LINE in call.objects else None
    with pbx_errors(hass, call.entry, SERVICE_QUEUE_LOGIN):
        await call.entry.runtime_data.client.async_queue_login(
            call.object_id(ATTR_AGENT), call.object_id(ATTR_QUEUE), line
        )


async def _async_queue_logout(hass: HomeAssistant, call: ActionCall) -> None:
    with pbx_errors(hass, call.entry, SERVICE_QUEUE_LOGOUT):
        await call.entry.runtime_data.client.async_queue_logout(
            call.object_id(ATTR_AGENT), call.object_id(ATTR_QUEUE)
        )


async def _async_queue_kick(hass: HomeAssistant, call: ActionCall) -> None:
    with pbx_errors(hass, call.entry, SERVICE_QUEUE_KICK):
        await call.entry.runtime_data.client.async_queue_kick(
            call.object_id(ATTR_QUEUE), call.data[ATTR_CALL_ID]
        )


ACTIONS: tuple[PbxAction, ...] = (
    PbxAction(
        name=SERVICE_DIAL,
        capability=Capability.DIAL,
        schema=DIAL_SCHEMA,
        handler=_async_dial,
        supports_response=SupportsResponse.OPTIONAL,
        optional_fields=frozenset(DialField),
        honoured_fields=attrgetter("dial_fields"),
    ),
    PbxAction(
        name=SERVICE_SEND_SMS,
        capability=Capability.SEND_SMS,
        schema=SEND_SMS_SCHEMA,
        handler=_async_send_sms,
        supports_response=SupportsResponse.OPTIONAL,
        optional_fields=frozenset(SmsField),
        honoured_fields=attrgetter("sms_fields"),
    ),
    PbxAction(
        name=SERVICE_ANNOUNCE,
        capability=Capability.ANNOUNCE,
        schema=ANNOUNCE_SCHEMA,
        handler=_async_announce,
        supports_response=SupportsResponse.OPTIONAL,
        optional_fields=frozenset(AnnounceField),
        honoured_fields=attrgetter("announce_fields"),
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


async def _async_handle(action: PbxAction, service_call: ServiceCall) -> ServiceResponse:
    call = _resolve(service_call.hass, action, dict(service_call.data))
    response = await action.handler(service_call.hass, call)
    return response if service_call.return_response else None


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
