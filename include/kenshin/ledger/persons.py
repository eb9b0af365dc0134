"""The person ledger (宛名台帳): what a registry file's promotion writes into core.

`core.person` (identity, the individual number encrypted and keyed-hashed, the
snapshot fingerprint), `core.person_version` (history: valid_from / valid_to),
`core.person_event` (birth, move-in with where from, move-out, death ...), and
the eligibility periods of the monthly lists (`core.welfare_period`,
`core.nhi_period`). The parsers (`kenshin.ingest.sources.registry`) land and
check the lines; these functions apply the accepted ones, inside the load's
promotion transaction.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from kenshin.ledger import PromotionRefused
from kenshin.platform import config, vocabulary

# next_date orders a diff's events per person; a snapshot has none (no sort).
_STAGE_JUMIN = """
create temp table stg_jumin on commit drop as
select a.*, case when not a.unchanged then {hash} end as attrs_hash, {next_date} as next_date
  from landing.jumin_accepted a
 where a.load_id = %(load)s
"""
_NEXT_EVENT = "lead(a.event_date) over (partition by a.addressee_id order by a.event_date, a.line_no)"

_VERSION_COLUMNS = """household_id, name_kanji, name_kana, name_kanji_key, name_kana_key, sex,
    birth_date, relationship, household_head_name, postal_code, ward_code, address, address_key,
    resident_since, previous_address, previous_municipality_code, status, protection_flag"""

_HASH = f"md5(row({_VERSION_COLUMNS})::text)"

# What a snapshot line changes on core.person itself (p: the stored row, s: the line)
_PERSON_CHANGES = ("((s.my_number_hmac is not null and p.my_number_hmac is distinct from s.my_number_hmac) "
                   "or p.missing_since is not null)")


def _stage(conn: psycopg.Connection, load_id: int, *, full: bool) -> None:
    """Temp table `stg_jumin`: the load's accepted lines with their version hash."""
    next_date = "null::date" if full else _NEXT_EVENT
    conn.execute(_STAGE_JUMIN.format(hash=_HASH, next_date=next_date), {"load": load_id})
    _keep_support_measures(conn, load_id)
    conn.execute("analyze stg_jumin")


def _keep_support_measures(conn: psycopg.Connection, load_id: int) -> None:
    """A line without the support measure (支援措置) of a person under one does
    not lift it: the flag is kept and a lift request waits for a staff member of
    kenshin_protection to approve (ops.protection_request); the database refuses
    any other lift (core.guard_protection)."""
    kept = [r[0] for r in conn.execute(
        """update stg_jumin s set protection_flag = true
            where not s.protection_flag
              and s.addressee_id in (select addressee_id from core.person_version where protection_flag)
           returning s.addressee_id""")]
    if kept:
        conn.execute(f"update stg_jumin set attrs_hash = {_HASH} where addressee_id = any(%s)", (kept,))
        conn.execute("select ops.registry_lift_requests(%s, %s)", (load_id, kept))


