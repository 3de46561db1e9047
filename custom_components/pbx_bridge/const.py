"""Constants of the PBX Bridge integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "pbx_bridge"

CONF_PROVIDER: Final = "provider"
