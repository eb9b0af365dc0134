"""The period a run stands for (対象期間), the same for every way a run starts.

- A scheduled run: the end of its data interval (the moment its schedule fired).
- A manual run (the UI's Trigger button, the REST API or `airflow dags trigger`
  without a logical date): Airflow 3 gives it no logical date and no data
  interval; it stands for the moment it was asked to run (`run_after`).
- Either, with the `as_of` parameter (a date the Trigger form offers): the run
  stands for that business day, exactly as the scheduled run that ended on
  that day would. A manual re-run of a past month gives `as_of` of the day its
  scheduled run would have run (the 1st for `provision_copies`, the 10th for
  `clinic_ingest` ...); every task is idempotent, so nothing happens twice.

Business days are in the platform's time zone (Asia/Tokyo).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param

from kenshin_airflow.policy import TIMEZONE

AS_OF = "as_of"

# The Trigger form's field (JSON schema: a date or nothing).
PARAMS = {AS_OF: Param(None, type=["null", "string"], format="date", title="As of (基準日)",
                       description="The business day this run stands for, as if its schedule had fired "
                                   "on that day. Empty: the end of the data interval, or now for a manual run.")}


def run_moment(*, data_interval_end=None, dag_run=None, params=None) -> pendulum.DateTime:
    """The moment the run stands for, in the business time zone."""
    as_of = (params or {}).get(AS_OF)
    if as_of:
        return pendulum.instance(dt.datetime.combine(dt.date.fromisoformat(str(as_of)), dt.time()), tz=TIMEZONE)
    moment = data_interval_end or getattr(dag_run, "run_after", None)
    if moment is None:
        raise ValueError("the run has neither a data interval nor run_after: cannot tell its period")
    return pendulum.instance(moment).in_timezone(TIMEZONE)


def run_day(**context) -> dt.date:
    """The business day the run stands for (see `run_moment`)."""
    return run_moment(**context).date()
