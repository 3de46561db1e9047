"""Provider client library of pbx_bridge.

Async, typed, and free of Home Assistant imports, so it could be published on its own.
"""

from .client import ConnectionField, PbxClient
from .registry import PROVIDERS, client_class

__all__ = ["PROVIDERS", "ConnectionField", "PbxClient", "client_class"]
