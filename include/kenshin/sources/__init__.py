"""Inbound sources, one per layout of LAYOUTS.md, found by file name."""

from __future__ import annotations

from kenshin.sources.base import Source
from kenshin.sources.clinic import KenshinSource, SeikenSource
from kenshin.sources.linkage import ShokaiResSource
from kenshin.sources.registry import JuminSource, KokuhoSource, SeihoSource

SOURCE_CLASSES: tuple[type[Source], ...] = (
    JuminSource, SeihoSource, KokuhoSource, KenshinSource, SeikenSource, ShokaiResSource,
)


def detect(file_name: str) -> Source | None:
    """The source that owns `file_name`, or None for a name no layout has."""
    for cls in SOURCE_CLASSES:
        if cls.pattern.fullmatch(file_name):
            return cls()
    return None