def apply_snapshot(conn: psycopg.Connection, load_id: int, extract: dt.date) -> dict[str, int]:
    """A full snapshot: new persons, changed persons get a new version, residents
    the snapshot does not list are flagged (never deleted).

    Set-based over temporary tables of the persons concerned: the planner never
    has to guess about core tables this transaction has just filled.
    """
    _stage(conn, load_id, full=True)
    p = {"load": load_id, "day": extract, "resident": vocabulary.RESIDENT}
    conn.execute(
        """
        create temp table stg_new on commit drop as
        select addressee_id from stg_jumin except select addressee_id from core.person;
        create temp table stg_changed on commit drop as
        select s.addressee_id from stg_jumin s
          join core.person_version v on v.addressee_id = s.addressee_id and v.valid_to is null
         where v.attrs_hash <> s.attrs_hash;
        analyze stg_new; analyze stg_changed;
        """)
    orphans = conn.execute("select count(*) from stg_new join stg_jumin s using (addressee_id) "
                           "where s.unchanged").fetchone()[0]
    if orphans:
        # a person purged (or otherwise removed) after the fingerprints were read
        raise PromotionRefused(f"{orphans} lines were landed as unchanged for persons no longer in the ledger; "
                               "load the file again")
    new = conn.execute(
        """
        insert into core.person (addressee_id, person_key, my_number_hmac, my_number_enc, first_load_id,
                                 last_load_id, snapshot_fingerprint)
        select s.addressee_id, s.person_key, s.my_number_hmac, s.my_number_enc, %(load)s, %(load)s,
               s.line_fingerprint
          from stg_jumin s join stg_new n using (addressee_id)
        """, p).rowcount
    if new < conn.execute("select count(*) from stg_jumin").fetchone()[0]:
        conn.execute(
            f"""
            update core.person p
               set my_number_hmac = coalesce(s.my_number_hmac, p.my_number_hmac),
                   my_number_enc = coalesce(s.my_number_enc, p.my_number_enc),
                   snapshot_fingerprint = s.line_fingerprint,
                   missing_since = null,
                   -- a new fingerprint alone (new row rules) is no change of the
                   -- person: incremental marts must not rebuild them for it
                   last_load_id = case when {_PERSON_CHANGES} then %(load)s else p.last_load_id end,
                   updated_at = case when {_PERSON_CHANGES} then now() else p.updated_at end
              from stg_jumin s
             where p.addressee_id = s.addressee_id and p.first_load_id <> %(load)s
               and ({_PERSON_CHANGES} or p.snapshot_fingerprint is distinct from s.line_fingerprint)
            """, p)
    changed = conn.execute(
        """
        update core.person_version v
           set valid_to = greatest(%(day)s::date, v.valid_from)
          from stg_changed c
         where v.addressee_id = c.addressee_id and v.valid_to is null
        """, p).rowcount
    conn.execute(
        f"""
        insert into core.person_version (addressee_id, valid_from, {_VERSION_COLUMNS},
                                         attrs_hash, change_event, load_id, line_no)
        select s.addressee_id, %(day)s, {_VERSION_COLUMNS}, s.attrs_hash, '00', %(load)s, s.line_no
          from stg_jumin s
         where s.addressee_id in (select addressee_id from stg_new
                                  union all select addressee_id from stg_changed)
        """, p)
    # A snapshot of someone we never saw, who came from elsewhere, still tells us
    # of their move-in: linkage queries (情報照会) need it.
    conn.execute(
        """
        insert into core.person_event (addressee_id, event_code, event_date, previous_municipality_code,
                                       previous_address, load_id, line_no)
        select s.addressee_id, '02', s.resident_since, s.previous_municipality_code, s.previous_address,
               %(load)s, s.line_no
          from stg_jumin s join stg_new n using (addressee_id)
         where s.previous_municipality_code is not null and s.resident_since is not null
           and not exists (select 1 from core.person_event e where e.addressee_id = s.addressee_id
                              and e.event_code = '02' and e.event_date = s.resident_since)
        """, p)
    missing = 0
    # an unchanged line lists the person in the state its current version holds
    listed = conn.execute(
        """select count(*) from stg_jumin s
             left join core.person_version v on s.unchanged and v.addressee_id = s.addressee_id
                                            and v.valid_to is null
            where coalesce(s.status, v.status) = %s""", (vocabulary.RESIDENT,)).fetchone()[0]
    residents = conn.execute("select count(*) from core.person_version where valid_to is null "
                             "and status = %s", (vocabulary.RESIDENT,)).fetchone()[0]
    coverage = config.load("platform")["registry"]["missing_check_min_coverage"]
    if new < listed and residents and listed < residents * coverage:
        raise PromotionRefused(f"the snapshot lists {listed} of {residents} residents, below the configured "
                               f"coverage {coverage:.0%}: a partial extract")
    if new < listed:
        # EXCEPT hashes both sides: no reliance on statistics of tables this
        # very transaction has just filled.
        conn.execute(
            """
            create temp table gone on commit drop as
            select addressee_id from core.person_version where valid_to is null and status = %(resident)s
            except
            select addressee_id from stg_jumin
            except
            select landing.ascii_digits(addressee_id)::char(10) from landing.jumin
             where load_id = %(load)s and reject_reason is not null and addressee_id is not null
            """, p)
        missing = conn.execute(
            """
            with flagged as (
                update core.person p set missing_since = %(day)s, updated_at = now()
                  from gone g
                 where p.addressee_id = g.addressee_id and p.missing_since is null
                returning p.addressee_id)
            insert into ops.registry_check (addressee_id, load_id, reason, raised_on)
            select addressee_id, %(load)s, 'resident not listed in the full snapshot', %(day)s from flagged
            """, p).rowcount
    return {"persons_new": new, "persons_changed": changed, "persons_missing": missing}


