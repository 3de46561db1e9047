"""Logbook: call and SMS events described in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.pbx_bridge.logbook import describe_call, describe_sms
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider

FIXTURES = Path(__file__).parent / "fixtures"
HOOK_PATH = "/api/webhook/hook-1234"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant does (the logbook reads from it)."""


async def test_logbook_entries_for_documented_hooks(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The documented Telfa hooks, posted to the webhook, read well in the logbook."""
    assert await async_setup_component(hass, "logbook", {})
    entry = await async_setup_provider(hass, pbx_simulator, "telfa")
    start = dt_util.utcnow()
    webhook_client = await hass_client_no_auth()
    for name in ("incoming_hook.xml", "ring_hook.xml", "hangup_hook.xml", "sms_hook.json"):
        body = (FIXTURES / "telfa" / name).read_bytes()
        assert (await webhook_client.post(HOOK_PATH, data=body)).status == 200
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    client = await hass_client()
    response = await client.get(f"/api/logbook/{start.isoformat()}")
    assert response.status == 200
    rows = [row for row in await response.json() if row.get("domain") == "pbx_bridge"]
    assert [(row["name"], row["message"]) for row in rows] == [
        (entry.title, "received a call from +420777123456 to +420245008328"),
        (entry.title, "rang jan.kubr.livispace.cz with a call from +420777123456"),
        (entry.title, "ended the call between +420777123456 and +420245008328"),
        (entry.title, "received an SMS from +420608608608"),
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)
    # Unloading turns the entities unavailable: let the recorder write that now, while the
    # test's output is captured. Left queued, its thread writes (and the test plugin logs
    # the SQL at INFO) after the test body has ended, straight into pytest's progress line.
    await async_wait_recording_done(hass)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"type": "answered", "caller": "+1", "caller_name": "Eva", "agent": "jana"},
            "answered the call from Eva (+1) by jana",
        ),
        ({"type": "answered"}, "answered the call from an unknown number"),
        ({"type": "outgoing", "caller": "marek", "callee": "+2"}, "placed a call from marek to +2"),
        (
            {"type": "queued", "caller": "+1", "queue": "sales"},
            "queued the call from +1 in queue sales",
        ),
        ({"type": "queued", "caller": "+1"}, "queued the call from +1"),
        (
            {"type": "transferred", "caller": "+1", "agent": "eva"},
            "transferred the call from +1 to eva",
        ),
        ({"type": "ringing", "caller": "+1"}, "rang an agent with a call from +1"),
        ({"type": "missed", "caller": "+1"}, "missed a call from +1"),
        ({"type": "something_new"}, "reported a call event (something_new)"),
    ],
)
def test_call_messages(data: dict[str, Any], message: str) -> None:
    assert describe_call(data) == message


def test_sms_message_without_sender() -> None:
    assert describe_sms({"sender": None}) == "received an SMS from an unknown number"
