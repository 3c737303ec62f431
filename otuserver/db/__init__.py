"""The database layer: a per-process SQLite engine and the Model base class.

It imports only the standard library and otuserver.http (its errors carry
their HTTP status); it knows nothing of routing, the framework or sockets.
"""

from .engine import BUSY_TIMEOUT_S, Engine
from .errors import Conflict, DatabaseBusy, ValidationError
from .fields import BooleanField, Field, FieldError, IntegerField, RealField
from .model import Model

__all__ = [
    "BUSY_TIMEOUT_S", "Engine", "Conflict", "DatabaseBusy", "ValidationError",
    "BooleanField", "Field", "FieldError", "IntegerField", "RealField", "Model",
]
