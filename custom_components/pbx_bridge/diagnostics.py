"""Diagnostics: the entry's settings and the latest snapshot, without secrets or numbers."""

from __future__ import annotations

from dataclasses import asdict
import re
from typing import Any, cast

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .api import PROVIDERS, ProviderDeclaration
from .api.declaration import COMMON_OPTIONS
from .const import CONF_REGISTERED_WEBHOOK, CONF_WEBHOOK_ID
from .coordinator import PbxConfigEntry

ACCOUNT_ID_MASK = "**ACCOUNT**"

# Entry: our webhook id and what we registered; the title and unique id hold the account id,
# which for some providers is a phone number. The provider's declaration adds the rest.
TO_REDACT_ENTRY = {"title", "unique_id", CONF_WEBHOOK_ID, CONF_REGISTERED_WEBHOOK}
# Snapshot: phone numbers of calls and SMS, message texts and provider fields as received,
# SIP contacts (they carry the user name), and the account id and name.
TO_REDACT_SNAPSHOT = {
    "account",
    "caller",
    "callee",
    "call_partner",
    "last_caller",
    "missed_callers",
    "line",
    "sender",
    "recipient",
    "text",
    "raw",
    "contact",
    "ip",
}
# Credentials a user wrote into an address (http://user:pass@pbx).
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def _keys_to_redact(declaration: ProviderDeclaration) -> set[str]:
    """Credentials, secret options and the keys the provider declares sensitive."""
    return (
        {fld.key for fld in declaration.secret_fields}
        | {option.key for option in declaration.options if option.secret or option.redact}
        | {option.key for option, _ in COMMON_OPTIONS if option.secret or option.redact}
        | declaration.redact_keys
    )


# Every provider's, whatever the entry's: an entry may hold options another provider uses.
TO_REDACT_ENTRY |= {key for cls in PROVIDERS.values() for key in _keys_to_redact(cls.declaration)}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PbxConfigEntry
) -> dict[str, Any]:
    """Settings, capabilities and the latest snapshot of an account."""
    coordinator = entry.runtime_data.coordinator
    client = entry.runtime_data.client
    diagnostics = {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT_ENTRY),
        "provider": client.title,
        "capabilities": sorted(client.capabilities),
        "last_update_success": coordinator.last_update_success,
        "snapshot": async_redact_data(
            _lists(asdict(coordinator.data)), TO_REDACT_SNAPSHOT | client.declaration.redact_keys
        ),
    }
    # Some providers build line ids from the account id, which can be a phone number.
    return cast(dict[str, Any], _without(diagnostics, coordinator.data.account.account_id))


def _without(value: Any, account_id: str) -> Any:
    """`value` with `account_id` and credentials in URLs masked in every key and text."""
    if isinstance(value, dict):
        return {
            _without(key, account_id): _without(item, account_id) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without(item, account_id) for item in value]
    if isinstance(value, str):
        text = _URL_CREDENTIALS.sub(f"{REDACTED}@", value)
        return text.replace(account_id, ACCOUNT_ID_MASK) if account_id else text
    return value


def _lists(value: Any) -> Any:
    """`value` with tuples and sets as lists (sets sorted, so diagnostics are stable):
    redaction only looks into dicts and lists."""
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    if isinstance(value, set | frozenset):
        return [_lists(item) for item in sorted(value)]
    return value
