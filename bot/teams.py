"""``draftbot team delete T…``: a workspace's data erased on request.

Every row that names the team goes in one transaction: drafts, variants, votes, approvals, rounds, jobs,
channel settings, Home tabs, replay records, its installation and its audit trail (the one deletion the
audit trail allows, see migration 0014). What stays is one ``team_deleted`` event: who asked, when, how
many rows went, and the content hashes of the images still to delete. The images go after the commit,
except those another team's drafts still use (the same bytes are stored once); a deletion interrupted
before its images were gone finishes them when it is run again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import AuditKind, record
from bot.config import Settings
from bot.image_store import open_blob_store
from storage import db, erasure
from storage.blobs import BlobStore
from storage.models import AuditEvent, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erased:
    team_id: str
    rows: dict[str, int]  # by table
    images_deleted: int  # by this run
    images_kept: int  # the same bytes are used by another team's drafts

    @property
    def anything(self) -> bool:
        return bool(self.rows) or bool(self.images_deleted)

    def summary(self) -> str:
        if not self.anything:
            return f"draftbot has no data of team {self.team_id}; nothing was deleted"
        rows = ", ".join(f"{n} {table}" for table, n in sorted(self.rows.items())) or "no rows"
        kept = (
            f" ({self.images_kept} kept: another team's drafts use the same image)"
            if self.images_kept
            else ""
        )
        return f"deleted team {self.team_id}: {rows}; {self.images_deleted} images{kept}"


async def delete_team(
    sessions: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    team_id: str,
    *,
    by: str,
    clock: Callable[[], datetime] = utcnow,
) -> Erased:
    """Erase ``team_id``'s data (``by``: who asked, for the record); safe to run again."""
    now = clock()
    async with sessions.begin() as session:
        keys = await erasure.image_keys(session, team_id) | await _pending_images(session, team_id)
        rows = await erasure.erase_team(session, team_id, by=by, now=now)
        if rows or keys:
            record(
                session,
                team_id=team_id,
                kind=AuditKind.TEAM_DELETED,
                actor=by,
                at=now,
                rows=rows,
                images=sorted(keys),
            )
    async with sessions() as session:
        kept = await erasure.still_used(session, keys)
    deleted = 0
    for key in sorted(keys - kept):
        if await blobs.exists(key):  # an earlier run may have deleted it already
            await blobs.delete(key)
            deleted += 1
    if rows or keys:
        log.info("team %s deleted on request of %s", team_id, by)
    return Erased(team_id, rows, deleted, len(kept))


async def _pending_images(session: AsyncSession, team_id: str) -> set[str]:
    """Images an earlier deletion of this team listed (it may have stopped before deleting them)."""
    events = await session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.team_id == team_id, AuditEvent.kind == AuditKind.TEAM_DELETED
        )
    )
    return {str(key) for details in events for key in (details or {}).get("images", [])}


def confirmed(team_id: str) -> bool:
    """Ask the person at the terminal to type the team id again (no terminal: no)."""
    if not sys.stdin.isatty():
        print("draftbot: add --yes to delete a team's data without a terminal to confirm", file=sys.stderr)
        return False
    typed = input(f"This erases every draft, image and audit event of {team_id}. Type the team id: ")
    if typed.strip() != team_id:
        print("draftbot: not confirmed; nothing was deleted", file=sys.stderr)
        return False
    return True


async def delete_team_command(settings: Settings, team_id: str, *, by: str) -> int:
    """The CLI's ``team delete``, once confirmed."""
    engine = db.create_engine(settings.resolved_database_url)
    blobs = await open_blob_store(settings)  # the images are wherever DRAFTBOT_BLOB_URL says
    try:
        await db.upgrade(engine)
        erased = await delete_team(db.session_factory(engine), blobs, team_id, by=by)
    finally:
        await blobs.aclose()
        await engine.dispose()
    print(erased.summary())
    return 0
