"""Files the platform writes for people and partners (出力ファイル): whole or not
at all, and the Japanese font letters, reports and charts are drawn in.

Every output (layout files, return lists, the print vendor's lists and PDFs,
the ministry report, the charts) is written under a hidden temporary name in
its folder and renamed into place, so a reader (the vendor's pickup, the
network's relay, a person opening a folder) never sees half a file, and a
writer that fails leaves none.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

# IPAex Mincho (Debian package fonts-ipaexfont-mincho): letters, charts.
FONT_PATHS = (Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
              Path("/usr/share/fonts/truetype/ipaexfont-mincho/ipaexm.ttf"))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` when the
    block ends normally, removed when it raises."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` whole, or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def font_path() -> Path:
    """The Japanese font's file (IPAex Mincho)."""
    for p in FONT_PATHS:
        if p.exists():
            return p
    raise RuntimeError("the Japanese font IPAex Mincho is missing: install the Debian package "
                       "fonts-ipaexfont-mincho (make setup does when it can)")
