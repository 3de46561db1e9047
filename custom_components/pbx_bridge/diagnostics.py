"""Diagnostics: the entry's settings and the latest snapshot, without secrets or numbers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import PbxConfigEntry
from .const import (
    CONF_AGENT_PINS,
    CONF_DEFAULT_DIAL_SOURCE,
    CONF_REGISTERED_WEBHOOK,
    CONF_SMS_RECIPIENTS,
    CONF_SMS_SENDER,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
)

ACCOUNT_ID_MASK = "**ACCOUNT**"

# Entry: every credential field of every provider, our webhook id; the title and unique id
# hold the account id, which for Yemot and Odorik is a phone number.
TO_REDACT_ENTRY = {
    "access_token",
    "api_key",
    "login",
    "password",
    "token",
    "user",
    "username",
    "title",
    "unique_id",
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
    CONF_REGISTERED_WEBHOOK,
    CONF_AGENT_PINS,
    CONF_SMS_RECIPIENTS,
    CONF_SMS_SENDER,
    CONF_DEFAULT_DIAL_SOURCE,
}
# Snapshot: phone numbers of calls and SMS, message texts and provider fields as received,
# SIP contacts (they carry the user name), and the account id and name.
TO_REDACT_SNAPSHOT = {
    "account",
    "caller",
    "callee",
    "call_partner",
    "last_caller",
    "line",
    "sender",
    "recipient",
    "text",
    "raw",
    "contact",
}


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
        "snapshot": async_redact_data(_lists(asdict(coordinator.data)), TO_REDACT_SNAPSHOT),
    }
    # Some providers build line ids from the account id, a phone number for Yemot and Odorik.
    return cast(dict[str, Any], _without(diagnostics, coordinator.data.account.account_id))


def _without(value: Any, account_id: str) -> Any:
    """`value` with `account_id` masked in every key and text."""
    if isinstance(value, dict):
        return {
            _without(key, account_id): _without(item, account_id) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without(item, account_id) for item in value]
    if isinstance(value, str):
        return value.replace(account_id, ACCOUNT_ID_MASK)
    return value


def _lists(value: Any) -> Any:
    """`value` with tuples as lists: redaction only looks into dicts and lists.

    Sets (a snapshot's `complete`) become sorted lists: JSON has no sets, and their order
    would change from one run to the next.
    """
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted(_lists(item) for item in value)
    return value
