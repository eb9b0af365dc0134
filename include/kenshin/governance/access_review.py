"""The access review (アクセスログの定期点検): per staff member, how many
persons' records they read in a period and why, with what the review must
look at flagged: a volume far above the usual, any access to protection-flagged
persons, access outside office hours (a working day's hours: not a weekend, a
public holiday of Japan by the `holidays` package, or a day the offices close).
Thresholds and office hours are policy (`include/config/audit.yaml`). Read from audit.access_log (and the corrections
from audit.change_log) as kenshin_auditor; persons appear only as counts.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any
from zoneinfo import ZoneInfo

from kenshin.platform import config, db

AUDITOR = "kenshin_auditor"

_ACCESSES = """
with a as (
    select coalesce(app_user, login) as staff, db_role, person_key, protected, purpose,
           accessed_at at time zone %(tz)s as local_at
      from audit.access_log
     where accessed_at >= %(since)s and accessed_at < %(until)s
)
select staff, db_role, count(*), count(distinct person_key),
       count(distinct person_key) filter (where protected),
       count(*) filter (where not (extract(isodow from local_at)::int = any(%(weekdays)s)
                                   and local_at::date <> all(%(days_off)s)
                                   and local_at::time >= %(start)s and local_at::time < %(end)s)),
       count(distinct purpose), min(local_at), max(local_at)
  from a group by staff, db_role order by staff, db_role
"""

_CHANGES = """
select coalesce(app_user, login), count(*) from audit.change_log
 where changed_at >= %(since)s and changed_at < %(until)s and db_role in ('kenshin_staff', 'kenshin_protection')
 group by 1
"""


def days_off(since: dt.date, until: dt.date, hours: dict[str, Any]) -> list[dt.date]:
    """The days in [since, until) that are no working days though their weekday
    is one: public holidays (`public_holidays`, a country of the `holidays`
    package) and the offices' closing days (`closed_days`, MM-DD)."""
    import holidays

    years = range(since.year, until.year + 1)
    found = set(holidays.country_holidays(hours["public_holidays"], years=years)) if hours.get(
        "public_holidays") else set()
    for year in years:
        for day in hours.get("closed_days") or []:
            found.add(dt.date.fromisoformat(f"{year}-{day}"))
    return sorted(d for d in found if since <= d < until)


def report(since: dt.date, until: dt.date | None = None, *, url: str | None = None) -> list[dict[str, Any]]:
    """One entry per staff member (application user) and role over [since, until)."""
    policy = config.load("audit")
    hours, volume = policy["office_hours"], policy["volume"]
    # days are business days in the review's time zone (the connection's is Asia/Tokyo too)
    until = until or dt.datetime.now(ZoneInfo(hours["timezone"])).date() + dt.timedelta(days=1)
    params = {"since": since, "until": until, "tz": hours["timezone"], "weekdays": list(hours["weekdays"]),
              "start": dt.time.fromisoformat(hours["start"]), "end": dt.time.fromisoformat(hours["end"]),
              "days_off": days_off(since, until, hours)}
    with db.connect(url, role=AUDITOR) as conn:
        rows = conn.execute(_ACCESSES, params).fetchall()
        changes = dict(conn.execute(_CHANGES, params).fetchall())
    median = statistics.median([r[3] for r in rows]) if rows else 0
    limit = max(float(volume["factor_of_median"]) * median, int(volume["min_persons"]))
    out = []
    for staff, role, accesses, persons, protected, outside, purposes, first, last in rows:
        flags = []
        if persons > limit:
            flags.append(f"volume: {persons} persons, above {limit:g} "
                         f"({volume['factor_of_median']}x the median {median:g})")
        if protected:
            flags.append(f"protected persons: {protected}")
        if outside:
            flags.append(f"outside office hours: {outside} accesses")
        out.append({"staff": staff, "role": role, "accesses": accesses, "persons": persons,
                    "protected_persons": protected, "outside_office_hours": outside, "purposes": purposes,
                    "changes": changes.get(staff, 0), "first": first.isoformat(timespec="minutes"),
                    "last": last.isoformat(timespec="minutes"), "flags": flags})
    return out
