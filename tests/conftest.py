"""Shared fixtures.

The test plugin mounts its own `custom_components` package first, so import ours before
the `hass` fixture runs; otherwise Home Assistant reports "Integration not found".
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any, cast
from unittest.mock import PropertyMock, patch

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from yarl import URL

import custom_components.pbx_bridge  # noqa: F401
from custom_components.pbx_bridge import PLATFORMS
from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.api.providers.voipsun import (
    OPTION_AGENT_PINS,
    OPTION_QUEUE_NAMES,
)
from custom_components.pbx_bridge.api.providers.yemot import OPTION_QUEUE_PATHS
from custom_components.pbx_bridge.config_flow import PbxConfigFlow
from custom_components.pbx_bridge.const import (
    CONF_PROVIDER,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from pbx_simulator.testing import RunningSimulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialize Home Assistant objects (states, registry entries) without volatile fields.

    The plugin defines the same fixture, but syrupy's own plugin is registered later and
    would win; a conftest fixture takes precedence over both.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


# --- integration setup against the simulator -----------------------------------------


def provider_params() -> list[str]:
    """Every provider, for `pytest.mark.parametrize`."""
    return list(PROVIDERS)


def demo_options(running: RunningSimulator, provider: str) -> dict[str, Any]:
    """Options that show everything the simulator's account has."""
    state = running.state
    if provider == "yemot":
        return {OPTION_QUEUE_PATHS: [f"/{queue.extension}" for queue in state.queues.values()]}
    if provider == "voipsun":
        numbers = running.sim.providers["voipsun"]
        return {
            OPTION_QUEUE_NAMES: [queue.name for queue in state.queues.values()],
            OPTION_AGENT_PINS: {
                numbers.agent_number(agent): agent.pin  # type: ignore[attr-defined]
                for agent in state.agents.values()
            },
        }
    return {}


# What the config flow gives an entry whose provider names no account (a ulid, fixed here).
OWN_ENTRY_ID = "01KB0PBXBR1DGE0000000000ID"


def entry_unique_id(provider: str, account_id: str) -> str:
    """The unique id the config flow gives an entry of this account."""
    if PROVIDERS[provider].declaration.account_id_is_address:
        return f"{provider}_{OWN_ENTRY_ID}"
    return f"{provider}_{account_id}"


async def async_setup_provider(
    hass: HomeAssistant,
    running: RunningSimulator,
    provider: str,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add and set up an entry of `provider` pointing at the simulator."""
    data = {CONF_PROVIDER: provider, **running.config[provider], CONF_WEBHOOK_ID: "hook-1234"}
    async with aiohttp.ClientSession() as session:
        account = await PROVIDERS[provider](session, running.config[provider]).async_validate()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"{PROVIDERS[provider].title}: {account.name}",
        unique_id=entry_unique_id(provider, account.account_id),
        data=data,
        minor_version=PbxConfigFlow.MINOR_VERSION,
        options=demo_options(running, provider) if options is None else options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture(params=provider_params())
def provider(request: pytest.FixtureRequest) -> str:
    """Each provider in turn."""
    return cast(str, request.param)


@pytest.fixture
def platforms() -> list[Platform]:
    """The platforms to set up (platform tests override it: snapshots take one at a time)."""
    return list(PLATFORMS)


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, pbx_simulator: RunningSimulator, provider: str, platforms: list[Platform]
) -> AsyncGenerator[MockConfigEntry]:
    """An entry of `provider` set up against the simulator, unloaded afterwards."""
    with patch("custom_components.pbx_bridge.PLATFORMS", platforms):
        entry = await async_setup_provider(hass, pbx_simulator, provider)
        yield entry
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default enabled, to test them too."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


def _without_port(text: str, port: int) -> str:
    """`text` with the simulator's random port (in URLs, ids and entity ids) made fixed."""
    return text.replace(f"127.0.0.1:{port}", "127.0.0.1:PORT").replace(
        f"127_0_0_1_{port}", "127_0_0_1_port"
    )


def port_free_snapshot(snapshot: SnapshotAssertion, running: RunningSimulator) -> SnapshotAssertion:
    """`snapshot`, serializing without the simulator's port (it differs on every run)."""
    port = cast(int, URL(running.origin).port)

    class PortFreeExtension(HomeAssistantSnapshotExtension):
        def serialize(self, data: Any, **kwargs: Any) -> str:
            return _without_port(super().serialize(data, **kwargs), port)

    return snapshot.use_extension(PortFreeExtension)


async def snapshot_entities(
    hass: HomeAssistant,
    snapshot: SnapshotAssertion,
    entry: MockConfigEntry,
    running: RunningSimulator,
) -> None:
    """Snapshot every entity of `entry` (like `snapshot_platform`, but port-free names)."""
    port = cast(int, URL(running.origin).port)
    snap = port_free_snapshot(snapshot, running)
    entity_entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert entity_entries
    assert len({entity_entry.domain for entity_entry in entity_entries}) == 1
    for entity_entry in entity_entries:
        name = _without_port(entity_entry.entity_id, port)
        assert entity_entry == snap(name=f"{name}-entry")
        assert entity_entry.disabled_by is None, "Enable every entity for the snapshot."
        state = hass.states.get(entity_entry.entity_id)
        assert state, f"State not found for {entity_entry.entity_id}"
        assert state == snap(name=f"{name}-state")
