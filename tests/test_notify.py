"""SMS notify entities: one per recipient in the options, sending through the provider."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.components.notify import (
    ATTR_MESSAGE,
    ATTR_TITLE,
    DOMAIN as NOTIFY_DOMAIN,
    SERVICE_SEND_MESSAGE,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.pbx_bridge.const import CONF_SMS_RECIPIENTS, DOMAIN
from pbx_simulator.testing import RunningSimulator
from tests.test_services import sent

NOTIFY_ENTITY = "notify.yemot_call2all_0773137770_sms_to_972501234567"


async def setup_notify(
    hass: HomeAssistant, running: RunningSimulator, provider: str, options: dict[str, Any]
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"{provider} account",
        data={"provider": provider, **running.config[provider]},
        options=options,
        unique_id=f"{provider}-account",
    )
    entry.add_to_hass(hass)
    with patch("custom_components.pbx_bridge.PLATFORMS", [Platform.NOTIFY]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    running.sim.requests.clear()
    return entry


async def test_entities(
    hass: HomeAssistant,
    *,
    pbx_simulator: RunningSimulator,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await setup_notify(
        hass,
        pbx_simulator,
        "yemot",
        # The same number twice in two forms, and one that is not a number.
        {CONF_SMS_RECIPIENTS: ["050-123-4567", "+972 52 765 4321", "+972501234567", "front"]},
    )
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    # Both belong to the account's hub device.
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        device = device_registry.async_get(entity.device_id)
        assert (DOMAIN, "yemot-account") in device.identifiers
    assert "not a phone number" in caplog.text
    assert "front" not in caplog.text


async def test_send_message(hass: HomeAssistant, pbx_simulator: RunningSimulator) -> None:
    await setup_notify(hass, pbx_simulator, "yemot", {CONF_SMS_RECIPIENTS: ["0501234567"]})
    assert hass.states.get(NOTIFY_ENTITY).state == STATE_UNKNOWN
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: NOTIFY_ENTITY, ATTR_MESSAGE: "The washing is done", ATTR_TITLE: "Home"},
        blocking=True,
    )
    (request,) = pbx_simulator.sim.requests_for("yemot", "SendSms")
    assert sent(request)["phones"] == "0501234567"
    assert sent(request)["message"] == "Home\nThe washing is done"
    assert hass.states.get(NOTIFY_ENTITY).state != STATE_UNKNOWN


async def test_send_message_without_title(
    hass: HomeAssistant, pbx_simulator: RunningSimulator
) -> None:
    await setup_notify(hass, pbx_simulator, "yemot", {CONF_SMS_RECIPIENTS: ["0501234567"]})
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: NOTIFY_ENTITY, ATTR_MESSAGE: "The washing is done"},
        blocking=True,
    )
    (request,) = pbx_simulator.sim.requests_for("yemot", "SendSms")
    assert sent(request)["message"] == "The washing is done"


async def test_send_message_refused(hass: HomeAssistant, pbx_simulator: RunningSimulator) -> None:
    # Yemot sends SMS to Israeli mobiles only and refuses others with its own reason.
    await setup_notify(hass, pbx_simulator, "yemot", {CONF_SMS_RECIPIENTS: ["+420601234567"]})
    entity_id = "notify.yemot_call2all_0773137770_sms_to_420601234567"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            NOTIFY_DOMAIN,
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: entity_id, ATTR_MESSAGE: "Hi"},
            blocking=True,
        )
    assert err.value.translation_key == "provider_refused"
    assert "not Vaild" in str(err.value)
    assert len(pbx_simulator.sim.requests_for("yemot", "SendSms")) == 1
    assert hass.states.get(entity_id).state == STATE_UNKNOWN


async def test_no_entities_without_recipients(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, entity_registry: er.EntityRegistry
) -> None:
    entry = await setup_notify(hass, pbx_simulator, "yemot", {})
    assert er.async_entries_for_config_entry(entity_registry, entry.entry_id) == []


@pytest.mark.parametrize(
    ("provider", "endpoint", "entity_id", "recipient"),
    [
        ("telfa", "POST /sms", "notify.telfa_240891_sms_to_420602123456", "602123456"),
        ("daktela", "SendSMS", None, "602123456"),
        ("odorik", "POST /sms", None, "00420602123456"),
    ],
)
async def test_send_message_per_provider(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    entity_registry: er.EntityRegistry,
    *,
    provider: str,
    endpoint: str,
    entity_id: str | None,
    recipient: str,
) -> None:
    entry = await setup_notify(
        hass, pbx_simulator, provider, {CONF_SMS_RECIPIENTS: ["+420 602 123 456"]}
    )
    (entity,) = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    if entity_id is not None:
        assert entity.entity_id == entity_id
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: entity.entity_id, ATTR_MESSAGE: "Doorbell"},
        blocking=True,
    )
    (request,) = pbx_simulator.sim.requests_for(provider, endpoint)
    params = sent(request)
    assert (
        params.get("sms", params)["recipient" if provider != "daktela" else "number"] == recipient
    )
    assert [s.text for s in pbx_simulator.state.sms.values()] == ["Doorbell"]


async def test_no_entities_without_sms(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, entity_registry: er.EntityRegistry
) -> None:
    # VoIPSUN sends no SMS: recipients in the options make no entities.
    entry = await setup_notify(
        hass, pbx_simulator, "voipsun", {CONF_SMS_RECIPIENTS: ["+420602123456"]}
    )
    assert er.async_entries_for_config_entry(entity_registry, entry.entry_id) == []


async def test_removed_recipient_leaves_the_registry(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, entity_registry: er.EntityRegistry
) -> None:
    """A number taken out of the options takes its notify entity along, not only its state."""
    entry = await setup_notify(
        hass, pbx_simulator, "yemot", {CONF_SMS_RECIPIENTS: ["0501234567", "0527654321"]}
    )

    def notify_ids() -> set[str]:
        return {
            e.unique_id
            for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
            if e.domain == "notify"
        }

    assert notify_ids() == {"yemot-account_sms_+972501234567", "yemot-account_sms_+972527654321"}
    # Another integration's entity with a look-alike id stays.
    other = entity_registry.async_get_or_create(
        "notify", "other", "yemot-account_sms_+972527654321"
    )
    with patch("custom_components.pbx_bridge.PLATFORMS", [Platform.NOTIFY]):
        hass.config_entries.async_update_entry(entry, options={CONF_SMS_RECIPIENTS: ["0501234567"]})
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
    assert notify_ids() == {"yemot-account_sms_+972501234567"}
    assert entity_registry.async_get(other.entity_id)
    assert await hass.config_entries.async_unload(entry.entry_id)
