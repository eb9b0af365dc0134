"""Inbound sources, one per layout of LAYOUTS.md, found by file name."""

from __future__ import annotations

from kenshin.ingest.sources.base import Source
from kenshin.ingest.sources.clinic import KenshinSource, SeikenSource
from kenshin.ingest.sources.linkage_responses import ShokaiResSource
from kenshin.ingest.sources.registry import JuminSource, KokuhoSource, SeihoSource

SOURCE_CLASSES: tuple[type[Source], ...] = (
    JuminSource, SeihoSource, KokuhoSource, KenshinSource, SeikenSource, ShokaiResSource,
)


def detect(file_name: str) -> Source | None:
    """The source that owns `file_name`, or None for a name no layout has."""
    for cls in SOURCE_CLASSES:
        if cls.pattern.fullmatch(file_name):
            return cls()
    return None
