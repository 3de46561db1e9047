"""Push and poll as two layers, over real loopback HTTP against the simulator.

Webhooks never move the poll, keep working while polling fails, never wait on the
provider, and wake only the entities they concern.
"""

from __future__ import annotations

from datetime import timedelta
import itertools
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.pbx_bridge.api.models import CallDirection, CallEvent, CallEventType
from custom_components.pbx_bridge.entity import hub_identifier
from custom_components.pbx_bridge.events import EVENT_CALL
from pbx_simulator.faults import Fault, FaultKind
from pbx_simulator.state import AgentStatus
from pbx_simulator.testing import RunningSimulator

from .conftest import async_setup_provider

HOOK_PATH = "/api/webhook/hook-1234"
POLL_ENDPOINT = "GET /telfa_users/status"
DETAILS_ENDPOINT = "GET /telfa_users/user_by_id"
_call_ids = itertools.count(900000)


def ring_hook(login: str, caller: str = "777123456", call_id: int | None = None) -> str:
    """Telfa's documented ring_hook, for a new call unless `call_id` is given."""
    return (
        "<call><hook_type>ring_hook</hook_type>"
        f"<id>{call_id if call_id is not None else next(_call_ids)}</id>"
        f"<caller_number>{caller}</caller_number><dialed_number>245008328</dialed_number>"
        "<start>2009-10-11T13:41:59+02:00</start>"
        "<ring_start_at>2009-10-11T13:42:05+02:00</ring_start_at>"
        f"<transferred_to>{login}</transferred_to></call>"
    )


