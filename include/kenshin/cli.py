"""The `kenshin` command line: the same functions the DAGs run, for an engineer
replaying one step by hand exactly as the scheduler would.

Results go to stdout (JSON, one object per line); logs go to stderr and never
hold personal data.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import logging
import sys
from pathlib import Path

import click

from kenshin.platform import db, vocabulary


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


class _Command(click.Group):
    """The `kenshin` group: a configuration error (a key missing or malformed) is
    one line naming what to set, exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        from kenshin.platform.crypto import KeyError_

        try:
            return super().invoke(ctx)
        except KeyError_ as exc:
            click.echo(f"kenshin: configuration error: {exc} (the base64 of 32 random bytes, from the "
                       "secrets backend; README: keys)", err=True)
            ctx.exit(2)


@click.group(cls=_Command)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """kenshin: the city's adult health screening data platform (健康増進事業)."""
    _setup_logging(verbose)


@main.group("db")
def db_group() -> None:
    """The database: ensure a server, run migrations."""


@db_group.command("up")
def db_up() -> None:
    """Ensure a server (KENSHIN_DATABASE_URL, or the embedded cluster); print its URL last."""
    url = db.database_url()
    db.ensure_database(url)
    click.echo(url)


@db_group.command("migrate")
@click.option("--revision", default="head", show_default=True)
def db_migrate(revision: str) -> None:
    """Apply schema migrations (Alembic, include/sql/migrations)."""
    db.migrate(revision=revision)
    click.echo(json.dumps({"migrated_to": revision}))


@main.command()
@click.option("--report", type=click.Path(path_type=Path), help="Write one JSON line per data record here.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ingest(report: Path | None, files: tuple[Path, ...]) -> None:
    """Load inbound files (source detected from the name); one JSON object per file.

    Exits 1 if any file was rejected or could not be loaded (unrecognised, unreadable).
    """
    from kenshin.ingest.inbox import load_order
    from kenshin.ingest.loading import ingest_file, record_outcomes
    from kenshin.platform import progress

    url = db.database_url()
    rejected = False
    out = open(report, "w", encoding="utf-8") if report else None
    try:
        with progress.task("ingest", total=len(files), unit="files") as bar:
            for path in sorted(files, key=load_order):  # the order the DAG uses
                result = ingest_file(path, url=url)
                bar.advance()
                click.echo(json.dumps(result.summary(), ensure_ascii=False))
                rejected |= result.status not in ("loaded", "duplicate")
                if out:
                    for record in record_outcomes(result, url=url):
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out:
            out.close()
    sys.exit(1 if rejected else 0)


@main.group("review")
def review_group() -> None:
    """The review queue (突合確認) of clinic records the matcher would not decide."""


@review_group.command("list")
@click.option("--limit", type=int, default=100, show_default=True)
def review_list(limit: int) -> None:
    """Open items, one JSON object per line."""
    from kenshin.matching import review_queue as review

    for item in review.list_open(limit=limit):
        click.echo(json.dumps(item, ensure_ascii=False, default=str))


@review_group.command("show")
@click.argument("review_id", type=int)
@click.option("--by", "by", metavar="STAFF_ID", help="Who reads (the access log; default: KENSHIN_USER, OS user).")
def review_show(review_id: int, by: str | None) -> None:
    """One item: the record as sent and each candidate as of the exam date (read as
    staff: the access log records the item and every candidate shown)."""
    from kenshin.matching import review_queue as review

    try:
        click.echo(json.dumps(review.show(review_id, by=by), ensure_ascii=False, default=str, indent=2))
    except review.ReviewError as exc:
        raise click.ClickException(str(exc)) from None


@review_group.command("decide")
@click.argument("review_id", type=int)
@click.option("--link", "link", metavar="ADDRESSEE_ID", help="Link the record to this addressee.")
@click.option("--reject", is_flag=True, help="Return the record to the clinic.")
@click.option("--reason", help="Why it is rejected (required with --reject); with --link, why a 対象外受診 or "
                               "重複受診 is accepted (recorded).")
@click.option("--by", "by", required=True, metavar="STAFF_ID", help="Who decides (recorded).")
def review_decide(review_id: int, link: str | None, reject: bool, reason: str | None, by: str) -> None:
    """Decide an item: --link ADDRESSEE_ID, or --reject --reason TEXT; always --by STAFF_ID."""
    from kenshin.matching import review_queue as review

    if reject == (link is not None):
        raise click.UsageError("give exactly one of --link ADDRESSEE_ID or --reject")
    if reject and not reason:
        raise click.UsageError("--reject needs --reason TEXT")
    try:
        result = review.decide(review_id, by=by, link=link, reject_reason=reason if reject else None,
                               reason=None if reject else reason)
    except review.ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result, ensure_ascii=False))


