"""The `draftbot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import audit, logs
from bot.budgets import Month
from bot.command import EXAMPLE
from bot.config import Settings
from bot.errors import ConfigurationError, UserInputError
from storage import db

log = logging.getLogger("draftbot")


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; draftbot's configuration errors become a one-line message and exit status 1.

    The long-running commands stop on SIGINT and SIGTERM by themselves (exit status 0); a Ctrl-C before they
    are listening for it (while importing, say) is one line and the shell's 130, not a traceback."""
    try:
        return _run(argv)
    except ConfigurationError as err:
        print(f"draftbot: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("draftbot: interrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_format, verbose=args.verbose)  # DRAFTBOT_LOG_FORMAT: text or json
    if (
        not args.verbose
    ):  # bot.providers logs each request, with its timing and request id; httpx says it again
        logging.getLogger("httpx").setLevel(logging.WARNING)
    command = args.command
    if command is None:
        if settings.slack_bot_token and settings.slack_app_token:
            command = "socket"
        else:  # no Slack tokens: the playground, a Slack-like channel in the browser
            command = "playground"
            args = parser.parse_args(["playground"])
    if command in ("serve", "socket", "worker"):
        from bot import serve

        if command == "serve":
            asyncio.run(serve.serve_http(settings, host=args.host, port=args.port))
        elif command == "socket":
            asyncio.run(serve.run_socket_mode(settings))
        else:
            asyncio.run(serve.run_worker(settings))
        return 0
    if command == "providers":
        from bot.providers import describe_providers

        report, ready = describe_providers(settings)
        print(report)
        return 0 if ready else 1
    if command == "playground":
        from bot.playground.run import run_playground

        asyncio.run(run_playground(settings, host=args.host, port=args.port))
        return 0
    if command == "db":
        asyncio.run(db.upgrade(settings.resolved_database_url))
        print(f"database is up to date: {_safe_url(settings.resolved_database_url)}")
        return 0
    if command == "audit":
        return asyncio.run(_audit_export(settings, args))
    if command == "spend":
        return asyncio.run(_spend(settings, args))
    if command == "team":
        from bot.teams import confirmed, delete_team_command

        if not (args.yes or confirmed(args.team_id)):
            return 1
        return asyncio.run(delete_team_command(settings, args.team_id, by=args.by))
    if command in ("doctor", "images"):
        from bot import maintenance

        if command == "doctor":
            return asyncio.run(maintenance.doctor(settings))
        return asyncio.run(maintenance.prune(settings, dry_run=args.dry_run, days=args.days))
    if command == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo(settings, args.text, out_dir=args.out))
    parser.error(f"unknown command {command}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="draftbot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser(
        "serve", help="HTTP mode: POST /slack/events, GET /healthz and /readyz, with the job worker"
    )
    serve.add_argument("--host", default="0.0.0.0", help="interface to listen on (default: all)")
    serve.add_argument("--port", type=int, default=3000)
    sub.add_parser("worker", help="run only the job worker (for more capacity beside `serve`)")

    sub.add_parser("providers", help="show the configured image providers and check their keys")

    playground = sub.add_parser("playground", help="the bot in a Slack-like page in your browser, offline")
    playground.add_argument("--host", default="127.0.0.1", help="interface (default: this machine only)")
    playground.add_argument("--port", type=int, default=3000)

    db_cmd = sub.add_parser("db", help="database maintenance")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="run the migrations up to the newest schema")

    audit_cmd = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser("export", help="print the audit trail as JSON lines or CSV")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--draft", type=int, help="only this draft")
    export.add_argument("--team", help="only this Slack team id")
    export.add_argument("--kind", help="only events of this kind, e.g. generation (each has its cost)")
    export.add_argument("--month", type=_month, help="only this calendar month (UTC), e.g. 2026-11")
    export.add_argument("--output", "-o", type=Path, help="write to a file instead of standard output")

    spend = sub.add_parser("spend", help="the month's estimated spend by channel, person and tier")
    spend.add_argument(
        "--month", type=_month, help="a calendar month (UTC), e.g. 2026-11 (default: this one)"
    )
    spend.add_argument("--format", choices=("text", "csv"), default="text")
    spend.add_argument("--team", help="only this Slack team id")
    spend.add_argument("--output", "-o", type=Path, help="write to a file instead of standard output")

    team_cmd = sub.add_parser("team", help="a workspace's data")
    team_sub = team_cmd.add_subparsers(dest="team_command", required=True)
    delete = team_sub.add_parser(
        "delete", help="erase everything draftbot keeps of a workspace (on its request): rows, images, audit"
    )
    delete.add_argument("team_id", type=_team_id, help="the Slack team id, T…")
    delete.add_argument(
        "--by", default=os.environ.get("USER") or "operator", help="who asked, for the record"
    )
    delete.add_argument("--yes", action="store_true", help="do not ask to confirm")
    sub.add_parser(
        "doctor", help="check the database, its migrations and the image store; exit 1 if any fails"
    )
    images = sub.add_parser("images", help="the stored images")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    prune = images_sub.add_parser(
        "prune", help="delete old finished drafts' 1K images now (DRAFTBOT_IMAGE_RETENTION_DAYS)"
    )
    prune.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    prune.add_argument(
        "--days", type=int, help="finished more than this many days ago (default: the setting)"
    )

    demo = sub.add_parser("demo", help="run one draft through the whole loop offline, in the terminal")
    demo.add_argument(
        "text",
        nargs="?",
        default=EXAMPLE,
        help="what you would type after /draft",
    )
    demo.add_argument("--out", type=Path, help="where to write the images (default: DATA_DIR/demo)")
    return parser


