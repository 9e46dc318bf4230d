"""The `draftbot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import audit
from bot.command import EXAMPLE
from bot.config import Settings
from bot.errors import ConfigurationError
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
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if (
        not args.verbose
    ):  # bot.providers logs each request, with its timing and request id; httpx says it again
        logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings()
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
    export.add_argument("--output", "-o", type=Path, help="write to a file instead of standard output")

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
        rows = [
            row
            async for row in audit.events(db.session_factory(engine), team_id=args.team, draft_id=args.draft)
        ]
    finally:
        await engine.dispose()
    text = audit.to_jsonl(rows) if args.format == "jsonl" else audit.to_csv(rows)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} events to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