@main.group("marts")
def marts_group() -> None:
    """The dbt marts and statistics (dbt_project/)."""


@marts_group.command("parse")
def marts_parse() -> None:
    """Write the dbt manifest the marts_build DAG is rendered from."""
    from kenshin.reporting import marts

    marts.parse()
    click.echo(str(marts.MANIFEST))


@marts_group.command("docs")
def marts_docs() -> None:
    """Generate the dbt documentation site; prints where it is."""
    from kenshin.reporting import marts

    click.echo(str(marts.docs()))


@marts_group.command("build")
@click.option("--full-refresh", is_flag=True,
              help="Rebuild the incremental models whole (after a change of their logic).")
def marts_build(full_refresh: bool) -> None:
    """dbt build (seeds, models, tests), then publish the statistics if all passed."""
    from kenshin.reporting import marts

    if not marts.build(full_refresh=full_refresh):
        raise click.ClickException("dbt build failed: statistics not published (see .local/dbt/logs/dbt.log)")
    click.echo("marts built, statistics published")


@main.command("eligible")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day assessed.")
@click.option("--addressee-id", "addressee_id", help="One person (宛名番号); everyone on the ledger by default.")
@click.option("--explain", is_flag=True,
              help="Per exam type, the rule that decided, in Japanese and English (one person: --addressee-id).")
def eligible(as_of: dt.datetime, addressee_id: str | None, explain: bool) -> None:
    """対象者判定: one JSON line per person on the ledger on that day, with the
    programmes (exam types) they are a target of and why not for the others.
    With --explain, the answer for staff on the telephone: each exam type, the
    rule that decided (age and its basis, the screening that blocked)."""
    import psycopg

    from kenshin.platform import memory
    from kenshin.programmes import eligibility
    from kenshin.programmes import rules as programmes

    if explain and not addressee_id:
        raise click.UsageError("--explain answers for one person: give --addressee-id")
    day = as_of.date()
    rules = programmes.exam_types()
    found = False
    with psycopg.connect(db.database_url()) as conn, memory.acyclic_bulk():
        for person, verdict in eligibility.decisions(eligibility.people(conn, day, addressee_id), day, rules):
            found = True
            if explain:
                click.echo(explanation(person.addressee_id, day, verdict, rules))
                continue
            click.echo(json.dumps({
                "addressee_id": person.addressee_id, "as_of": day.isoformat(),
                "fiscal_year": programmes.fiscal_year(day),
                "targets": [code for code, v in verdict.items() if v.target],
                "not_targets": {code: v.reason for code, v in verdict.items() if not v.target},
            }, ensure_ascii=False))
    if addressee_id and not found:
        raise click.ClickException(f"the addressee id given is not on the ledger on {day.isoformat()}")


def explanation(addressee_id: str, day: dt.date, verdict: dict, rules: dict) -> str:
    """`kenshin eligible --explain`: one block per exam type, Japanese then English."""
    from kenshin.programmes import rules as programmes

    lines = [f"宛名番号 {addressee_id}  {day.isoformat()}（{programmes.fiscal_year(day)}年度） / "
             f"addressee {addressee_id} on {day.isoformat()} (FY{programmes.fiscal_year(day)})"]
    for code, v in verdict.items():
        mark = "対象 target" if v.target else "対象外 not a target"
        lines.append(f"  {code} {rules[code].name}: {mark}  [rule: {v.rule}]")
        lines.append(f"      {v.ja}")
        lines.append(f"      {v.en}")
    return "\n".join(lines)


@main.group("notices")
def notices_group() -> None:
    """Letters: vouchers, invitations and detailed-exam follow-ups (通知)."""


