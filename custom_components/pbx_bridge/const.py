"""Constants of the PBX Bridge integration."""

from __future__ import annotations

import logging
from typing import Final

from .api.declaration import (
    OPTION_AUTO_REGISTER_WEBHOOK,
    OPTION_DEFAULT_DIAL_SOURCE,
    OPTION_DEFAULT_DIAL_SOURCE_KIND,
    OPTION_SMS_RECIPIENTS,
    OPTION_SMS_SENDER,
    OPTION_WEBHOOK_SECRET,
    OPTION_WEBHOOK_TARGETS,
)

DOMAIN: Final = "pbx_bridge"
LOGGER = logging.getLogger(__package__)

# Config entry data: the provider id, its connection fields and our webhook id.
CONF_PROVIDER: Final = "provider"
CONF_WEBHOOK_ID: Final = "webhook_id"
# What we registered at the provider: {"url": …, "numbers": [ids of webhook targets]}.
CONF_REGISTERED_WEBHOOK: Final = "registered_webhook"

# The common options (see `api.declaration.COMMON_OPTIONS`); providers declare their own.
CONF_SMS_SENDER: Final = OPTION_SMS_SENDER
CONF_DEFAULT_DIAL_SOURCE_KIND: Final = OPTION_DEFAULT_DIAL_SOURCE_KIND
CONF_DEFAULT_DIAL_SOURCE: Final = OPTION_DEFAULT_DIAL_SOURCE
CONF_SMS_RECIPIENTS: Final = OPTION_SMS_RECIPIENTS
CONF_WEBHOOK_SECRET: Final = OPTION_WEBHOOK_SECRET
CONF_AUTO_REGISTER_WEBHOOK: Final = OPTION_AUTO_REGISTER_WEBHOOK
CONF_HOOK_NUMBERS: Final = OPTION_WEBHOOK_TARGETS
