"""What a provider declares about itself, so that the integration needs no code per provider.

Each client class sets `declaration = ProviderDeclaration(...)`. The Home Assistant layer
builds from it the config flow (one form per provider), reauth and reconfigure, the options
form and its validation, the diagnostics redaction, the webhook setup text, the balance
sensor's unit and the polling interval. Pure data, no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from .models import AnnounceField, Capability, DialField, DialSourceKind, SmsField
from .numbers import NumberPlan

# Option keys the integration offers to every provider with the matching capability. They
# are the keys stored in a config entry's options: never rename one without a migration.
OPTION_DEFAULT_DIAL_SOURCE_KIND = "default_dial_source_kind"  # user | extension | line
OPTION_DEFAULT_DIAL_SOURCE = "default_dial_source"
OPTION_SMS_SENDER = "sms_sender"  # sender id / number id SMS are sent from
OPTION_SMS_RECIPIENTS = "sms_recipients"  # numbers that each get a notify entity
OPTION_WEBHOOK_SECRET = "webhook_secret"  # noqa: S105 - a key, not a secret
OPTION_AUTO_REGISTER_WEBHOOK = "auto_register_webhook"
# The key of a provider's WEBHOOK_TARGETS option (webhook registration reads it there).
OPTION_WEBHOOK_TARGETS = "hook_numbers"


class OptionKind(StrEnum):
    """How an option is entered, and what is stored.

    TEXT, SECRET: one line (str). BOOLEAN: a toggle (bool). CHOICE: one of `choices`
    (str; labels are translated under `selector.<key>.options`). TEXT_LIST: several lines
    (list of str). PHONE_NUMBERS: numbers, stored as E.164 (list of str). MAPPING: lines of
    `key: value` (dict of str). WEBHOOK_TARGETS: ids chosen among what the client's
    `async_webhook_targets` lists, typed when it cannot be read (list of str).
    """

    TEXT = "text"
    SECRET = "secret"  # noqa: S105 - a kind, not a secret
    BOOLEAN = "boolean"
    CHOICE = "choice"
    TEXT_LIST = "text_list"
    PHONE_NUMBERS = "phone_numbers"
    MAPPING = "mapping"
    WEBHOOK_TARGETS = "webhook_targets"


@dataclass(frozen=True, slots=True)
class ConnectionField:
    """One field of a provider's connection form, stored in the entry's data.

    `secret` fields are masked in the form, asked again at reauth and redacted everywhere;
    `is_url` fields must be http(s) addresses; `pattern` (a regular expression the stripped
    value must match in full) refuses other values with the error `invalid_format`.
    Translations: `config.step.<provider>.data.<key>` (and `data_description`), and the
    same under `reauth_confirm` and `reconfigure`.
    """

    key: str
    secret: bool = False
    required: bool = True
    is_url: bool = False
    default: str | None = None
    pattern: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionField:
    """One option of an account: how it is entered (`kind`), checked and stored.

    To add an option to a provider, append an `OptionField` to its declaration's `options`
    and give `options.step.init.data.<key>` and `data_description.<key>` in strings.json
    (under `init_webhook` as a `[%key:…%]` reference to those) and every translation (en.json
    from strings.json: `python -m tests.test_translations`); the options form, its validation,
    the redaction and the client's `options` follow. The client reads the stored value as
    `self._options.get(key)` (`for_client=False` keeps it from the client).

    `pattern`: every entered value (each line; for MAPPING each value) must match it in full,
    otherwise the form shows the error `invalid_<key>` (translate it under `options.error`).
    `secret`: the values are masked, kept out of client messages and redacted in diagnostics;
    `redact`: redacted in diagnostics only (phone numbers, for example).
    `together_with`: this option and that one are set together or not at all (error
    `incomplete_<key>`, shown on this one).
    """

    key: str
    kind: OptionKind = OptionKind.TEXT
    default: str | bool | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    secret: bool = False
    redact: bool = False
    for_client: bool = True
    together_with: str | None = None


def paste_url(url: str) -> str:
    """Setup text of a provider with one place for the webhook URL: the URL itself."""
    return f"`{url}`"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderDeclaration:
    """Everything the integration needs to know about a provider, in its client module.

    `provider` is the id (config entries store it, the flow's step and translations use it);
    `title` names the provider in messages. `connection_fields` make the connection form,
    `options` the provider's own options (the common ones follow from `capabilities`, see
    `COMMON_OPTIONS`). `webhook_methods` are the HTTP methods the provider calls our
    webhook with (empty: no push); `webhook_setup(url)` is what to paste where at the
    provider, in the provider's own syntax (a provider that registers the webhook on chosen
    targets declares an option of kind WEBHOOK_TARGETS with the key `OPTION_WEBHOOK_TARGETS`).
    `push_sees_every_call`: False where the push reports only some calls (Yemot's API
    extension sees the calls routed through it), so call events are also derived from
    polling the active calls.
    `balance_currency`: the ISO 4217 code of `Snapshot.balance`. `redact_keys`: entry data,
    option and snapshot keys that diagnostics hide besides the secrets (logins, account
    numbers). `poll_interval`: how often the snapshot is read, chosen from what a refresh
    costs at the provider and whether it pushes events (README, "Polling").
    `number_plan`: how the provider writes phone numbers (`numbers.NumberPlan`).
    `account_id_is_address`: the API names no account, so `async_validate`'s account id
    is only the address it was given; the entry then gets an id of its own (its address
    may change), and an account is recognised by its address.
    `on_premises`: the phone system runs on the user's own server (not a cloud service);
    `admin_path`: its administration page, on the host of the account's address.
    `agent_dial_source` / `line_dial_source`: what an agent's or a SIP extension's id is as
    the source of a dial (None: a call cannot start from that device).
    `line_states`: the documented values of `SipRegistration.status` (its first word, any
    case) and the state each is shown as; with them the status is an enum sensor.
    `dial_fields`, `announce_fields`, `sms_fields`: the optional request fields the client
    sends on to the provider; a request that sets another one is refused before it is
    sent, so that no call behaves otherwise than asked. A field the client honours for
    some sources only is declared, and the client refuses it for the others.
    """

    provider: str
    title: str
    connection_fields: tuple[ConnectionField, ...]
    capabilities: frozenset[Capability]
    poll_interval: timedelta
    number_plan: NumberPlan
    options: tuple[OptionField, ...] = ()
    webhook_methods: frozenset[str] = frozenset()
    webhook_setup: Callable[[str], str] = paste_url
    push_sees_every_call: bool = True
    balance_currency: str | None = None
    redact_keys: frozenset[str] = frozenset()
    account_id_is_address: bool = False
    on_premises: bool = False
    admin_path: str = "/"
    agent_dial_source: DialSourceKind | None = None
    line_dial_source: DialSourceKind | None = None
    line_states: Mapping[str, str] = field(default_factory=dict)
    dial_fields: frozenset[DialField] = frozenset()
    announce_fields: frozenset[AnnounceField] = frozenset()
    sms_fields: frozenset[SmsField] = frozenset()

    @property
    def all_options(self) -> tuple[OptionField, ...]:
        """The options form of this provider: the common ones it has use for, then its own."""
        common = tuple(option for option, wanted in COMMON_OPTIONS if wanted(self))
        return common + self.options

    @property
    def secret_fields(self) -> tuple[ConnectionField, ...]:
        """The connection fields that hold credentials."""
        return tuple(fld for fld in self.connection_fields if fld.secret)


def _pushes(declaration: ProviderDeclaration) -> bool:
    return bool(declaration.webhook_methods)


def _has(capability: Capability) -> Callable[[ProviderDeclaration], bool]:
    return lambda declaration: capability in declaration.capabilities


# The options every provider gets when it has the capability they serve, in form order.
COMMON_OPTIONS: tuple[tuple[OptionField, Callable[[ProviderDeclaration], bool]], ...] = (
    (
        OptionField(
            key=OPTION_DEFAULT_DIAL_SOURCE_KIND,
            kind=OptionKind.CHOICE,
            choices=tuple(DialSourceKind),
            for_client=False,
        ),
        _has(Capability.DIAL),
    ),
    (
        OptionField(
            key=OPTION_DEFAULT_DIAL_SOURCE,
            redact=True,  # may be a phone number
            for_client=False,
            together_with=OPTION_DEFAULT_DIAL_SOURCE_KIND,
        ),
        _has(Capability.DIAL),
    ),
    (OptionField(key=OPTION_SMS_SENDER, redact=True), _has(Capability.SEND_SMS)),
    (
        OptionField(
            key=OPTION_SMS_RECIPIENTS,
            kind=OptionKind.PHONE_NUMBERS,
            redact=True,
            for_client=False,
        ),
        _has(Capability.SEND_SMS),
    ),
    (
        OptionField(
            key=OPTION_WEBHOOK_SECRET, kind=OptionKind.SECRET, secret=True, for_client=False
        ),
        _pushes,
    ),
    (
        OptionField(
            key=OPTION_AUTO_REGISTER_WEBHOOK,
            kind=OptionKind.BOOLEAN,
            default=False,
            for_client=False,
        ),
        _has(Capability.REGISTER_WEBHOOK),
    ),
)