async def _audit_export(settings: Settings, args: argparse.Namespace) -> int:
    engine = db.create_engine(settings.resolved_database_url)
    try:
        await db.upgrade(engine)
        month: Month | None = args.month
        rows = [
            row
            async for row in audit.events(
                db.session_factory(engine),
                team_id=args.team,
                draft_id=args.draft,
                kind=args.kind,
                since=month.start if month else None,
                until=month.end if month else None,
            )
        ]
    finally:
        await engine.dispose()
    text = audit.to_jsonl(rows) if args.format == "jsonl" else audit.to_csv(rows)
    _write(args.output, text, f"{len(rows)} events")
    return 0


async def _spend(settings: Settings, args: argparse.Namespace) -> int:
    """The figures of `/draft spend`, for every workspace (or ``--team``), from the same audit trail."""
    from bot.budgets import spend_lines
    from bot.spending import Spend

    engine = db.create_engine(settings.resolved_database_url)
    try:
        await db.upgrade(engine)
        spend = Spend(db.session_factory(engine), settings.monthly_budget_usd)
        if args.format == "csv":
            text = await spend.csv(args.month, team_id=args.team)
        else:
            teams = [args.team] if args.team else await spend.teams(args.month)
            reports = [(team, await spend.report(team, args.month)) for team in teams]
            text = (
                "".join(
                    f"team {team}\n" + "".join(f"  {_plain(line)}\n" for line in spend_lines(report))
                    for team, report in reports
                )
                or f"nothing was generated in {args.month or 'this month'}\n"
            )
    finally:
        await engine.dispose()
    _write(args.output, text, "the spend report")
    return 0


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except UserInputError as err:
        raise argparse.ArgumentTypeError(err.message.replace("`", "")) from None


def _team_id(text: str) -> str:
    if not re.fullmatch(r"[TE][A-Z0-9]{2,30}", text):
        raise argparse.ArgumentTypeError(f"not a Slack team id: {text[:40]!r} (they look like T0123ABCD)")
    return text


def _plain(line: str) -> str:
    """A line of Slack mrkdwn for a terminal: ``<#C1>`` as #C1, ``<@U1>`` as @U1, no bold."""
    return re.sub(r"<([#@][A-Z0-9]+)>", r"\1", line).replace("*", "")


def _write(output: Path | None, text: str, what: str) -> None:
    if output:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {what} to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