@notices_group.command("run")
@click.option("--kind", type=click.Choice(vocabulary.notice_kinds()), required=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The mailing day.")
@click.option("--dry-run", is_flag=True, help="Counts only: record nothing, write no file.")
@click.option("--encoding", type=click.Choice(["cp932", "utf-8"]), help="The vendor CSV's (default: config).")
def notices_run(kind: str, as_of: dt.datetime, dry_run: bool, encoding: str | None) -> None:
    """Select, record and write one kind's letters (CSV, PDF, manual list); one JSON line."""
    from kenshin.letters import notices

    click.echo(json.dumps(notices.run(kind, as_of.date(), dry_run=dry_run, encoding=encoding),
                          ensure_ascii=False))


@main.group("voucher")
def voucher_group() -> None:
    """Vouchers (受診券 / クーポン): numbers issued with the VOUCHER letters."""


@voucher_group.command("reissue")
@click.argument("addressee_id")
@click.option("--reason", required=True, help="Why (lost, damaged ...), kept with the void number.")
@click.option("--by", "by", required=True, metavar="STAFF_ID", help="Who decides (recorded).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The day (default: today); the vouchers of its fiscal year are reissued.")
def voucher_reissue(addressee_id: str, reason: str, by: str, as_of: dt.datetime | None) -> None:
    """再発行: void the person's vouchers of the fiscal year and issue new numbers
    on a letter of their own (batch YYYYMMDD_VOUCHER_reissue); one JSON line."""
    from kenshin.letters import notices
    from kenshin.platform import vocabulary as vocab
    from kenshin.programmes.voucher_numbers import VoucherError

    day = as_of.date() if as_of else dt.datetime.now(vocab.business_tz()).date()
    try:
        click.echo(json.dumps(notices.reissue_vouchers(addressee_id, reason=reason, by=by, as_of=day),
                              ensure_ascii=False))
    except VoucherError as exc:
        raise click.ClickException(str(exc)) from None


@main.group("linkage")
def linkage_group() -> None:
    """Linkage queries for new arrivals (情報照会) through the information network."""


@linkage_group.command("request")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day of the run.")
def linkage_request(as_of: dt.datetime) -> None:
    """Queue the move-ins whose lag window has passed and write the request files; one JSON line."""
    from kenshin.exchange import queries as linkage

    click.echo(json.dumps(linkage.request(as_of.date()), ensure_ascii=False))


@main.group("provision")
def provision_group() -> None:
    """Provision copies (副本) of the city's records for other municipalities."""


@provision_group.command("export")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="A day of the period (month) exported.")
def provision_export(as_of: dt.datetime) -> None:
    """Write the period's fukuhon file (records added or changed since the last export); one JSON line."""
    from kenshin.exchange import provision_copies as provision

    click.echo(json.dumps(provision.run(as_of.date()), ensure_ascii=False))


@main.group("purge")
def purge_group() -> None:
    """Retention purges (保管期間経過データの消去): plan, second-person approval, run."""


_AS_OF = click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True,
                      help="The day whose retention periods apply.")
_BY = click.option("--by", "by", metavar="STAFF_ID", help="Who acts (default: KENSHIN_USER, else the OS user).")


def _echo_purge(result: dict) -> None:
    click.echo(json.dumps(result, ensure_ascii=False, default=str))


@purge_group.command("plan")
@_AS_OF
@click.option("--dry-run", is_flag=True, help="Counts only: record no plan.")
@_BY
def purge_plan(as_of: dt.datetime, dry_run: bool, by: str | None) -> None:
    """Count what is past retention per table and category (no personal data) and
    record the plan for approval; one JSON object."""
    from kenshin.governance import retention

    if dry_run:
        _echo_purge(retention.run(as_of.date(), by or db.user_default(), dry_run=True))
    else:
        _echo_purge(retention.create_run(as_of.date(), by or db.user_default()))


