"""Repair issues: raised by their cause, translated, cleared when the cause is gone."""

from __future__ import annotations

from dataclasses import replace
from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.pbx_bridge.api.errors import PbxPermissionError
from custom_components.pbx_bridge.api.models import ProblemKind, ProviderProblem, Snapshot
from custom_components.pbx_bridge.const import CONF_AUTO_REGISTER_WEBHOOK, CONF_PROVIDER, DOMAIN
from custom_components.pbx_bridge.repairs import async_create_fix_flow
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider, demo_options


async def setup(
    hass: HomeAssistant, running: RunningSimulator, provider: str, **options: Any
) -> MockConfigEntry:
    entry = await async_setup_provider(
        hass, running, provider, {**demo_options(running, provider), **options}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


def our_issues(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, ir.IssueEntry]:
    """The entry's issues by id, without the entry id in front."""
    prefix = f"{entry.entry_id}_"
    return {
        issue_id.removeprefix(prefix): issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith(prefix)
    }


def no_reauth(hass: HomeAssistant) -> bool:
    return not [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def test_no_reachable_url_for_a_pushing_provider(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Telfa pushes and needs an external URL; the issue goes once there is one."""
    telfa = await setup(hass, pbx_simulator, "telfa")
    odorik = await setup(hass, pbx_simulator, "odorik")
    issue = our_issues(hass, telfa)["no_reachable_url"]
    assert issue.translation_key == "no_reachable_url"
    assert issue.translation_placeholders == {"account": telfa.title, "provider": "Telfa"}
    assert not issue.is_fixable
    assert issue.learn_more_url == "https://github.com/pbx-bridge/pbx_bridge#repairs"
    # Odorik does not push: no URL needed.
    assert our_issues(hass, odorik) == {}

    await hass.config.async_update(external_url="https://ha.example.com")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert our_issues(hass, telfa) == {}
    await hass.config.async_update(external_url=None)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "no_reachable_url" in our_issues(hass, telfa)
    # Unloaded, nothing keeps the issue current: it goes.
    assert await hass.config_entries.async_unload(telfa.entry_id)
    assert our_issues(hass, telfa) == {}
    assert await hass.config_entries.async_unload(odorik.entry_id)


async def test_new_external_url_is_registered_without_a_restart(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """The provider gets the new URL when Home Assistant's external URL changes."""
    await hass.config.async_update(external_url="https://ha.example.com")
    numbers = pbx_simulator.state.numbers
    entry = await setup(hass, pbx_simulator, "telfa", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    assert numbers["1"].hooks["sms_hook"] == "https://ha.example.com/api/webhook/hook-1234"
    requests = len(pbx_simulator.sim.requests_for("telfa"))
    # Another core setting: the URL stays, nothing is sent.
    await hass.config.async_update(time_zone="Europe/Prague")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(pbx_simulator.sim.requests_for("telfa")) == requests
    await hass.config.async_update(external_url="https://new.example.com")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert numbers["1"].hooks["sms_hook"] == "https://new.example.com/api/webhook/hook-1234"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_registration_runs_in_the_background(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Setup does not wait for the provider's hook settings."""
    await hass.config.async_update(external_url="https://ha.example.com")
    numbers = pbx_simulator.state.numbers
    entry = await async_setup_provider(
        hass, pbx_simulator, "telfa", {CONF_AUTO_REGISTER_WEBHOOK: True}
    )
    assert entry.state is ConfigEntryState.LOADED
    assert not numbers["1"].hooks
    await hass.async_block_till_done(wait_background_tasks=True)
    assert numbers["1"].hooks
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_fix_flow_registers_again(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, hass_client: ClientSessionGenerator
) -> None:
    """Daktela refuses while another SMS callback is set; once it is gone, the fix works."""
    assert await async_setup_component(hass, "repairs", {})
    await hass.config.async_update(external_url="https://ha.example.com")
    settings = pbx_simulator.sim.providers["daktela"].sms_settings
    settings["incoming_callback"] = "https://crm.example.com/sms"
    entry = await setup(hass, pbx_simulator, "daktela", **{CONF_AUTO_REGISTER_WEBHOOK: True})
    issue_id = f"{entry.entry_id}_webhook_registration_failed"
    assert "webhook_registration_failed" in our_issues(hass, entry)
    client = await hass_client()

    async def fix() -> dict[str, Any]:
        response = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
        )
        assert response.status == HTTPStatus.OK
        form: dict[str, Any] = await response.json()
        assert form["step_id"] == "confirm"
        assert form["description_placeholders"]["provider"] == "Daktela"
        response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json={})
        assert response.status == HTTPStatus.OK
        done: dict[str, Any] = await response.json()
        await hass.async_block_till_done(wait_background_tasks=True)
        return done

    # Still refused: the flow ends, the reloaded account raises the issue again.
    assert (await fix())["type"] == "create_entry"
    assert "webhook_registration_failed" in our_issues(hass, entry)
    settings["incoming_callback"] = ""
    assert (await fix())["type"] == "create_entry"
    assert our_issues(hass, entry) == {}
    assert settings["incoming_callback"]
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_fix_flow_of_a_removed_entry_just_ends(hass: HomeAssistant) -> None:
    flow = await async_create_fix_flow(hass, "gone_webhook_registration_failed", None)
    flow.hass = hass
    flow.handler = DOMAIN
    flow.context = {"issue_id": "gone_webhook_registration_failed"}
    form = await flow.async_step_init()
    assert form["step_id"] == "confirm"
    assert form["description_placeholders"] is None
    assert (await flow.async_step_confirm({}))["type"] == "create_entry"


@pytest.fixture
async def external_url(hass: HomeAssistant) -> None:
    """Home Assistant reachable from outside: no issue about the webhook URL."""
    await hass.config.async_update(external_url="https://ha.example.com")


@pytest.mark.usefixtures("external_url")
async def test_permission_refused_by_a_refresh(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """A refresh without a right: an issue naming it, never reauth; gone when it works."""
    entry = await setup(hass, pbx_simulator, "daktela")
    coordinator = entry.runtime_data.coordinator
    denied = PbxPermissionError("Daktela refused GetQueues to this user", "GetQueues")
    with patch.object(coordinator.client, "async_fetch_snapshot", side_effect=denied):
        await coordinator.async_refresh()
    assert not coordinator.last_update_success
    issue = our_issues(hass, entry)["refused_refresh"]
    assert issue.translation_key == "missing_permission"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"account": entry.title, "subject": "GetQueues"}
    assert no_reauth(hass)
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert our_issues(hass, entry) == {}
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("external_url")
async def test_permission_refused_at_setup_stays_while_the_entry_retries(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    denied = PbxPermissionError("Daktela refused RTUsersState to this user")
    with patch(
        "custom_components.pbx_bridge.api.providers.daktela.DaktelaClient.async_fetch_snapshot",
        side_effect=denied,
    ):
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="daktela-account",
            data={CONF_PROVIDER: "daktela", **pbx_simulator.config["daktela"]},
        )
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    # Without a permission name, the message says what was refused.
    assert our_issues(hass, entry)["refused_refresh"].translation_placeholders == {
        "account": entry.title,
        "subject": "Daktela refused RTUsersState to this user",
    }
    assert no_reauth(hass)
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert our_issues(hass, entry) == {}


@pytest.mark.usefixtures("external_url")
async def test_permission_refused_by_an_action(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """One issue per action; the same action working clears it, others leave it."""
    entry = await setup(hass, pbx_simulator, "daktela")
    client = entry.runtime_data.client
    denied = PbxPermissionError("Daktela refused SendSMS to this user", "SendSMS")
    data = {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "recipients": ["+420601234567"], "message": "Hi"}
    with (
        patch.object(client, "async_send_sms", side_effect=denied),
        pytest.raises(HomeAssistantError) as raised,
    ):
        await hass.services.async_call(DOMAIN, "send_sms", data, blocking=True)
    assert raised.value.translation_key == "missing_permission"
    assert "Daktela refused SendSMS" in str(raised.value)
    issue = our_issues(hass, entry)["refused_send_sms"]
    assert issue.translation_placeholders == {"account": entry.title, "subject": "SendSMS"}
    assert no_reauth(hass)
    # Another action, and one that fails otherwise, leave it.
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "hangup",
            {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "call_id": "1700000000.1"},
            blocking=True,
        )
    assert set(our_issues(hass, entry)) == {"refused_send_sms"}
    await hass.services.async_call(DOMAIN, "send_sms", data, blocking=True)
    assert our_issues(hass, entry) == {}
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("external_url")
async def test_permission_refused_by_an_entity(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Switches of every agent share one issue (the switch's kind)."""
    entry = await setup(hass, pbx_simulator, "daktela")
    client = entry.runtime_data.client
    agents = sorted(
        state.entity_id
        for state in hass.states.async_all("switch")
        if state.entity_id.endswith("_logged_in")
    )
    denied = PbxPermissionError("Daktela refused Logout", "Logout")
    with patch.object(client, "async_agent_logout", side_effect=denied):
        for entity_id in agents[:2]:
            with pytest.raises(HomeAssistantError):
                await hass.services.async_call(
                    "switch", "turn_off", {"entity_id": entity_id}, blocking=True
                )
    assert set(our_issues(hass, entry)) == {"refused_logged_in"}
    await hass.services.async_call("switch", "turn_off", {"entity_id": agents[0]}, blocking=True)
    assert our_issues(hass, entry) == {}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_snapshot_problems_become_issues(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    """Each problem of the latest snapshot is one issue; fixed ones go at the next refresh."""
    # Yemot pushes through its API extension: with a reachable URL that raises no issue.
    await hass.config.async_update(external_url="https://ha.example.com")
    entry = await setup(hass, pbx_simulator, "yemot")
    coordinator = entry.runtime_data.coordinator
    fetch = coordinator.client.async_fetch_snapshot
    problems: tuple[ProviderProblem, ...] = (
        ProviderProblem(ProblemKind.UNKNOWN_QUEUE, "/9"),
        ProviderProblem(ProblemKind.UNKNOWN_NUMBER, "+420601234567"),
        ProviderProblem(ProblemKind.MISSING_PERMISSION, "GetSmsIncomingLog"),
    )

    async def with_problems() -> Snapshot:
        return replace(await fetch(), problems=problems)

    with patch.object(coordinator.client, "async_fetch_snapshot", with_problems):
        await coordinator.async_refresh()
        issues = our_issues(hass, entry)
        assert {key: issue.translation_key for key, issue in issues.items()} == {
            "problem_unknown_queue_/9": "unknown_queue",
            "problem_unknown_number_+420601234567": "unknown_number",
            "problem_missing_permission_GetSmsIncomingLog": "missing_permission",
        }
        assert issues["problem_unknown_queue_/9"].translation_placeholders == {
            "account": entry.title,
            "subject": "/9",
        }
        problems = problems[:1]
        await coordinator.async_refresh()
        assert set(our_issues(hass, entry)) == {"problem_unknown_queue_/9"}
    await coordinator.async_refresh()
    assert our_issues(hass, entry) == {}
    assert await hass.config_entries.async_unload(entry.entry_id)
