"""Yemot wire format (see shared/provider-docs)."""

from __future__ import annotations

from aiohttp import web

from .base import BaseProviderSim


class YemotSim(BaseProviderSim):
    provider = "yemot"
    base_path = "/ym/api"
    default_credentials = {}  # noqa: RUF012

    def setup_routes(self, app: web.Application) -> None:
        """Routes are added by the provider's implementation."""