@purge_group.command("approve")
@click.argument("run_id", type=int)
@click.option("--reject", is_flag=True, help="Refuse the plan instead.")
@_BY
def purge_approve(run_id: int, reject: bool, by: str | None) -> None:
    """Approve (or refuse) a recorded plan: by another staff member's login than its requester's
    (the database decides who acts from the login; --by is only recorded beside it)."""
    from kenshin.governance import retention

    try:
        _echo_purge(retention.approve(run_id, reject=reject, label=by))
    except retention.PurgeError as exc:
        raise click.ClickException(str(exc)) from None


@purge_group.command("run")
@_AS_OF
@click.option("--dry-run", is_flag=True, help="Counts only: record nothing, delete nothing.")
@_BY
def purge_run(as_of: dt.datetime, dry_run: bool, by: str | None) -> None:
    """Plan (or continue the unfinished run of the same day), then delete and
    verify; a plan over the approval threshold stops for approval (exit 3)."""
    from kenshin.governance import retention

    try:
        result = retention.run(as_of.date(), by or db.user_default(), dry_run=dry_run)
    except retention.PurgeError as exc:
        raise click.ClickException(str(exc)) from None
    _echo_purge(result)
    if result.get("state") == "planned":
        click.echo(f"purge run {result['run_id']} waits for a second person's approval: "
                   f"kenshin purge approve {result['run_id']} (with another staff member's login)", err=True)
        sys.exit(3)


@main.group("correct")
def correct_group() -> None:
    """Corrections and deletions of screening data, applied on a second person's approval (四つの目)."""


@correct_group.command("request")
@click.option("--table", type=click.Choice(["screening", "detailed_exam"]), required=True)
@click.option("--id", "record_id", type=int, required=True, help="screening_id or detailed_exam_id.")
@click.option("--set", "changes", multiple=True, metavar="COLUMN=VALUE", help="A corrected value (repeatable).")
@click.option("--delete", is_flag=True, help="Delete the record instead.")
@click.option("--reason", required=True, help="Why (kept with the request).")
@_BY
def correct_request(table: str, record_id: int, changes: tuple[str, ...], delete: bool, reason: str,
                    by: str | None) -> None:
    """File a correction or deletion; it waits for another staff member's approval. One JSON object."""
    from kenshin.governance import corrections

    pairs = dict(c.split("=", 1) for c in changes if "=" in c)
    if len(pairs) != len(changes):
        raise click.UsageError("--set takes COLUMN=VALUE")
    try:
        _echo_purge(corrections.request(table, record_id, by=by or db.user_default(), reason=reason,
                                        changes=pairs, delete=delete))
    except corrections.CorrectionError as exc:
        raise click.ClickException(str(exc)) from None


@correct_group.command("approve")
@click.argument("request_id", type=int)
@click.option("--reject", is_flag=True, help="Refuse (or, as its requester, withdraw) the request instead.")
@_BY
def correct_approve(request_id: int, reject: bool, by: str | None) -> None:
    """Apply (or refuse) a request: by another staff member's login than its requester's."""
    from kenshin.governance import corrections

    try:
        _echo_purge(corrections.decide(request_id, by=by or db.user_default(), reject=reject))
    except corrections.CorrectionError as exc:
        raise click.ClickException(str(exc)) from None


@main.group("keys")
def keys_group() -> None:
    """Keys of the individual number's encryption."""


@keys_group.command("rotate")
@click.option("--new-key-env", default="KENSHIN_MY_NUMBER_KEY_NEW", show_default=True,
              help="The environment variable holding the new key (base64 of 32 bytes); never the key itself.")
@click.option("--new-key-id", type=int, help="Its id (1..255; default: the current id + 1).")
def keys_rotate(new_key_env: str, new_key_id: int | None) -> None:
    """Re-encrypt every stored individual number under a new key, in one
    transaction; then set KENSHIN_MY_NUMBER_KEY and KENSHIN_MY_NUMBER_KEY_ID to it."""
    import os

    from kenshin.governance import key_rotation as keys
    from kenshin.platform import crypto

    if not os.environ.get(new_key_env):
        raise click.ClickException(f"{new_key_env} is not set: put the new key (base64 of 32 bytes) there")
    try:
        new_key = crypto._load_key(new_key_env)
        current = crypto.protector()
        result = keys.rotate(new_key, new_key_id or current.key_id % 255 + 1)
    except crypto.KeyError_ as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result))
    click.echo(f"now set KENSHIN_MY_NUMBER_KEY to the new key and KENSHIN_MY_NUMBER_KEY_ID={result['key_id']}",
               err=True)


