"""Config entry diagnostics: settings and snapshot without secrets or phone numbers."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props
from yarl import URL

from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.api.providers.voipsun import OPTION_AGENT_PINS
from custom_components.pbx_bridge.const import (
    CONF_SMS_RECIPIENTS,
    CONF_WEBHOOK_SECRET,
)
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options, port_free_snapshot

# Values the simulator takes from the clock or makes up per run.
VOLATILE = {"timestamp", "expires", "started", "answered", "sms_id", "call_id", "state_since"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        stable = {
            key: "<varies>" if key in VOLATILE and item is not None else _stable(item)
            for key, item in value.items()
        }
        if isinstance(stable.get("calls"), dict):  # keyed by call ids, some made of the time
            stable["calls"] = list(stable["calls"].values())
        return stable
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pbx_simulator: RunningSimulator,
    provider: str,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show the snapshot and settings, and none of the secrets or numbers."""
    state = pbx_simulator.state
    agent = next(iter(state.agents.values()))
    call = state.incoming_call("+420777123456", None, queue_id=next(iter(state.queues)))
    state.answer(call.id, agent.id)
    state.receive_sms("+420608111222", next(iter(state.numbers.values())).number, "Secret text")
    options = demo_options(pbx_simulator, provider)
    if OPTION_AGENT_PINS in options:  # PINs that cannot be mistaken for agent numbers
        options[OPTION_AGENT_PINS] = dict.fromkeys(options[OPTION_AGENT_PINS], "864213")
    options |= {
        CONF_SMS_RECIPIENTS: ["+420603999888"],
        CONF_WEBHOOK_SECRET: "hook-secret-value",
    }
    entry = await async_setup_provider(hass, pbx_simulator, provider, options=options)

    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert _stable(result) == port_free_snapshot(snapshot, pbx_simulator)(
        exclude=props("entry_id", "created_at", "modified_at")
    )
    text = json.dumps(result)
    secrets = [
        *(
            pbx_simulator.config[provider][field.key]
            for field in PROVIDERS[provider].connection_fields
            if field.secret and field.key in pbx_simulator.config[provider]
        ),
        "hook-1234",
        "864213",
        "hook-secret-value",
        "777123456",
        "608111222",
        "603999888",
        "Secret text",
    ]
    for secret in secrets:
        assert secret not in text, secret
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", ["voipsun"])
async def test_diagnostics_hide_credentials_in_an_address_and_line_ips(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pbx_simulator: RunningSimulator,
    provider: str,
) -> None:
    """`http://user:pass@pbx` keeps the host and loses the credentials; SIP IPs are hidden."""
    entry = await async_setup_provider(hass, pbx_simulator, provider)
    url = URL(entry.data["base_url"])
    with_credentials = str(url.with_user("admin").with_password("pa55word"))
    hass.config_entries.async_update_entry(entry, data={**entry.data, "base_url": with_credentials})
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    # The host and port are the account id of this provider, masked as everywhere.
    assert result["entry"]["data"]["base_url"] == "http://**REDACTED**@**ACCOUNT**/voipsun"
    ips = [line["ip"] for line in result["snapshot"]["registrations"].values()]
    assert ips
    assert set(ips) <= {"**REDACTED**", None}
    text = json.dumps(result)
    for secret in ("admin", "pa55word", "192.0.2."):
        assert secret not in text, secret
    assert await hass.config_entries.async_unload(entry.entry_id)
