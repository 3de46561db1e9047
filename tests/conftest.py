"""Shared fixtures.

The test plugin mounts its own `custom_components` package first, so import ours before
the `hass` fixture runs; otherwise Home Assistant reports "Integration not found".
"""

from __future__ import annotations

import pytest

import custom_components.pbx_bridge  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/."""