@main.group("staff")
def staff_group() -> None:
    """Staff identities for four-eyes decisions (ops.staff_member; the owner's login only)."""


@staff_group.command("register")
@click.argument("staff_id")
@click.option("--login", help="The staff member's database login.")
@click.option("--airflow-user", help="The staff member's Airflow user (who answers the purge's approval).")
@click.option("--deactivate", is_flag=True, help="Deactivate instead (kept, so old decisions keep their name).")
def staff_register(staff_id: str, login: str | None, airflow_user: str | None, deactivate: bool) -> None:
    """Register (or update, or deactivate) a staff member; one JSON object."""
    import psycopg

    try:
        with db.connect(role=None) as conn:
            conn.execute(
                """insert into ops.staff_member (staff_id, db_login, airflow_user, active) values (%s, %s, %s, %s)
                   on conflict (staff_id) do update set db_login = coalesce(excluded.db_login, ops.staff_member.db_login),
                       airflow_user = coalesce(excluded.airflow_user, ops.staff_member.airflow_user),
                       active = excluded.active""", (staff_id, login, airflow_user, not deactivate))
            conn.commit()
    except psycopg.Error as exc:
        raise click.ClickException(exc.diag.message_primary or "refused") from None
    click.echo(json.dumps({"staff_id": staff_id, "login": login, "airflow_user": airflow_user,
                           "active": not deactivate}))


@main.group("audit")
def audit_group() -> None:
    """The access review of the audit trail (for the periodic check), and its hash chain."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Seal the audit trail and recompute its hash chain; exit 1 if a row was deleted, altered or added."""
    from kenshin.governance import audit_trail

    result = audit_trail.verify()
    click.echo(json.dumps(result))
    if result["problems"]:
        click.echo(f"the audit trail is not whole: {len(result['problems'])} problems", err=True)
        sys.exit(1)


@audit_group.command("report")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day of the period.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Day after the period (default: tomorrow).")
def audit_report(since: dt.datetime, until: dt.datetime | None) -> None:
    """Accesses per staff member, with unusual patterns flagged; one JSON line each (as kenshin_auditor)."""
    from kenshin.governance import access_review

    entries = access_review.report(since.date(), until.date() if until else None)
    for entry in entries:
        click.echo(json.dumps(entry, ensure_ascii=False))
    flagged = sum(1 for e in entries if e["flags"])
    click.echo(f"{len(entries)} staff members, {flagged} flagged for review", err=True)


@main.group("report")
def report_group() -> None:
    """Reports: the ministry's (exact, through the reporting role) and the statistics pictures."""


@report_group.command("annual")
@click.option("--fiscal-year", "fiscal_year", type=int, required=True, help="年度, e.g. 2025.")
def report_annual(fiscal_year: int) -> None:
    """地域保健・健康増進事業報告 (健康増進編): reports/FY{year}/, a workbook and a CSV per table."""
    from kenshin.reporting.annual_report import write_annual_report

    for path in write_annual_report(fiscal_year):
        click.echo(str(path))


@report_group.command("charts")
@click.option("--fiscal-year", "fiscal_year", type=int, help="年度, e.g. 2025 (default: the latest published).")
def report_charts(fiscal_year: int | None) -> None:
    """Statistics pictures (PNG + one self-contained HTML page) under reports/charts/."""
    from kenshin.reporting import charts

    result = charts.render(fiscal_year)
    if result is None:
        raise click.ClickException("no statistics published for that fiscal year (kenshin marts build)")
    for path in result.files:
        click.echo(str(path))


def _add_lab_commands() -> None:
    """`synth`, `bench` and `exchange simulate` come from the lab (kenshin.lab.cli)
    where it is installed (make demo, test, bench); the production image and
    wheel leave it out, and the commands are simply not there."""
    if importlib.util.find_spec("kenshin.lab") is None:
        return
    for command in importlib.import_module("kenshin.lab.cli").COMMANDS:
        main.add_command(command)


_add_lab_commands()

if __name__ == "__main__":
    main()