def apply_diff(conn: psycopg.Connection, load_id: int) -> dict[str, int]:
    """A daily change set: each row is the person's state after an event; several
    rows of one person apply in event-date then line order."""
    _stage(conn, load_id, full=False)
    p = {"load": load_id}
    new = conn.execute(
        """
        insert into core.person (addressee_id, person_key, my_number_hmac, my_number_enc, first_load_id,
                                 last_load_id)
        select distinct on (s.addressee_id) s.addressee_id, s.person_key, s.my_number_hmac, s.my_number_enc,
               %(load)s, %(load)s
          from stg_jumin s
         where not exists (select 1 from core.person p where p.addressee_id = s.addressee_id)
         order by s.addressee_id, s.event_date desc, s.line_no desc
        """, p).rowcount
    conn.execute(
        """
        update core.person p
           set my_number_hmac = coalesce(s.my_number_hmac, p.my_number_hmac),
               my_number_enc = coalesce(s.my_number_enc, p.my_number_enc),
               snapshot_fingerprint = null,
               missing_since = null, last_load_id = %(load)s, updated_at = now()
          from (select distinct on (addressee_id) * from stg_jumin
                 order by addressee_id, event_date desc, line_no desc) s
         where p.addressee_id = s.addressee_id
        """, p)
    conn.execute(
        """
        update core.person_version v
           set valid_to = greatest(f.first_date, v.valid_from)
          from (select addressee_id, min(event_date) as first_date from stg_jumin group by 1) f
         where v.addressee_id = f.addressee_id and v.valid_to is null
        """)
    conn.execute(
        f"""
        insert into core.person_version (addressee_id, valid_from, valid_to, {_VERSION_COLUMNS},
                                         attrs_hash, change_event, load_id, line_no)
        select s.addressee_id, greatest(s.event_date, coalesce(last.valid_to, s.event_date)),
               greatest(s.next_date, s.event_date, coalesce(last.valid_to, s.event_date)),
               {_VERSION_COLUMNS}, s.attrs_hash, s.event_code, %(load)s, s.line_no
          from stg_jumin s
          left join lateral (select max(valid_to) as valid_to from core.person_version v
                              where v.addressee_id = s.addressee_id) last on true
         order by s.addressee_id, s.event_date, s.line_no
        """, p)
    # the newest row of each person is the current version
    conn.execute(
        """
        update core.person_version v set valid_to = null
          from (select distinct on (addressee_id) addressee_id, line_no from stg_jumin
                 order by addressee_id, event_date desc, line_no desc) last
         where v.load_id = %(load)s and v.line_no = last.line_no
        """, p)
    events = conn.execute(
        """
        insert into core.person_event (addressee_id, event_code, event_date, previous_municipality_code,
                                       previous_address, load_id, line_no)
        select addressee_id, event_code, event_date,
               case when event_code = '02' then previous_municipality_code end,
               case when event_code = '02' then previous_address end, %(load)s, line_no
          from stg_jumin
        """, p).rowcount
    move_ins = conn.execute("select count(*) from stg_jumin where event_code = '02'").fetchone()[0]
    return {"persons_new": new, "events": events, "move_ins": move_ins}


def _close_unlisted(conn: psycopg.Connection, table: str, start_column: str, end_column: str,
                    landing: str, load_id: int, month_start: dt.date) -> int:
    """The monthly lists are complete: an open period the newest list no longer
    carries has ended; it closes on the day before that list's month. A person
    whose row was quarantined is listed, just not loadable: left open."""
    return conn.execute(
        f"""update {table} t set {end_column} = greatest(%(month)s::date - 1, t.{start_column})
             where t.{end_column} is null and t.last_listed < %(month)s
               and t.addressee_id not in (
                   select landing.ascii_digits(addressee_id) from {landing}
                    where load_id = %(load)s and reject_reason is not null and addressee_id is not null)""",
        {"month": month_start, "load": load_id}).rowcount


def promote_welfare_periods(conn: psycopg.Connection, load_id: int, month_start: dt.date) -> dict[str, int]:
    """A month's complete list of public-assistance recipients (生活保護): periods
    upserted, open periods it no longer carries closed."""
    n = conn.execute(
        """
            insert into core.welfare_period (addressee_id, case_number, benefit_type, start_date,
                                             end_date, last_listed, load_id)
            select addressee_id, case_number, benefit_type, start_date, end_date, %(month)s, %(load)s
              from landing.seiho_accepted where load_id = %(load)s
            on conflict (addressee_id, case_number, start_date) do update
               set benefit_type = excluded.benefit_type, end_date = excluded.end_date,
                   last_listed = excluded.last_listed, load_id = excluded.load_id
            """, {"load": load_id, "month": month_start}).rowcount
    closed = _close_unlisted(conn, "core.welfare_period", "start_date", "end_date", "landing.seiho", load_id,
                             month_start)
    return {"welfare_periods": n, "welfare_periods_closed": closed}


def promote_nhi_periods(conn: psycopg.Connection, load_id: int, month_start: dt.date) -> dict[str, int]:
    """A month's complete list of NHI members (国保): qualification periods
    upserted, open periods it no longer carries closed."""
    n = conn.execute(
        """
            insert into core.nhi_period (addressee_id, insured_number_hmac, qualified_from, qualified_to,
                                         last_listed, load_id)
            select addressee_id, insured_number_hmac, qualified_from, qualified_to, %(month)s, %(load)s
              from landing.kokuho_accepted where load_id = %(load)s
            on conflict (addressee_id, qualified_from) do update
               set insured_number_hmac = excluded.insured_number_hmac,
                   qualified_to = excluded.qualified_to,
                   last_listed = excluded.last_listed, load_id = excluded.load_id
            """, {"load": load_id, "month": month_start}).rowcount
    closed = _close_unlisted(conn, "core.nhi_period", "qualified_from", "qualified_to", "landing.kokuho",
                             load_id, month_start)
    return {"nhi_periods": n, "nhi_periods_closed": closed}
