"""Files v2: ``files.getUploadURLExternal``, ``files.completeUploadExternal``, ``files.info``.

Completing an upload does not share at once: as in Slack, the share message appears after the "malware
scan" (``FakeSlack.scan_delay`` later, or when :meth:`FakeSlack.complete_scan` is called); until then
the shares wait in :class:`PendingShares`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params, bot_in
from fakes.slack.state import JSON, Channel, SlackError, Workspace

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack

logger = logging.getLogger(__name__)


@dataclass
class _PendingShare:
    file_ids: list[str]
    channel_id: str
    thread_ts: str | None
    initial_comment: str | None
    blocks: list[JSON] | None


class PendingShares:
    """Shares asked for by files.completeUploadExternal, posted once every file of one is scanned."""

    def __init__(self) -> None:
        self._pending: list[_PendingShare] = []

    def add(
        self,
        file_ids: list[str],
        channel_id: str,
        thread_ts: str | None,
        initial_comment: str | None,
        blocks: list[JSON] | None,
    ) -> None:
        self._pending.append(_PendingShare(file_ids, channel_id, thread_ts, initial_comment, blocks))

    def flush(self, state: Workspace) -> None:
        for share in list(self._pending):
            files = [state.files.get(f) for f in share.file_ids]
            if not all(f is None or f.scanned for f in files):
                continue
            self._pending.remove(share)
            present = [f.id for f in files if f is not None]
            if not present:
                continue
            try:
                state.share_files(
                    present,
                    share.channel_id,
                    user=state.bot.id,
                    thread_ts=share.thread_ts,
                    initial_comment=share.initial_comment,
                    blocks=share.blocks,
                )
            except SlackError as exc:
                logger.warning("fake Slack could not share files %s: %s", present, exc)


async def _scan_later(fake: FakeSlack, file_ids: list[str], delay: float) -> None:
    await asyncio.sleep(delay)
    for file_id in file_ids:
        fake.complete_scan(file_id)


async def get_upload_url(fake: FakeSlack, p: Params) -> JSON:
    filename = p.text("filename")
    if not filename:
        raise SlackError("invalid_arguments", "missing required field: filename")
    length = p.number("length", -1)
    if length < 0:
        raise SlackError("invalid_arguments", "missing required field: length")
    state = fake.state
    record = state.create_upload(
        filename,
        length,
        user=state.bot.id,
        alt_txt=p.text("alt_txt") or p.text("alt_text"),
        snippet_type=p.text("snippet_type"),
    )
    return {"upload_url": f"{state.origin}/upload/v1/{record.upload_token}", "file_id": record.id}


async def complete_upload(fake: FakeSlack, p: Params) -> JSON:
    state = fake.state
    items = p.decoded("files", "invalid_arguments")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) and "id" in i for i in items):
        raise SlackError("invalid_arguments", "files must be a non-empty array of {id, title}")
    channel_refs = [c for c in (p.text("channels") or "").split(",") if c]
    if p.ref("channel_id"):
        channel_refs.insert(0, p.ref("channel_id") or "")
    thread_ts = p.ref("thread_ts")
    if thread_ts and len(channel_refs) > 1:
        raise SlackError("invalid_arguments", "only one channel is allowed with thread_ts")
    records = [state.get_file(str(item["id"])) for item in items]
    for record in records:
        if not record.uploaded:
            raise SlackError("file_not_found", f"file {record.id} has no uploaded content")
    initial_comment = p.text("initial_comment")
    blocks = None if initial_comment else p.blocks()
    channels: list[Channel] = []
    for ref in channel_refs:
        channel = state.resolve_channel(ref)
        bot_in(fake, channel)
        channels.append(channel)
        if thread_ts:
            thread_ts = state.thread_root(channel.id, thread_ts).ts
    if blocks is not None:
        state.validate_blocks(blocks)
    for item, record in zip(items, records, strict=True):
        title = item.get("title")
        state.complete_upload(record.id, title if isinstance(title, str) else None)
    file_ids = [r.id for r in records]
    for channel in channels:
        fake.pending_shares.add(file_ids, channel.id, thread_ts, initial_comment, blocks)
    if fake.scan_delay is not None:
        fake.spawn(_scan_later(fake, file_ids, fake.scan_delay))
    return {"files": [state.file_json(r) for r in records]}


async def info(fake: FakeSlack, p: Params) -> JSON:
    """A file the bot cannot see (not its own, not shared in a channel it is in) is ``file_not_found``,
    as in Slack; a deleted one is ``file_deleted``."""
    state = fake.state
    record = state.get_file(p.ref("file"))
    if record.deleted:
        raise SlackError("file_deleted")
    if not record.completed or not state.file_visible_to(record, state.bot.id):
        raise SlackError("file_not_found")
    return {
        "file": state.file_json(record),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


METHODS: dict[str, Method] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "files.info": info,
}
