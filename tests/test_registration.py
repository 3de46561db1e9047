"""Webhook registration at the provider: in the background, as the options say, repaired."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.network import NoURLAvailableError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.pbx_bridge.const import (
    CONF_AUTO_REGISTER_WEBHOOK,
    CONF_HOOK_NUMBERS,
    CONF_REGISTERED_WEBHOOK,
    CONF_WEBHOOK_SECRET,
    DOMAIN,
)
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options


async def setup(
    hass: HomeAssistant, running: RunningSimulator, provider: str, **options: Any
) -> MockConfigEntry:
    """Set up `provider` with `options` and wait for its registration to finish."""
    entry = await async_setup_provider(
        hass, running, provider, {**demo_options(running, provider), **options}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


def issue(
    hass: HomeAssistant, entry: MockConfigEntry, key: str, *, present: bool = True
) -> ir.IssueEntry:
    """The repair issue `key` of `entry` (asserted to exist, unless `present` is false)."""
    found = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_{key}")
    if present:
        assert found is not None, key
        assert found.translation_key == key
    return found  # type: ignore[return-value]


async def test_registration_keeps_the_users_urls(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Our URL joins the Telfa number hooks, and on removal only ours leaves."""
    await hass.config.async_update(external_url="https://ha.example.com")
    ours = "https://ha.example.com/api/webhook/hook-1234"
    numbers = pbx_simulator.state.numbers
    numbers["1"].hooks["incoming_hook"] = "https://crm.example.com/in,https://backup.example.com"
    numbers["2"].hooks["hangup_hook"] = "https://crm.example.com/end"
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    assert numbers["1"].hooks["incoming_hook"] == (
        f"https://crm.example.com/in,https://backup.example.com,{ours}"
    )
    assert numbers["1"].hooks["sms_hook"] == ours
    assert numbers["2"].hooks["hangup_hook"] == f"https://crm.example.com/end,{ours}"
    # A reload registers again without adding the URL twice.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert numbers["1"].hooks["incoming_hook"].count(ours) == 1
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert numbers["1"].hooks["incoming_hook"] == (
        "https://crm.example.com/in,https://backup.example.com"
    )
    assert numbers["2"].hooks["hangup_hook"] == "https://crm.example.com/end"
    assert "sms_hook" not in numbers["1"].hooks


