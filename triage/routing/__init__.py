"""The routing service: the only code that knows model names.

Public entry: :func:`route` and :func:`route_stream` (see ``service.py``). Importing this package
connects the signals that bump the shared configuration version when routing rows change.
"""

from triage.routing.config import config_bump_version, connect_signals
from triage.routing.service import (
    Attempt,
    InvalidOutput,
    RouteResult,
    RoutingError,
    StreamEvent,
    UnknownRouter,
    UnknownTask,
    route,
    route_stream,
)

connect_signals()

__all__ = [
    "Attempt",
    "InvalidOutput",
    "RouteResult",
    "RoutingError",
    "StreamEvent",
    "UnknownRouter",
    "UnknownTask",
    "config_bump_version",
    "route",
    "route_stream",
]
