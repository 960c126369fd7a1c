"""The backends a worker can serve, by the ``driver`` key of its configuration.

Each driver is a class taking the configuration dict whose instances are
``base.Driver``s; ``sqlite`` needs only the standard library, the IRIS
drivers import ``iris`` when a session starts, not before.
"""

from typing import Callable, Dict

from .base import Driver
from .iris_embedded import IrisEmbeddedDriver
from .iris_native import IrisNativeDriver
from .sqlite import SqliteDriver

DRIVERS: Dict[str, Callable[[dict], Driver]] = {
    "sqlite": SqliteDriver,
    "iris-embedded": IrisEmbeddedDriver,
    "iris-native": IrisNativeDriver,
}
