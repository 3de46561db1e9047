"""Provider client library of pbx_bridge.

Async, typed, and free of Home Assistant imports, so it could be published on its own.
"""

from .client import PbxClient
from .declaration import ConnectionField, OptionField, OptionKind, ProviderDeclaration
from .registry import PROVIDERS, client_class

__all__ = [
    "PROVIDERS",
    "ConnectionField",
    "OptionField",
    "OptionKind",
    "PbxClient",
    "ProviderDeclaration",
    "client_class",
]