def entity_ids(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """Unique id -> entity id of the entry's entities."""
    return {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }


def capture_state_writes(hass: HomeAssistant) -> list[Event[Any]]:
    """Every state write from now on: those that changed a state and those that did not
    (Home Assistant reports an unchanged write as `state_reported`)."""
    writes: list[Event[Any]] = []

    @callback
    def record(event: Event[Any]) -> None:
        writes.append(event)

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    hass.bus.async_listen(EVENT_STATE_REPORTED, record, event_filter=callback(lambda _: True))
    return writes


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def telfa(hass: HomeAssistant, pbx_simulator: RunningSimulator) -> MockConfigEntry:
    """A Telfa entry; tests that move the clock ask for `freezer` first, so that the poll
    is scheduled on the frozen clock."""
    return await async_setup_provider(hass, pbx_simulator, "telfa")


async def test_webhooks_never_move_the_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    telfa: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A hook every second: still exactly one poll every interval."""
    client = await hass_client_no_auth()
    coordinator = telfa.runtime_data.coordinator
    interval = coordinator.update_interval
    assert interval is not None
    polls_before = len(pbx_simulator.sim.requests_for("telfa", POLL_ENDPOINT))
    scheduled, reschedules = coordinator._unsub_refresh, 0
    seconds = int(interval.total_seconds()) * 3
    for _ in range(seconds):
        assert (await client.post(HOOK_PATH, data=ring_hook("nobody.example"))).status == 200
        await tick(hass, freezer, 1)
        if coordinator._unsub_refresh is not scheduled:
            scheduled, reschedules = coordinator._unsub_refresh, reschedules + 1
    polls = len(pbx_simulator.sim.requests_for("telfa", POLL_ENDPOINT)) - polls_before
    # Only a poll moves the next poll, never a hook. The coordinator's timer runs on the
    # loop's real clock, so a slow machine may fit one more poll into the three intervals.
    assert reschedules == polls
    assert polls in (3, 4)
    assert coordinator.last_update_success


async def test_outage_hooks_still_fire_polled_entities_unavailable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    telfa: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    *,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client = await hass_client_no_auth()
    ids = entity_ids(hass, telfa)
    calls_entity = ids[f"{telfa.unique_id}_call_events"]
    active_calls = ids[f"{telfa.unique_id}_active_calls"]
    interval = telfa.runtime_data.coordinator.update_interval
    assert interval is not None
    pbx_simulator.sim.faults.append(Fault(provider="telfa", kind=FaultKind.SERVER_ERROR))
    await tick(hass, freezer, interval.total_seconds() + 1)
    assert hass.states.get(active_calls).state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    fired = async_capture_events(hass, EVENT_CALL)
    for _ in range(3):
        assert (await client.post(HOOK_PATH, data=ring_hook("nobody.example"))).status == 200
        await tick(hass, freezer, interval.total_seconds() + 1)
    assert [event.data["type"] for event in fired] == ["ringing"] * 3
    state = hass.states.get(calls_entity)
    assert state is not None
    assert state.state != STATE_UNAVAILABLE
    assert state.attributes["event_type"] == "ringing"
    # The webhooks neither hide the outage nor log it again.
    assert hass.states.get(active_calls).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert not telfa.runtime_data.coordinator.last_update_success
    assert caplog.text.count("Error fetching") == 1

    pbx_simulator.sim.faults.clear()
    await tick(hass, freezer, interval.total_seconds() + 1)
    assert hass.states.get(active_calls).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert caplog.text.count("data recovered") == 1


async def test_hooks_cause_no_provider_request(
    hass: HomeAssistant,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Logins are learned by the polls only: a hook naming a learned login names its agent
    by user id, one naming a login not learned (yet) or unknown keeps the login; none of
    them makes the provider answer anything, then or later."""
    monkeypatch.setattr(
        "custom_components.pbx_bridge.api.providers.telfa.LOGINS_LEARNED_PER_POLL", 1
    )
    await async_setup_provider(hass, pbx_simulator, "telfa")
    telfa_sim = pbx_simulator.sim.providers["telfa"]
    # The first poll learned two logins: the account's user's and one more.
    details = pbx_simulator.sim.requests_for("telfa", DETAILS_ENDPOINT)
    learned = list(dict.fromkeys(request.query["id"] for request in details))
    assert len(learned) == 2
    known = pbx_simulator.state.agents[learned[1]]
    unlearned = next(a for a in pbx_simulator.state.agents.values() if a.id not in learned)
    logins = {
        known.id: telfa_sim.login_of(known),  # type: ignore[attr-defined]
        unlearned.id: telfa_sim.login_of(unlearned),  # type: ignore[attr-defined]
        "gone": "deleted.user.example",
    }
    client = await hass_client_no_auth()
    fired = async_capture_events(hass, EVENT_CALL)
    before = pbx_simulator.sim.count("telfa")
    for login in logins.values():
        for _ in range(3):
            assert (await client.post(HOOK_PATH, data=ring_hook(login))).status == 200
    await hass.async_block_till_done(wait_background_tasks=True)
    assert pbx_simulator.sim.count("telfa") == before
    assert [event.data["agent"] for event in fired] == [
        *[known.id] * 3,
        *[logins[unlearned.id]] * 3,
        *["deleted.user.example"] * 3,
    ]


async def test_hook_wakes_only_its_agent_and_writes_no_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    telfa: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    *,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await hass_client_no_auth()
    agent = next(iter(pbx_simulator.state.agents.values()))
    login = pbx_simulator.sim.providers["telfa"].login_of(agent)  # type: ignore[attr-defined]
    # The setup's poll learned the login: this first hook already names the agent.
    await client.post(HOOK_PATH, data=ring_hook(login, call_id=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    devices = dr.async_get(hass)
    registry_writes: list[str] = []
    for method in ("async_get_or_create", "async_update_device", "async_remove_device"):
        original = getattr(devices, method)

        def spy(*args: Any, _original: Any = original, _name: str = method, **kwargs: Any) -> Any:
            registry_writes.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(devices, method, spy)
    changes: list[Any] = async_capture_events(hass, EVENT_STATE_CHANGED)

    assert (await client.post(HOOK_PATH, data=ring_hook(login, "601601601"))).status == 200
    await hass.async_block_till_done()
    ids = entity_ids(hass, telfa)
    status = ids[f"{telfa.unique_id}_agent_{agent.id}_status"]
    assert hass.states.get(status).state == "ringing"  # type: ignore[union-attr]
    registry = er.async_get(hass)
    agent_device = registry.async_get(status).device_id  # type: ignore[union-attr]
    hub_device = devices.async_get_device_by_identifier(
        hub_identifier(str(telfa.unique_id)), telfa.entry_id
    )
    assert hub_device is not None
    for change in changes:
        entity = registry.async_get(change.data["entity_id"])
        assert entity is not None
        assert entity.device_id in (agent_device, hub_device.id), entity.entity_id
    assert len(changes) < 10  # a handful of the account's and the agent's entities
    assert registry_writes == []
    # A poll that brings the same objects writes no device either.
    interval = telfa.runtime_data.coordinator.update_interval
    assert interval is not None
    await tick(hass, freezer, interval.total_seconds() + 1)
    assert registry_writes == []


async def test_busy_hooks_write_a_polled_entity_at_most_every_interval(
    hass: HomeAssistant,
    telfa: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first hook after a quiet spell shows at once; those that follow within the
    interval show together at its end. Bus events and event entities see every hook."""
    monkeypatch.setattr("custom_components.pbx_bridge.entity.PUSHED_WRITE_SECONDS", 3600)
    client = await hass_client_no_auth()
    ids = entity_ids(hass, telfa)
    last_caller = ids[f"{telfa.unique_id}_last_caller"]
    calls_entity = ids[f"{telfa.unique_id}_call_events"]
    changes: list[Any] = async_capture_events(hass, EVENT_STATE_CHANGED)
    fired = async_capture_events(hass, EVENT_CALL)

    for caller in ("601000001", "601000002", "601000003"):
        assert (
            await client.post(HOOK_PATH, data=ring_hook("nobody.example", caller))
        ).status == 200
        await hass.async_block_till_done()
    assert hass.states.get(last_caller).state == "+420601000001"  # type: ignore[union-attr]
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3601))
    await hass.async_block_till_done()

    shown = [c.data["new_state"].state for c in changes if c.data["entity_id"] == last_caller]
    assert shown == ["+420601000001", "+420601000003"]
    assert len(fired) == 3
    assert len([c for c in changes if c.data["entity_id"] == calls_entity]) == 3


async def test_hook_that_changes_nothing_an_entity_shows_writes_no_state(
    hass: HomeAssistant,
    telfa: MockConfigEntry,
    pbx_simulator: RunningSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second ring of a ringing agent changes its call partner, not its status: only
    the partner's sensor writes (Home Assistant would report an unchanged write too)."""
    monkeypatch.setattr("custom_components.pbx_bridge.entity.PUSHED_WRITE_SECONDS", 0)
    client = await hass_client_no_auth()
    agent = next(iter(pbx_simulator.state.agents.values()))
    login = pbx_simulator.sim.providers["telfa"].login_of(agent)  # type: ignore[attr-defined]
    ids = entity_ids(hass, telfa)
    status = ids[f"{telfa.unique_id}_agent_{agent.id}_status"]
    partner = ids[f"{telfa.unique_id}_agent_{agent.id}_call_partner"]
    await client.post(HOOK_PATH, data=ring_hook(login, "601000001"))
    await hass.async_block_till_done()
    assert hass.states.get(status).state == "ringing"  # type: ignore[union-attr]
    writes = capture_state_writes(hass)

    await client.post(HOOK_PATH, data=ring_hook(login, "601000002"))
    await hass.async_block_till_done()

    written = {event.data["entity_id"] for event in writes}
    assert partner in written
    assert status not in written
    assert hass.states.get(partner).state == "+420601000002"  # type: ignore[union-attr]


async def test_poll_writes_only_the_entities_whose_state_it_changed(
    hass: HomeAssistant,
    telfa: MockConfigEntry,
    pbx_simulator: RunningSimulator,
) -> None:
    """A poll writes the entities whose state it changed, not every entity of the entry
    (a large account's poll changes few of its thousands)."""
    pbx_simulator.state.freeze_clock()  # durations and ages stay as they are
    coordinator = telfa.runtime_data.coordinator
    writes = capture_state_writes(hass)
    agent = next(a for a in pbx_simulator.state.agents.values() if a.status is AgentStatus.IDLE)
    agent.logged_in = False
    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert coordinator.last_update_success
    registry = er.async_get(hass)
    written = {
        registry.async_get(event.data["entity_id"]).unique_id  # type: ignore[union-attr]
        for event in writes
    }
    account = telfa.unique_id
    assert f"{account}_agent_{agent.id}_status" in written
    assert f"{account}_agent_{agent.id}_logged_in" in written
    # Besides the agent's own entities, only its queues' counts of logged-in agents.
    others = {key for key in written if f"_agent_{agent.id}_" not in key}
    assert others
    assert all(key.endswith(("_agents_logged_in", "_agents_ready")) for key in others), others
    # No entity wrote a state that stayed as it was.
    assert all(event.event_type == EVENT_STATE_CHANGED for event in writes)


async def test_poll_does_not_write_an_event_entity_again(
    hass: HomeAssistant, telfa: MockConfigEntry, pbx_simulator: RunningSimulator
) -> None:
    """An event entity writes each event as it comes; a later poll that leaves it
    available writes nothing more."""
    telfa.runtime_data.events.async_process(
        [CallEvent(CallEventType.RINGING, "poll-1", CallDirection.INCOMING, caller="+420777123456")]
    )
    await hass.async_block_till_done()
    calls = entity_ids(hass, telfa)[f"{telfa.unique_id}_call_events"]
    assert hass.states.get(calls).attributes["event_type"] == "ringing"  # type: ignore[union-attr]
    writes = capture_state_writes(hass)
    await telfa.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert calls not in {event.data["entity_id"] for event in writes}
