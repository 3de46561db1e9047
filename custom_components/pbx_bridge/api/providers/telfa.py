"""Telfa client (being written: see the client library issue)."""

from __future__ import annotations

from ..client import PbxClient


class TelfaClient(PbxClient):
    provider = "telfa"
