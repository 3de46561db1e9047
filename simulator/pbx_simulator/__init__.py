"""pbx_simulator: a stateful simulator of the phone-system APIs pbx_bridge speaks."""

from .app import LoggedRequest, Simulator
from .state import SimState

__all__ = ["LoggedRequest", "SimState", "Simulator"]
