"""Config flow: choose a provider, connect to the account, and the account's options."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio
from yarl import URL

from . import PbxConfigEntry, create_client
from .api import PROVIDERS, ConnectionField, PbxClient, client_class
from .api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxInvalidInput,
    PbxRateLimitError,
    PbxResponseError,
)
from .api.models import AccountInfo, Capability, DialSourceKind
from .api.numbers import normalize_number
from .const import (
    CONF_AGENT_PINS,
    CONF_AUTO_REGISTER_WEBHOOK,
    CONF_DEFAULT_DIAL_SOURCE,
    CONF_DEFAULT_DIAL_SOURCE_KIND,
    CONF_HOOK_NUMBERS,
    CONF_PROVIDER,
    CONF_QUEUE_PATHS,
    CONF_SCAN_INTERVAL,
    CONF_SMS_RECIPIENTS,
    CONF_SMS_SENDER,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
)
from .webhook import webhook_setup_text

BASE = "base"
# Options only some providers need, beyond what their capabilities imply.
PROVIDER_OPTIONS: dict[str, tuple[str, ...]] = {
    "voipsun": (CONF_AGENT_PINS,),  # agent actions need each agent's PIN
    "yemot": (CONF_QUEUE_PATHS,),  # the API cannot list queues
    "telfa": (CONF_HOOK_NUMBERS,),  # hook URLs are set per number
}


class InvalidHostError(Exception):
    """The URL a user typed cannot be a provider's address."""


def _check_urls(cls: type[PbxClient], values: Mapping[str, Any]) -> None:
    for fld in cls.connection_fields:
        if fld.is_url and (value := values.get(fld.key)):
            url = URL(str(value).strip())
            if url.scheme not in ("http", "https") or not url.host:
                raise InvalidHostError


def _connection_values(cls: type[PbxClient], user_input: Mapping[str, Any]) -> dict[str, str]:
    """The non-empty connection fields of `user_input`, stripped."""
    keys = {fld.key for fld in cls.connection_fields}
    return {
        key: text
        for key, value in user_input.items()
        if key in keys and (text := str(value).strip())
    }


def _secret_fields(cls: type[PbxClient]) -> list[ConnectionField]:
    return [fld for fld in cls.connection_fields if fld.secret]


def _auth_error_field(cls: type[PbxClient]) -> str:
    """Where a rejected login shows: on the one secret field, or on the form for several."""
    secrets = _secret_fields(cls)
    return secrets[0].key if len(secrets) == 1 else BASE


def _url_field(cls: type[PbxClient]) -> str:
    return next((fld.key for fld in cls.connection_fields if fld.is_url), BASE)


def _connection_schema(
    cls: type[PbxClient],
    suggested: Mapping[str, Any],
    *,
    only_secrets: bool = False,
    keep_secrets: bool = False,
) -> probatio.Schema:
    """The form of `cls`'s connection fields.

    `keep_secrets` (reconfigure): secret fields may stay empty to keep the stored value.
    """
    schema: dict[probatio.Marker, Any] = {}
    for fld in cls.connection_fields:
        if only_secrets and not fld.secret:
            continue
        if fld.secret:
            selector = TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
            )
        elif fld.is_url:
            selector = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
        else:
            selector = TextSelector(TextSelectorConfig(autocomplete="off"))
        value = None if fld.secret else suggested.get(fld.key, fld.default)
        description = {"suggested_value": value} if value else None
        if fld.required and not (fld.secret and keep_secrets):
            schema[probatio.Required(fld.key, description=description)] = selector
        else:
            schema[probatio.Optional(fld.key, description=description)] = selector
    return probatio.Schema(schema)


class PbxConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a phone system account."""

    VERSION = 1

    _provider: str

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: PbxConfigEntry) -> PbxOptionsFlow:
        """The options of an account."""
        return PbxOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the provider."""
        return self.async_show_menu(step_id="user", menu_options=list(PROVIDERS))

    async def async_step_telfa(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect a Telfa account."""
        return await self._async_step_connect("telfa", user_input)

    async def async_step_daktela(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a Daktela instance."""
        return await self._async_step_connect("daktela", user_input)

    async def async_step_odorik(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect an Odorik account."""
        return await self._async_step_connect("odorik", user_input)

    async def async_step_yemot(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect a Yemot (call2all) system."""
        return await self._async_step_connect("yemot", user_input)

    async def async_step_voipsun(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a VoIPSUN PBX."""
        return await self._async_step_connect("voipsun", user_input)

    async def _async_validate(
        self, provider: str, values: dict[str, str]
    ) -> tuple[AccountInfo | None, dict[str, str]]:
        """Connect with `values`; the account, or the errors to show on the form."""
        cls = client_class(provider)
        try:
            _check_urls(cls, values)
        except InvalidHostError:
            return None, {_url_field(cls): "invalid_host"}
        secrets = _secret_fields(cls)
        if secrets and not any(values.get(fld.key) for fld in secrets):
            return None, {BASE: "credentials_required"}
        client = create_client(self.hass, {CONF_PROVIDER: provider, **values})
        try:
            return await client.async_validate(), {}
        except PbxAuthError:
            return None, {_auth_error_field(cls): "invalid_auth"}
        except PbxConnectionError, PbxRateLimitError, PbxResponseError:
            # A host that answers, but not as this provider's API, is as good as unreachable.
            return None, {_url_field(cls): "cannot_connect"}
        except PbxError:
            LOGGER.exception("Unexpected error from %s", cls.title)
            return None, {BASE: "unknown"}

    async def _async_step_connect(
        self, provider: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        cls = client_class(provider)
        errors: dict[str, str] = {}
        suggested: Mapping[str, Any] = {}
        if user_input is not None:
            values = _connection_values(cls, user_input)
            account, errors = await self._async_validate(provider, values)
            if account is not None:
                await self.async_set_unique_id(f"{provider}_{account.account_id}")
                self._abort_if_unique_id_configured()
                webhook_id = webhook.async_generate_id()
                data = {CONF_PROVIDER: provider, **values, CONF_WEBHOOK_ID: webhook_id}
                title = account.name  # the client names the provider and the account
                if not cls.webhook_methods:
                    return self.async_create_entry(title=title, data=data)
                # Providers that push events need our address: show it and where it goes.
                urls, setup = webhook_setup_text(self.hass, provider, webhook_id, None)
                return self.async_create_entry(
                    title=title,
                    data=data,
                    description="webhook",
                    description_placeholders={"provider": cls.title, "urls": urls, "setup": setup},
                )
            suggested = values
        return self.async_show_form(
            step_id=provider,
            data_schema=_connection_schema(cls, suggested),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The provider rejected the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new credentials of the same account."""
        entry = self._get_reauth_entry()
        provider = entry.data[CONF_PROVIDER]
        cls = client_class(provider)
        errors: dict[str, str] = {}
        if user_input is not None:
            # The stored secrets were rejected: replace them all, keep the address.
            values = {
                **_connection_values(cls, entry.data),
                **_connection_values(cls, user_input),
            }
            for fld in _secret_fields(cls):
                if fld.key not in user_input:
                    values.pop(fld.key, None)
            account, errors = await self._async_validate(provider, values)
            if account is not None:
                await self.async_set_unique_id(f"{provider}_{account.account_id}")
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return self.async_update_reload_and_abort(entry, data=_entry_data(entry, values))
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=_connection_schema(cls, {}, only_secrets=True),
            description_placeholders={"provider": cls.title, "account": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the address or credentials of the same account."""
        entry = self._get_reconfigure_entry()
        provider = entry.data[CONF_PROVIDER]
        cls = client_class(provider)
        errors: dict[str, str] = {}
        suggested: Mapping[str, Any] = entry.data
        if user_input is not None:
            entered = _connection_values(cls, user_input)
            kept_secrets = {
                fld.key: entry.data[fld.key]
                for fld in _secret_fields(cls)
                if fld.key not in entered and fld.key in entry.data
            }
            values = {**kept_secrets, **entered}
            account, errors = await self._async_validate(provider, values)
            if account is not None:
                await self.async_set_unique_id(f"{provider}_{account.account_id}")
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return self.async_update_reload_and_abort(entry, data=_entry_data(entry, values))
            suggested = entered
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(cls, suggested, keep_secrets=True),
            description_placeholders={"provider": cls.title},
            errors=errors,
        )


def _entry_data(entry: PbxConfigEntry, values: Mapping[str, str]) -> dict[str, Any]:
    """New data of `entry`: the same provider and webhook, these connection fields."""
    return {
        CONF_PROVIDER: entry.data[CONF_PROVIDER],
        **values,
        CONF_WEBHOOK_ID: entry.data[CONF_WEBHOOK_ID],
    }


def _webhook_placeholders(
    hass: HomeAssistant, entry: PbxConfigEntry, cls: type[PbxClient]
) -> dict[str, str]:
    """The webhook addresses and setup lines the form's translated text shows."""
    urls, setup = webhook_setup_text(
        hass, cls.provider, entry.data[CONF_WEBHOOK_ID], entry.options.get(CONF_WEBHOOK_SECRET)
    )
    return {"urls": urls, "setup": setup}


def _parse_agent_pins(text: str) -> dict[str, str]:
    """`1001: 1234` lines (or `1001=1234`, comma separated) -> {agent number: PIN}."""
    pins: dict[str, str] = {}
    for item in text.replace(",", "\n").splitlines():
        if not item.strip():
            continue
        agent, separator, pin = item.replace("=", ":").partition(":")
        agent, pin = agent.strip(), pin.strip()
        if not separator or not agent or not pin.isdigit():
            raise PbxInvalidInput("an agent PIN line is not `agent: PIN`")
        pins[agent] = pin
    return pins


class PbxOptionsFlow(OptionsFlowWithReload):
    """Polling, provider extras, SMS recipients and the webhook secret of an account."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the options the provider has use for."""
        return await self._async_step_options(user_input)

    async def async_step_init_webhook(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The same, for providers that push events: the form also shows the webhook."""
        return await self._async_step_options(user_input)

    async def _async_step_options(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        entry: PbxConfigEntry = self.config_entry
        cls = client_class(entry.data[CONF_PROVIDER])
        errors: dict[str, str] = {}
        current: dict[str, Any] = dict(entry.options)
        if user_input is not None:
            options, errors = self._options_from_input(cls, user_input)
            if not errors:
                return self.async_create_entry(data=options)
            current = {**user_input}
        else:
            pins = current.get(CONF_AGENT_PINS)
            if pins:
                current[CONF_AGENT_PINS] = "\n".join(f"{a}: {p}" for a, p in pins.items())
        targets = await self._async_hook_targets(cls)
        placeholders = {"provider": cls.title}
        if cls.webhook_methods:
            placeholders |= _webhook_placeholders(self.hass, entry, cls)
        return self.async_show_form(
            step_id="init_webhook" if cls.webhook_methods else "init",
            data_schema=self.add_suggested_values_to_schema(
                _options_schema(cls, targets, current.get(CONF_HOOK_NUMBERS, ())),
                {CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL, **current},
            ),
            description_placeholders=placeholders,
            errors=errors,
        )

    async def _async_hook_targets(self, cls: type[PbxClient]) -> dict[str, str] | None:
        """The account's numbers to choose hooks on, or None when they cannot be read."""
        if CONF_HOOK_NUMBERS not in PROVIDER_OPTIONS.get(cls.provider, ()):
            return None
        entry: PbxConfigEntry = self.config_entry
        if entry.state is ConfigEntryState.LOADED:
            client = entry.runtime_data.client
        else:
            client = create_client(self.hass, entry.data, entry.options)
        try:
            return await client.async_webhook_targets()
        except PbxError as err:
            LOGGER.debug("Cannot list the %s numbers: %s", cls.title, err)
            return None

    def _options_from_input(
        self, cls: type[PbxClient], user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        options: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for key, raw in user_input.items():
            value = raw.strip() if isinstance(raw, str) else raw
            if value in ("", None, []):
                continue
            options[key] = value
        options[CONF_SCAN_INTERVAL] = int(options[CONF_SCAN_INTERVAL])
        if CONF_AGENT_PINS in options:
            try:
                options[CONF_AGENT_PINS] = _parse_agent_pins(options[CONF_AGENT_PINS])
            except PbxInvalidInput:
                errors[CONF_AGENT_PINS] = "invalid_agent_pins"
        if recipients := options.get(CONF_SMS_RECIPIENTS):
            try:
                options[CONF_SMS_RECIPIENTS] = list(
                    dict.fromkeys(
                        normalize_number(str(number), cls.default_country_code)
                        for number in recipients
                    )
                )
            except PbxInvalidInput:
                errors[CONF_SMS_RECIPIENTS] = "invalid_phone_number"
        if hook_numbers := options.get(CONF_HOOK_NUMBERS):
            options[CONF_HOOK_NUMBERS] = list(dict.fromkeys(str(n).strip() for n in hook_numbers))
            if not all(number_id.isdigit() for number_id in options[CONF_HOOK_NUMBERS]):
                errors[CONF_HOOK_NUMBERS] = "invalid_hook_numbers"
        if (CONF_DEFAULT_DIAL_SOURCE in options) != (CONF_DEFAULT_DIAL_SOURCE_KIND in options):
            errors[CONF_DEFAULT_DIAL_SOURCE] = "dial_source_incomplete"
        return options, errors


def _options_schema(
    cls: type[PbxClient],
    hook_targets: Mapping[str, str] | None = None,
    chosen_targets: Sequence[str] = (),
) -> probatio.Schema:
    """The options `cls` has use for: its capabilities and its provider's extras.

    `hook_targets` (id -> label) are the numbers to choose from; None when they could not
    be read, and the ids are typed instead. `chosen_targets` stay offered even if gone.
    """
    extras = PROVIDER_OPTIONS.get(cls.provider, ())
    text = TextSelector(TextSelectorConfig(autocomplete="off"))
    schema: dict[probatio.Marker, Any] = {
        probatio.Required(CONF_SCAN_INTERVAL): NumberSelector(
            NumberSelectorConfig(
                min=MIN_SCAN_INTERVAL,
                max=MAX_SCAN_INTERVAL,
                step=1,
                mode=NumberSelectorMode.BOX,
                unit_of_measurement="s",
            )
        ),
    }
    if CONF_QUEUE_PATHS in extras:
        schema[probatio.Optional(CONF_QUEUE_PATHS)] = TextSelector(
            TextSelectorConfig(multiple=True, autocomplete="off")
        )
    if CONF_AGENT_PINS in extras:
        schema[probatio.Optional(CONF_AGENT_PINS)] = TextSelector(
            TextSelectorConfig(multiline=True, autocomplete="off")
        )
    if Capability.DIAL in cls.capabilities:
        schema[probatio.Optional(CONF_DEFAULT_DIAL_SOURCE_KIND)] = SelectSelector(
            SelectSelectorConfig(
                options=[kind.value for kind in DialSourceKind],
                translation_key=CONF_DEFAULT_DIAL_SOURCE_KIND,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
        schema[probatio.Optional(CONF_DEFAULT_DIAL_SOURCE)] = text
    if Capability.SEND_SMS in cls.capabilities:
        schema[probatio.Optional(CONF_SMS_SENDER)] = text
        schema[probatio.Optional(CONF_SMS_RECIPIENTS)] = TextSelector(
            TextSelectorConfig(type=TextSelectorType.TEL, multiple=True)
        )
    if Capability.CALL_WEBHOOK in cls.capabilities or Capability.SMS_WEBHOOK in cls.capabilities:
        schema[probatio.Optional(CONF_WEBHOOK_SECRET)] = TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
        )
    if Capability.REGISTER_WEBHOOK in cls.capabilities:
        schema[probatio.Optional(CONF_AUTO_REGISTER_WEBHOOK)] = BooleanSelector()
        if CONF_HOOK_NUMBERS in extras:
            schema[probatio.Optional(CONF_HOOK_NUMBERS)] = _hook_numbers_selector(
                hook_targets, chosen_targets
            )
    return probatio.Schema(schema)


def _hook_numbers_selector(
    targets: Mapping[str, str] | None, chosen: Sequence[str]
) -> SelectSelector | TextSelector:
    if targets is None:
        return TextSelector(TextSelectorConfig(multiple=True, autocomplete="off"))
    labels = {str(number_id): str(number_id) for number_id in chosen}
    labels |= {number_id: f"{number} ({number_id})" for number_id, number in targets.items()}
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=value, label=label) for value, label in labels.items()],
            multiple=True,
            mode=SelectSelectorMode.LIST,
        )
    )
