"""Where the project lives: the folder holding `include/`, `dbt_project/`,
`expectations/` and `dags/` (the package runs from the source tree, see the
Dockerfile)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
