"""Policy and settings from `include/config/*.yaml` (never literals in code)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

from kenshin.platform.paths import PROJECT_ROOT

CONFIG_DIR = PROJECT_ROOT / "include" / "config"


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The YAML document `{name}.yaml` of `include/config/`, or of the folder
    `KENSHIN_CONFIG_DIR` names (a deployment's own policy files)."""
    folder = Path(os.environ.get("KENSHIN_CONFIG_DIR") or CONFIG_DIR)
    return yaml.safe_load((folder / f"{name}.yaml").read_text(encoding="utf-8"))


def data_dir() -> Path:
    """Where inbox/, outbox/, notices/, reports/ live (`KENSHIN_DATA_DIR`)."""
    path = Path(os.environ.get("KENSHIN_DATA_DIR", PROJECT_ROOT / ".local" / "data"))
    path.mkdir(parents=True, exist_ok=True)
    return path
