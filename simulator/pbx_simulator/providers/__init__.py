"""One module per provider wire format; every `BaseProviderSim` subclass here is served."""

from __future__ import annotations

import importlib
import pkgutil

from .base import BaseProviderSim


def _discover() -> tuple[type[BaseProviderSim], ...]:
    found: list[type[BaseProviderSim]] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        found.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseProviderSim)
            and value.__module__ == module.__name__
            and "provider" in vars(value)
        )
    return tuple(found)


PROVIDER_CLASSES = _discover()
