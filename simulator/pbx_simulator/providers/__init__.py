"""One module per provider wire format."""

from .daktela import DaktelaSim
from .odorik import OdorikSim
from .telfa import TelfaSim
from .voipsun import VoipsunSim
from .yemot import YemotSim

PROVIDER_CLASSES = (TelfaSim, DaktelaSim, OdorikSim, YemotSim, VoipsunSim)
