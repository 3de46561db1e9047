"""Constants of the PBX Bridge integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "pbx_bridge"
LOGGER = logging.getLogger(__package__)

# Config entry data: the provider id, its connection fields and our webhook id.
CONF_PROVIDER: Final = "provider"
CONF_WEBHOOK_ID: Final = "webhook_id"
# What we registered at the provider: {"url": …, "numbers": [Telfa number ids]}.
CONF_REGISTERED_WEBHOOK: Final = "registered_webhook"

# Options.
CONF_SCAN_INTERVAL: Final = "scan_interval"  # seconds
CONF_AGENT_PINS: Final = "agent_pins"  # dict agent number -> PIN (VoIPSUN agent actions)
CONF_SMS_SENDER: Final = "sms_sender"  # sender id or number id for SMS
CONF_QUEUE_PATHS: Final = "queue_paths"  # list of IVR paths of queues (Yemot cannot list them)
CONF_DEFAULT_DIAL_SOURCE_KIND: Final = "default_dial_source_kind"  # user | extension | line
CONF_DEFAULT_DIAL_SOURCE: Final = "default_dial_source"
CONF_SMS_RECIPIENTS: Final = "sms_recipients"  # list of numbers, one notify entity each
CONF_WEBHOOK_SECRET: Final = "webhook_secret"  # noqa: S105 - a key, not a secret
CONF_AUTO_REGISTER_WEBHOOK: Final = "auto_register_webhook"
CONF_HOOK_NUMBERS: Final = "hook_numbers"  # Telfa number ids to register on (default: all)

DEFAULT_SCAN_INTERVAL: Final = 30
MIN_SCAN_INTERVAL: Final = 10
MAX_SCAN_INTERVAL: Final = 3600
