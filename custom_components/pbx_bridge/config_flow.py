"""Config flow: choose a provider, connect to the account, and the account's options."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
import re
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util.ulid import ulid_now
import probatio
from yarl import URL

from . import create_client
from .api import PROVIDERS, OptionField, OptionKind, PbxClient, ProviderDeclaration, client_class
from .api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxInvalidInput,
    PbxRateLimitError,
    PbxResponseError,
)
from .api.models import AccountInfo
from .api.numbers import normalize_number
from .const import CONF_PROVIDER, CONF_WEBHOOK_ID, CONF_WEBHOOK_SECRET, DOMAIN, LOGGER
from .coordinator import PbxConfigEntry
from .webhook import webhook_setup_text

BASE = "base"


class InvalidHostError(Exception):
    """The URL a user typed cannot be a provider's address."""


def _field_errors(declaration: ProviderDeclaration, values: Mapping[str, str]) -> dict[str, str]:
    """The connection fields whose values their declaration refuses."""
    errors: dict[str, str] = {}
    for fld in declaration.connection_fields:
        if not (value := values.get(fld.key)):
            continue
        if fld.is_url:
            url = URL(value)
            if url.scheme not in ("http", "https") or not url.host:
                errors[fld.key] = "invalid_host"
        elif fld.pattern and not re.fullmatch(fld.pattern, value):
            errors[fld.key] = "invalid_format"
    return errors


def _connection_values(
    declaration: ProviderDeclaration, user_input: Mapping[str, Any]
) -> dict[str, str]:
    """The non-empty connection fields of `user_input`, stripped."""
    keys = {fld.key for fld in declaration.connection_fields}
    return {
        key: text
        for key, value in user_input.items()
        if key in keys and (text := str(value).strip())
    }


def _address(declaration: ProviderDeclaration, data: Mapping[str, Any]) -> tuple[str, int | None]:
    """The host and port an entry's address field names, to tell accounts apart by."""
    url = URL(str(data.get(_url_field(declaration), "")).strip())
    return (url.host or "").lower(), url.port


def _auth_error_field(declaration: ProviderDeclaration) -> str:
    """Where a rejected login shows: on the one secret field, or on the form for several."""
    secrets = declaration.secret_fields
    return secrets[0].key if len(secrets) == 1 else BASE


def _url_field(declaration: ProviderDeclaration) -> str:
    return next((fld.key for fld in declaration.connection_fields if fld.is_url), BASE)


