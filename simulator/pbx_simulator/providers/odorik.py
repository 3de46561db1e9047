"""Odorik wire format (see shared/provider-docs)."""

from __future__ import annotations

from aiohttp import web

from .base import BaseProviderSim


class OdorikSim(BaseProviderSim):
    provider = "odorik"
    base_path = "/api/v1"
    default_credentials = {}  # noqa: RUF012

    def setup_routes(self, app: web.Application) -> None:
        """Routes are added by the provider's implementation."""
