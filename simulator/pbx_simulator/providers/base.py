"""What every provider simulation shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

if TYPE_CHECKING:
    from ..app import Simulator
    from ..state import SimState


class BaseProviderSim:
    """A provider's wire format on top of the shared `SimState`.

    Subclasses set `provider`, `base_path` and `default_credentials`, add their routes in
    `setup_routes` and name each request's endpoint (for counters and faults) in
    `endpoint_key`.
    """

    provider: ClassVar[str]
    base_path: ClassVar[str] = ""
    default_credentials: ClassVar[dict[str, str]]

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.state: SimState = sim.state
        self.state.credentials.setdefault(self.provider, dict(self.default_credentials))

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials that work right now (the control API can change them)."""
        return self.state.credentials[self.provider]

    def demo_credentials(self) -> dict[str, str]:
        return dict(self.credentials)

    def demo_options(self) -> dict[str, str | list[str]]:
        """Integration options that make this account fully usable (the demo sets them)."""
        return {}

    def set_admin_hook(self, settings: dict[str, Any]) -> None:
        """Push an administrator sets up outside the API (`POST /_sim/<provider>/admin-hook`).

        `LookupError` where the provider has none.
        """
        raise LookupError(f"{self.provider} has no administrator-defined hook")

    def setup_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def endpoint_key(self, request: web.Request, path: str) -> str:
        return f"{request.method} {path}"
