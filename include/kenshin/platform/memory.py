"""Memory behaviour of the city-wide passes (全件処理).

Selecting a city's letters builds a few million small objects (a person, their
screenings, the letter) that refer to nothing that refers back: no reference
cycles for Python's cyclic garbage collector to find. Yet the collector runs
every few hundred allocations and, as the letters kept grow, rescans them all:
at 1.56M residents it took more than half the selection's time. Reference
counting frees these objects either way; only the search for cycles is paused.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def acyclic_bulk() -> Iterator[None]:
    """Pause the cyclic collector for a pass that allocates millions of acyclic
    objects, then restore it as it was (nesting is safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
