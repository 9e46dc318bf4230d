"""`draftbot demo`: one draft through the whole loop, offline, in the terminal.

Three simulated teammates vote, the requester upgrades the winner to 2K, an approver approves, and
the 4K final lands. Images, a contact sheet and the audit trail are written to a folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import audit, imaging
from bot.command import DraftRequest, help_text, parse
from bot.config import Settings
from bot.drafts import ReactionEvent
from bot.errors import UserInputError
from bot.publisher import RecordingPublisher
from bot.runtime import build_runtime
from bot.tiers import Tier
from bot.workflow import Refusal
from storage import queries
from storage.blobs import BlobStore

TEAM, CHANNEL = "T0DEMO", "C0DEMO"
REQUESTER, APPROVER = "U0REQUESTER", "U0APPROVER"
TEAMMATES = ("U0ALEX", "U0SAM", "U0KIM")


async def run_demo(settings: Settings, text: str, *, out_dir: Path | None = None) -> int:
    try:
        request = parse(text)
    except UserInputError as err:
        print(err.message)
        return 2
    if not isinstance(request, DraftRequest):
        print(help_text())
        return 0

    publisher = RecordingPublisher()
    runtime = await build_runtime(settings, publisher=publisher)
    try:
        drafts, sessions = runtime.drafts, runtime.sessions
        draft_id = await drafts.intake.create_draft(
            team_id=TEAM, channel_id=CHANNEL, requester=REQUESTER, request=request, command_text=text
        )
        print(f"/draft {text}")
        shape = f"{request.destination_name}, {request.ratio}"
        print(f"→ draft {draft_id}: {shape}, {request.n_variants} variants at 1K")
        for hint in request.hints:
            print(f"  hint: {hint}")
        await runtime.drain()

        async with sessions() as session:
            variants = await queries.variants_of(session, TEAM, draft_id, Tier.EXPLORE)
        posted = [v for v in variants if v.slack_ts]
        if not posted:
            print("no variant could be generated; see the audit trail")
            return 1
        for voter, variant in zip(TEAMMATES, [posted[0], posted[-1], posted[-1]], strict=True):
            vote = ReactionEvent(
                team_id=TEAM, channel=CHANNEL, ts=str(variant.slack_ts), user=voter, emoji=settings.vote_emoji
            )
            await drafts.reactions.reaction_added(vote, bot_user=None)
        outcome = await drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQUESTER)
        print(f"→ upgrade: {outcome.reason if isinstance(outcome, Refusal) else outcome.message}")
        await runtime.drain()
        approver = next(iter(settings.approvers), APPROVER)
        outcome = await drafts.decisions.approve(team_id=TEAM, draft_id=draft_id, user=approver)
        print(f"→ approve: {outcome.reason if isinstance(outcome, Refusal) else outcome.message}")
        await runtime.drain()

        folder = out_dir or settings.data_dir / "demo" / f"draft-{draft_id}"
        await _write_outputs(runtime.blobs, sessions, draft_id, folder)
        events = [row async for row in audit.events(sessions, team_id=TEAM, draft_id=draft_id)]
        await asyncio.to_thread((folder / "audit.jsonl").write_text, audit.to_jsonl(events), "utf-8")
        print(f"\nAudit trail ({len(events)} events):")
        for event in events:
            print(f"  {event['at'][11:19]}  {event['kind']:<18} {event['actor']}")
        print(f"\nImages, contact sheet and audit.jsonl: {folder}")
        return 0
    finally:
        await runtime.aclose()


async def _write_outputs(
    blobs: BlobStore, sessions: async_sessionmaker[AsyncSession], draft_id: int, folder: Path
) -> None:
    async with sessions() as session:
        variants = [v for v in await queries.variants_of(session, TEAM, draft_id) if v.blob_key]
    files: list[tuple[str, bytes, bool]] = []
    for variant in variants:
        extension = "png" if variant.content_type == "image/png" else "jpg"
        name = f"{variant.tier.lower()}-{variant.number}-{variant.width}x{variant.height}.{extension}"
        files.append((name, await blobs.get(str(variant.blob_key)), variant.tier == Tier.EXPLORE))
        print(
            f"  {variant.tier} #{variant.number}: {variant.width}×{variant.height}, {variant.bytes:,} bytes"
        )
    await asyncio.to_thread(_save, folder, files)


def _save(folder: Path, files: list[tuple[str, bytes, bool]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data, _ in files:
        (folder / name).write_bytes(data)
    explore = [imaging.decode(data, max_pixels=64_000_000) for _, data, is_explore in files if is_explore]
    if explore:
        imaging.contact_sheet(explore).save(folder / "contact-sheet.jpg", quality=85)
