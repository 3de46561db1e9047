"""What every provider client must raise for each simulator fault on a plain read."""

from __future__ import annotations

from custom_components.pbx_bridge.api.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxError,
    PbxRateLimitError,
    PbxResponseError,
)
from pbx_simulator.faults import FaultKind

READ_FAULT_ERRORS: list[tuple[FaultKind, type[PbxError]]] = [
    (FaultKind.SERVER_ERROR, PbxConnectionError),
    (FaultKind.UNAUTHORIZED, PbxAuthError),
    (FaultKind.FORBIDDEN, PbxAuthError),
    (FaultKind.RATE_LIMIT, PbxRateLimitError),
    (FaultKind.TRUNCATED, PbxResponseError),
    (FaultKind.MALFORMED, PbxResponseError),
    (FaultKind.HTML, PbxResponseError),
    (FaultKind.HANG, PbxConnectionError),
    (FaultKind.DISCONNECT, PbxConnectionError),
]