def _connection_schema(
    declaration: ProviderDeclaration,
    suggested: Mapping[str, Any],
    *,
    only_secrets: bool = False,
    keep_secrets: bool = False,
) -> probatio.Schema:
    """The form of the provider's connection fields.

    `keep_secrets` (reconfigure): secret fields may stay empty to keep the stored value.
    """
    schema: dict[probatio.Marker, Any] = {}
    for fld in declaration.connection_fields:
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
    """Add a phone system account: the menu's choice leads to `async_step_<provider>`."""

    VERSION = 1
    # 2: no polling-interval option; an id of its own where the API names no account.
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: PbxConfigEntry) -> PbxOptionsFlow:
        """The options of an account."""
        return PbxOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the provider."""
        return self.async_show_menu(step_id="user", menu_options=list(PROVIDERS))

    async def _async_validate(
        self, declaration: ProviderDeclaration, values: dict[str, str]
    ) -> tuple[AccountInfo | None, dict[str, str]]:
        """Connect with `values`; the account, or the errors to show on the form."""
        if errors := _field_errors(declaration, values):
            return None, errors
        secrets = declaration.secret_fields
        if secrets and not any(values.get(fld.key) for fld in secrets):
            return None, {BASE: "credentials_required"}
        client = create_client(self.hass, {CONF_PROVIDER: declaration.provider, **values})
        try:
            return await client.async_validate(), {}
        except PbxAuthError:
            return None, {_auth_error_field(declaration): "invalid_auth"}
        except PbxConnectionError, PbxRateLimitError, PbxResponseError:
            # A host that answers, but not as this provider's API, is as good as unreachable.
            return None, {_url_field(declaration): "cannot_connect"}
        except PbxError:
            LOGGER.exception("Unexpected error from %s", declaration.title)
            return None, {BASE: "unknown"}

    async def _async_step_connect(
        self, provider: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """The connection form of `provider` (its step id), then the entry."""
        declaration = client_class(provider).declaration
        errors: dict[str, str] = {}
        suggested: Mapping[str, Any] = {}
        if user_input is not None:
            values = _connection_values(declaration, user_input)
            account, errors = await self._async_validate(declaration, values)
            if account is not None:
                await self._async_claim_account(declaration, account, values)
                webhook_id = webhook.async_generate_id()
                data = {CONF_PROVIDER: provider, **values, CONF_WEBHOOK_ID: webhook_id}
                title = account.name  # the client names the provider and the account
                if not declaration.webhook_methods:
                    return self.async_create_entry(title=title, data=data)
                # Providers that push events need our address: show it and where it goes.
                urls, setup = webhook_setup_text(self.hass, provider, webhook_id, None)
                return self.async_create_entry(
                    title=title,
                    data=data,
                    description="webhook",
                    description_placeholders={
                        "provider": declaration.title,
                        "urls": urls,
                        "setup": setup,
                    },
                )
            suggested = values
        return self.async_show_form(
            step_id=provider,
            data_schema=_connection_schema(declaration, suggested),
            errors=errors,
        )

    async def _async_claim_account(
        self,
        declaration: ProviderDeclaration,
        account: AccountInfo,
        values: Mapping[str, str],
        entry: PbxConfigEntry | None = None,
    ) -> None:
        """Refuse an account that is configured already, or (for `entry`) another one.

        Accounts are known by the stable id their provider returns; where the API returns
        none, the entry has an id of its own and an account is known by its address.
        """
        if not declaration.account_id_is_address:
            await self.async_set_unique_id(f"{declaration.provider}_{account.account_id}")
            if entry is None:
                self._abort_if_unique_id_configured()
            else:
                self._abort_if_unique_id_mismatch(reason="wrong_account")
            return
        address = _address(declaration, values)
        for other in self._async_current_entries(include_ignore=False):
            if (
                other.entry_id != (entry.entry_id if entry else None)
                and other.data.get(CONF_PROVIDER) == declaration.provider
                and _address(declaration, other.data) == address
            ):
                raise AbortFlow("already_configured")
        if entry is None:
            await self.async_set_unique_id(f"{declaration.provider}_{ulid_now()}")

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The provider rejected the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new credentials of the same account."""
        entry = self._get_reauth_entry()
        declaration = client_class(entry.data[CONF_PROVIDER]).declaration
        errors: dict[str, str] = {}
        if user_input is not None:
            # The stored secrets were rejected: replace them all, keep the address.
            values = {
                **_connection_values(declaration, entry.data),
                **_connection_values(declaration, user_input),
            }
            for fld in declaration.secret_fields:
                if fld.key not in user_input:
                    values.pop(fld.key, None)
            account, errors = await self._async_validate(declaration, values)
            if account is not None:
                await self._async_claim_account(declaration, account, values, entry)
                return self.async_update_reload_and_abort(entry, data=_entry_data(entry, values))
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=_connection_schema(declaration, {}, only_secrets=True),
            description_placeholders={"provider": declaration.title, "account": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the address or credentials of the same account."""
        entry = self._get_reconfigure_entry()
        declaration = client_class(entry.data[CONF_PROVIDER]).declaration
        errors: dict[str, str] = {}
        suggested: Mapping[str, Any] = entry.data
        if user_input is not None:
            entered = _connection_values(declaration, user_input)
            kept_secrets = {
                fld.key: entry.data[fld.key]
                for fld in declaration.secret_fields
                if fld.key not in entered and fld.key in entry.data
            }
            values = {**kept_secrets, **entered}
            account, errors = await self._async_validate(declaration, values)
            if account is not None:
                await self._async_claim_account(declaration, account, values, entry)
                return self.async_update_reload_and_abort(entry, data=_entry_data(entry, values))
            suggested = entered
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(declaration, suggested, keep_secrets=True),
            description_placeholders={"provider": declaration.title},
            errors=errors,
        )


def _connect_step(
    provider: str,
) -> Callable[[PbxConfigFlow, dict[str, Any] | None], Awaitable[ConfigFlowResult]]:
    async def step(
        flow: PbxConfigFlow, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return await flow._async_step_connect(provider, user_input)  # noqa: SLF001

    step.__doc__ = f"Connect a {client_class(provider).declaration.title} account."
    return step


# The menu's options are step ids: one connection step per declared provider.
for _provider in PROVIDERS:
    setattr(PbxConfigFlow, f"async_step_{_provider}", _connect_step(_provider))


def _entry_data(entry: PbxConfigEntry, values: Mapping[str, str]) -> dict[str, Any]:
    """New data of `entry`: the same provider and webhook, these connection fields."""
    return {
        CONF_PROVIDER: entry.data[CONF_PROVIDER],
        **values,
        CONF_WEBHOOK_ID: entry.data[CONF_WEBHOOK_ID],
    }


def _webhook_placeholders(
    hass: HomeAssistant, entry: PbxConfigEntry, declaration: ProviderDeclaration
) -> dict[str, str]:
    """The webhook addresses and setup lines the form's translated text shows."""
    urls, setup = webhook_setup_text(
        hass,
        declaration.provider,
        entry.data[CONF_WEBHOOK_ID],
        entry.options.get(CONF_WEBHOOK_SECRET),
    )
    return {"urls": urls, "setup": setup}


class PbxOptionsFlow(OptionsFlowWithReload):
    """The options the provider's declaration lists (common ones and its own)."""

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
        declaration = client_class(entry.data[CONF_PROVIDER]).declaration
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = _options_from_input(declaration, user_input)
            if not errors:
                errors = await self._async_refused_options(options)
            if not errors:
                return self.async_create_entry(data=options)
            shown = dict(user_input)
        else:
            shown = _options_shown(declaration, entry.options)
        targets = await self._async_webhook_targets(declaration)
        placeholders = {"provider": declaration.title}
        if declaration.webhook_methods:
            placeholders |= _webhook_placeholders(self.hass, entry, declaration)
        return self.async_show_form(
            step_id="init_webhook" if declaration.webhook_methods else "init",
            data_schema=self.add_suggested_values_to_schema(
                _options_schema(declaration, targets, shown), shown
            ),
            description_placeholders=placeholders,
            errors=errors,
        )

    async def _async_refused_options(self, options: Mapping[str, Any]) -> dict[str, str]:
        """The options the account refuses; none when the provider cannot be asked now
        (they are then refused when used, with their own message)."""
        client = create_client(self.hass, self.config_entry.data, options)
        try:
            return await client.async_check_options()
        except PbxError as err:
            LOGGER.debug("Cannot check the %s options: %s", client.title, err)
            return {}

    async def _async_webhook_targets(
        self, declaration: ProviderDeclaration
    ) -> dict[str, str] | None:
        """Where the webhook can be registered, or None when that cannot be read (or chosen)."""
        if not any(o.kind is OptionKind.WEBHOOK_TARGETS for o in declaration.all_options):
            return None
        entry: PbxConfigEntry = self.config_entry
        client: PbxClient
        if entry.state is ConfigEntryState.LOADED:
            client = entry.runtime_data.client
        else:
            client = create_client(self.hass, entry.data, entry.options)
        try:
            return await client.async_webhook_targets()
        except PbxError as err:
            LOGGER.debug("Cannot list where the %s webhook can go: %s", declaration.title, err)
            return None


def _options_shown(declaration: ProviderDeclaration, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored options as the form shows them, defaults where nothing is stored."""
    shown: dict[str, Any] = {}
    for option in declaration.all_options:
        value = stored.get(option.key, option.default)
        if value is None:
            continue
        if option.kind is OptionKind.MAPPING and isinstance(value, Mapping):
            value = "\n".join(f"{key}: {item}" for key, item in value.items())
        shown[option.key] = value
    return shown


def _parse_mapping(text: str) -> dict[str, str]:
    """`1001: 1234` lines (or `1001=1234`, comma separated) -> {"1001": "1234"}."""
    mapping: dict[str, str] = {}
    for item in text.replace(",", "\n").splitlines():
        if not item.strip():
            continue
        key, separator, value = item.replace("=", ":").partition(":")
        key, value = key.strip(), value.strip()
        if not separator or not key or not value:
            raise PbxInvalidInput("a line is not `key: value`")
        mapping[key] = value
    return mapping


def _option_value(option: OptionField, raw: Any, country_code: str) -> Any:
    """The value to store for what the form sent; `PbxInvalidInput` when it is refused."""
    match option.kind:
        case OptionKind.BOOLEAN:
            return bool(raw)
        case OptionKind.MAPPING:
            value: Any = _parse_mapping(str(raw))
            checked = list(value.values())
        case OptionKind.PHONE_NUMBERS:
            return list(dict.fromkeys(normalize_number(str(n), country_code) for n in raw))
        case OptionKind.TEXT_LIST | OptionKind.WEBHOOK_TARGETS:
            value = list(dict.fromkeys(text for item in raw if (text := str(item).strip())))
            checked = value
        case _:
            value = str(raw).strip()
            checked = [value]
    if option.pattern and not all(re.fullmatch(option.pattern, item) for item in checked):
        raise PbxInvalidInput(f"{option.key} does not have the expected form")
    return value


def _options_from_input(
    declaration: ProviderDeclaration, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The options to store from the form's input, and the errors by field."""
    options: dict[str, Any] = {}
    errors: dict[str, str] = {}
    declared = declaration.all_options
    for option in declared:
        raw = user_input.get(option.key)
        if raw is None or raw == [] or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            value = _option_value(option, raw, declaration.number_plan.country_code)
        except PbxInvalidInput:
            errors[option.key] = f"invalid_{option.key}"
            continue
        if value not in ("", [], {}):
            options[option.key] = value
    for option in declared:
        if option.together_with and (option.key in options) != (option.together_with in options):
            errors.setdefault(option.key, f"incomplete_{option.key}")
    return options, errors


def _options_schema(
    declaration: ProviderDeclaration,
    webhook_targets: Mapping[str, str] | None,
    shown: Mapping[str, Any],
) -> probatio.Schema:
    """The options form: one selector per declared option, by its kind.

    `webhook_targets` (id -> label) are the targets to choose from; None when they could
    not be read, and the ids are typed instead. Chosen targets stay offered even if gone.
    """
    schema: dict[probatio.Marker, Any] = {}
    for option in declaration.all_options:
        if option.kind is OptionKind.WEBHOOK_TARGETS:
            selector: Any = _targets_selector(webhook_targets, shown.get(option.key) or ())
        else:
            selector = _selector(option)
        schema[probatio.Optional(option.key)] = selector
    return probatio.Schema(schema)


def _selector(option: OptionField) -> Any:
    """The form field of an option of any kind but WEBHOOK_TARGETS."""
    match option.kind:
        case OptionKind.BOOLEAN:
            return BooleanSelector()
        case OptionKind.CHOICE:
            return SelectSelector(
                SelectSelectorConfig(
                    options=list(option.choices),
                    translation_key=option.key,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            )
        case OptionKind.SECRET:
            config = TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
        case OptionKind.TEXT_LIST:
            config = TextSelectorConfig(multiple=True, autocomplete="off")
        case OptionKind.PHONE_NUMBERS:
            config = TextSelectorConfig(type=TextSelectorType.TEL, multiple=True)
        case OptionKind.MAPPING:
            config = TextSelectorConfig(multiline=True, autocomplete="off")
        case _:
            config = TextSelectorConfig(autocomplete="off")
    return TextSelector(config)


def _targets_selector(
    targets: Mapping[str, str] | None, chosen: Sequence[str]
) -> SelectSelector | TextSelector:
    if targets is None:
        return TextSelector(TextSelectorConfig(multiple=True, autocomplete="off"))
    labels = {str(target_id): str(target_id) for target_id in chosen}
    labels |= {target_id: f"{label} ({target_id})" for target_id, label in targets.items()}
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=value, label=label) for value, label in labels.items()],
            multiple=True,
            mode=SelectSelectorMode.LIST,
        )
    )