async def test_registration_problems_are_repair_issues_not_fatal(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """No reachable URL, or a provider that refuses: the account still works, an issue says why."""
    with patch(
        "homeassistant.components.webhook.async_generate_url", side_effect=NoURLAvailableError
    ):
        entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
        assert entry.state is ConfigEntryState.LOADED
        assert issue(hass, entry, "no_reachable_url").translation_placeholders == {
            "account": entry.title,
            "provider": "Telfa",
        }
        assert issue(hass, entry, "webhook_registration_failed", present=False) is None
        assert "no URL" not in caplog.text  # the issue says it, not the log
        assert await hass.config_entries.async_remove(entry.entry_id)
        assert "Cannot remove the Telfa webhook" in caplog.text
    assert all(not number.hooks for number in pbx_simulator.state.numbers.values())

    await hass.config.async_update(external_url="https://ha.example.com")
    settings = pbx_simulator.sim.providers["daktela"].sms_settings
    settings["incoming_callback"] = "https://crm.example.com/sms"
    entry = await setup(hass, pbx_simulator, "daktela", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    assert entry.state is ConfigEntryState.LOADED
    failed = issue(hass, entry, "webhook_registration_failed")
    assert failed.is_fixable
    assert failed.severity is ir.IssueSeverity.ERROR
    assert failed.translation_placeholders is not None
    assert failed.translation_placeholders["provider"] == "Daktela"
    assert "another URL" in failed.translation_placeholders["error"]
    assert issue(hass, entry, "no_reachable_url", present=False) is None
    assert "Cannot register" not in caplog.text
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert settings["incoming_callback"] == "https://crm.example.com/sms"
    assert issue(hass, entry, "webhook_registration_failed", present=False) is None


async def test_removal_problem_is_logged_and_the_entry_still_goes(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The provider failing while we take our URL off does not keep the entry."""
    await hass.config.async_update(external_url="https://ha.example.com")
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    pbx_simulator.sim.faults.append(Fault(provider="telfa", kind=FaultKind.SERVER_ERROR))
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert "Cannot remove the Telfa webhook" in caplog.text
    assert hass.config_entries.async_get_entry(entry.entry_id) is None


async def test_registration_option_without_provider_support(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """VoIPSUN cannot take a hook URL: the option changes nothing there."""
    entry = await setup(hass, pbx_simulator, "voipsun", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    requests = len(pbx_simulator.sim.requests_for("voipsun"))
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert len(pbx_simulator.sim.requests_for("voipsun")) == requests


async def _set_options(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> None:
    """Save options through the options flow, which reloads the entry."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_registration_follows_the_options(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """The chosen numbers get our URL; a changed URL or choice moves it; off takes it off."""
    await hass.config.async_update(external_url="https://ha.example.com")
    first = "https://ha.example.com/api/webhook/hook-1234"
    numbers = pbx_simulator.state.numbers
    numbers["2"].hooks["hangup_hook"] = "https://crm.example.com/end"
    entry = await setup(
        hass,
        pbx_simulator,
        "telfa",
        **{CONF_AUTO_REGISTER_WEBHOOK: True, CONF_HOOK_NUMBERS: ["2"]},
    )
    assert numbers["1"].hooks == {}
    assert numbers["2"].hooks["hangup_hook"] == f"https://crm.example.com/end,{first}"
    assert entry.data[CONF_REGISTERED_WEBHOOK] == {"url": first, "numbers": ["2"]}

    # New external URL, a secret and the other number: the old URL leaves number 2 first.
    await hass.config.async_update(external_url="https://new.example.com")
    second = "https://new.example.com/api/webhook/hook-1234?secret=s3"
    await _set_options(
        hass,
        entry,
        **{CONF_AUTO_REGISTER_WEBHOOK: True, CONF_HOOK_NUMBERS: ["1"], CONF_WEBHOOK_SECRET: "s3"},
    )
    assert numbers["2"].hooks == {"hangup_hook": "https://crm.example.com/end"}
    assert set(numbers["1"].hooks.values()) == {second}
    assert entry.data[CONF_REGISTERED_WEBHOOK] == {"url": second, "numbers": ["1"]}

    # Every number (no choice): added to number 2 too, number 1 keeps one copy.
    await _set_options(hass, entry, **{CONF_AUTO_REGISTER_WEBHOOK: True, CONF_WEBHOOK_SECRET: "s3"})
    assert numbers["2"].hooks["hangup_hook"] == f"https://crm.example.com/end,{second}"
    assert numbers["1"].hooks["incoming_hook"] == second
    assert entry.data[CONF_REGISTERED_WEBHOOK] == {"url": second, "numbers": ["1", "2"]}

    # Turned off: the URL we registered leaves, even though the external URL changed again.
    await hass.config.async_update(external_url="https://third.example.com")
    await _set_options(hass, entry, **{CONF_WEBHOOK_SECRET: "s3"})
    assert numbers["1"].hooks == {}
    assert numbers["2"].hooks == {"hangup_hook": "https://crm.example.com/end"}
    assert CONF_REGISTERED_WEBHOOK not in entry.data
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_removal_takes_off_the_url_registered(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Removing the entry takes off what was registered, not what the URL would be now."""
    await hass.config.async_update(external_url="https://ha.example.com")
    numbers = pbx_simulator.state.numbers
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    assert numbers["1"].hooks["sms_hook"] == "https://ha.example.com/api/webhook/hook-1234"
    await hass.config.async_update(external_url="https://new.example.com")
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert all(not number.hooks for number in numbers.values())


async def test_failed_removal_is_tried_again(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Turned off while the provider refuses: remembered, and taken off at the next start."""
    await hass.config.async_update(external_url="https://ha.example.com")
    ours = "https://ha.example.com/api/webhook/hook-1234"
    numbers = pbx_simulator.state.numbers
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    fault = Fault(provider="telfa", kind=FaultKind.SERVER_ERROR, endpoint="PUT /numbers/{id}")
    pbx_simulator.sim.faults.append(fault)
    await _set_options(hass, entry)
    assert (
        "Telfa"
        in issue(hass, entry, "webhook_registration_failed").translation_placeholders["error"]
    )
    assert numbers["1"].hooks["incoming_hook"] == ours
    assert entry.data[CONF_REGISTERED_WEBHOOK]["url"] == ours
    pbx_simulator.sim.faults.remove(fault)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert all(not number.hooks for number in numbers.values())
    assert CONF_REGISTERED_WEBHOOK not in entry.data
    assert issue(hass, entry, "webhook_registration_failed", present=False) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_daktela_callback_follows_the_secret(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Daktela keeps one SMS callback: a new secret replaces ours, off clears it."""
    await hass.config.async_update(external_url="https://ha.example.com")
    settings = pbx_simulator.sim.providers["daktela"].sms_settings
    entry = await setup(hass, pbx_simulator, "daktela", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    callback = settings["incoming_callback"]
    assert callback is not None
    assert callback.startswith("https://ha.example.com/api/webhook/hook-1234?number=")
    await _set_options(hass, entry, **{CONF_AUTO_REGISTER_WEBHOOK: True, CONF_WEBHOOK_SECRET: "x"})
    callback = settings["incoming_callback"]
    assert callback is not None
    assert callback.startswith("https://ha.example.com/api/webhook/hook-1234?secret=x&number=")
    assert entry.data[CONF_REGISTERED_WEBHOOK] == {
        "url": "https://ha.example.com/api/webhook/hook-1234?secret=x",
        "numbers": [],
    }
    await _set_options(hass, entry)
    assert not settings["incoming_callback"]
    assert CONF_REGISTERED_WEBHOOK not in entry.data
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_old_url_refused_while_moving_is_reported(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """The new URL is registered; the provider keeping the old one is a repair issue."""
    await hass.config.async_update(external_url="https://ha.example.com")
    numbers = pbx_simulator.state.numbers
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    fault = Fault(
        provider="telfa", kind=FaultKind.SERVER_ERROR, endpoint="PUT /numbers/{id}", count=1
    )
    pbx_simulator.sim.faults.append(fault)
    await hass.config.async_update(external_url="https://new.example.com")
    await hass.async_block_till_done(wait_background_tasks=True)
    new = "https://new.example.com/api/webhook/hook-1234"
    assert entry.data[CONF_REGISTERED_WEBHOOK]["url"] == new
    assert new in numbers["1"].hooks["sms_hook"]
    assert issue(hass, entry, "webhook_registration_failed").translation_placeholders
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_no_url_at_all_takes_nothing_off(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Home Assistant losing every URL: the registered one stays, the issue says why."""
    await hass.config.async_update(external_url="https://ha.example.com")
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    registered = entry.data[CONF_REGISTERED_WEBHOOK]
    requests = len(pbx_simulator.sim.requests_for("telfa"))
    with patch(
        "homeassistant.components.webhook.async_generate_url", side_effect=NoURLAvailableError
    ):
        await hass.config.async_update(external_url=None)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.data[CONF_REGISTERED_WEBHOOK] == registered
    assert len(pbx_simulator.sim.requests_for("telfa")) == requests
    assert issue(hass, entry, "no_reachable_url")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_pushing_provider_without_registration_follows_the_urls(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Yemot pushes but cannot take a URL: only the reachability issue follows the URLs."""
    entry = await setup(hass, pbx_simulator, "yemot")
    assert issue(hass, entry, "no_reachable_url")
    await hass.config.async_update(external_url="https://ha.example.com")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert issue(hass, entry, "no_reachable_url", present=False) is None
    assert CONF_REGISTERED_WEBHOOK not in entry.data
    assert await hass.config_entries.async_unload(entry.entry_id)
