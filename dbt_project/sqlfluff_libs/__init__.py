"""Context for sqlfluff's jinja templater when it lints the dbt models (make lint).

sqlfluff's dbt templater does not run with dbt-core 1.12 yet, and the jinja
templater's stand-in `var()` returns a placeholder string that the macros
cannot do arithmetic with; this gives it the project's real vars
(dbt_project.yml) instead.
"""

from pathlib import Path

import yaml

_VARS = yaml.safe_load((Path(__file__).resolve().parents[1] / "dbt_project.yml").read_text())["vars"]


def var(name, default=None):
    """dbt's var(): the value set in dbt_project.yml, else the default."""
    return _VARS.get(name, default)
