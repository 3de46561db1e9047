"""Shared fixtures.

The test plugin mounts its own `custom_components` package first, so import ours before
the `hass` fixture runs; otherwise Home Assistant reports "Integration not found".
"""

from __future__ import annotations

import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

import custom_components.pbx_bridge  # noqa: F401


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
