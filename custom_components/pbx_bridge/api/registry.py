"""Which client class serves which provider id."""

from __future__ import annotations

from .client import PbxClient
from .providers.daktela import DaktelaClient
from .providers.odorik import OdorikClient
from .providers.telfa import TelfaClient
from .providers.voipsun import VoipsunClient
from .providers.yemot import YemotClient

PROVIDERS: dict[str, type[PbxClient]] = {
    cls.provider: cls
    for cls in (TelfaClient, DaktelaClient, OdorikClient, YemotClient, VoipsunClient)
}


def client_class(provider: str) -> type[PbxClient]:
    """The client class of `provider` (KeyError for an unknown id)."""
    return PROVIDERS[provider]
