"""Which client class serves which provider id.

Every module under `providers/` that defines a `PbxClient` subclass with a `declaration` is a
provider: adding one is adding its module, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from . import providers
from .client import PbxClient


def _discover() -> dict[str, type[PbxClient]]:
    found: dict[str, type[PbxClient]] = {}
    for module_info in sorted(pkgutil.iter_modules(providers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{providers.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, PbxClient)
                and value.__module__ == module.__name__
                and "declaration" in vars(value)
            ):
                found[value.provider] = value
    return found


PROVIDERS: dict[str, type[PbxClient]] = _discover()


def client_class(provider: str) -> type[PbxClient]:
    """The client class of `provider` (KeyError for an unknown id)."""
    return PROVIDERS[provider]
