"""`draftbot doctor` and `draftbot images prune`: an operator's checks and the retention sweep, by hand."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from bot.config import Settings
from bot.errors import ConfigurationError
from bot.image_store import blob_store, check_blob_store
from bot.retention import Pruned, Retention
from storage import db
from storage.models import utcnow


async def doctor(settings: Settings, say: Callable[[str], None] = print) -> int:
    """One line per check (the database, its migrations, the image store): ok or the problem. 1 if any
    failed. Changes nothing (the image check writes and removes a small probe)."""
    failed = False

    def report(name: str, problem: str | None, ok: str = "ok") -> None:
        nonlocal failed
        failed = failed or problem is not None
        say(f"{name}: {ok if problem is None else problem}")

    engine = db.create_engine(settings.resolved_database_url)
    try:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as err:
            report("database", f"unreachable ({type(err).__name__}: {_first_line(err)})")
            report("migrations", "not checked: the database is unreachable")
        else:
            report("database", None, f"ok ({_safe_url(settings.resolved_database_url)})")
            current, head = await db.current_revision(engine), db.head_revision()
            stale = (
                None
                if current == head
                else f"at {current or 'none'}, newest is {head}: run `draftbot db upgrade`"
            )
            report("migrations", stale, f"ok (at {head})")
    finally:
        await engine.dispose()
    try:
        blobs = blob_store(settings)
    except ConfigurationError as err:
        report("images", err.message)
    else:
        try:
            await check_blob_store(blobs, settings)
        except ConfigurationError as err:
            report("images", err.message)
        else:
            report("images", None, f"ok, writable ({settings.blob_url or settings.blob_dir})")
        finally:
            await blobs.aclose()
    return 1 if failed else 0


async def prune(
    settings: Settings, *, dry_run: bool, days: int | None = None, say: Callable[[str], None] = print
) -> int:
    """The retention sweep once, now: what it deleted (or would), one line per draft and a total."""
    days = days if days is not None else settings.image_retention_days
    if days is None:
        raise ConfigurationError(
            "DRAFTBOT_IMAGE_RETENTION_DAYS is not set: set it, or give --days, to say which drafts are old"
        )
    engine = db.create_engine(settings.resolved_database_url)
    blobs = blob_store(settings)
    try:
        await db.upgrade(engine)
        await check_blob_store(blobs, settings)
        retention = Retention(db.session_factory(engine), blobs, days, clock=utcnow)
        pruned = await retention.sweep(dry_run=dry_run, days=days)
    finally:
        await blobs.aclose()
        await engine.dispose()
    verb = "would delete" if dry_run else "deleted"
    for done in pruned:
        say(f"draft {done.draft_id} (team {done.team_id}): {verb} {_line(done)}")
    total = sum(done.bytes for done in pruned)
    say(
        f"{verb} the 1K images of {len(pruned)} drafts finished more than {days} days ago "
        f"({sum(d.blobs for d in pruned)} blobs, {_size(total)})"
    )
    return 0


def _line(done: Pruned) -> str:
    numbers = ", ".join(f"#{n}" for n in done.numbers)
    kept = f"; {len(done.kept)} kept, still used elsewhere" if done.kept else ""
    return f"variants {numbers}: {done.blobs} blobs, {_size(done.bytes)}{kept}"


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [""])[0][:200]


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
