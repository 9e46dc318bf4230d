"""The workspace on disk, so the playground survives a restart like the bot's database does.

Format (version :data:`FORMAT`): one JSON document of the workspace's records, written atomically (a
temporary file, then a rename), plus the bytes of uploaded files beside it in ``<name>.files/``, one file
per content named by its SHA-256 (written once, never rewritten; contents nothing refers to any more are
removed after a save). JSON keeps the file readable and independent of Python class layout; file bytes
stay out of it so a save does not re-encode every image.

Saved: the team, users, channels, messages and threads, files, views and modal stacks, ephemerals, the
id counters, the last ts, the version and the change log. Not saved: trigger ids and response URLs (they
expire within minutes anyway), waiters and listeners, and settings (clock, TTLs, origin), which belong to
the process that loads the file.

A file that cannot be read (damaged, another format) is set aside as ``<name>.unreadable`` and
:func:`load` returns None, so the caller starts fresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakes.slack.state.records import (
    JSON,
    Change,
    Channel,
    EphemeralMessage,
    FileRecord,
    Message,
    Team,
    User,
    UserGroup,
    ViewRecord,
)

if TYPE_CHECKING:
    from fakes.slack.state.workspace import Workspace

log = logging.getLogger(__name__)

FORMAT = 2  # 1 was a pickle of the Workspace's attributes


def _record(record: Any) -> JSON:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _channel(channel: Channel) -> JSON:
    data = _record(channel)
    data["members"] = sorted(channel.members) if channel.members is not None else None
    return data


def _file(record: FileRecord, blobs: dict[str, bytes]) -> JSON:
    data = _record(record)
    if record.content is not None:
        digest = hashlib.sha256(record.content).hexdigest()
        blobs[digest] = record.content
        data["content"] = digest
    return data


def dump(workspace: Workspace) -> tuple[JSON, dict[str, bytes]]:
    """The saved document and the file contents it refers to (by SHA-256)."""
    directory, messages = workspace.directory, workspace.message_store
    blobs: dict[str, bytes] = {}
    document: JSON = {
        "format": FORMAT,
        "version": workspace.feed.version,
        "changes": [_record(c) for c in workspace.feed.changes],
        "team": _record(directory.team),
        "app_id": directory.app_id,
        "bot": directory.bot.id,
        "users": [_record(u) for u in directory.users.values()],
        "usergroups": [_record(g) for g in directory.usergroups.values()],
        "channels": [_channel(c) for c in directory.channels.values()],
        "counters": dict(directory.counters),
        "last_ts": directory.last_ts,
        "messages": [_record(m) for by_ts in messages.by_channel.values() for m in by_ts.values()],
        "replies": [[channel, parent, list(ts)] for (channel, parent), ts in messages.reply_ts.items()],
        "files": [_file(f, blobs) for f in workspace.files.values()],
        "views": [_record(v) for v in workspace.views.values()],
        "modal_stacks": {user: list(stack) for user, stack in workspace.modal_stacks.items()},
        "ephemerals": [_record(e) for e in workspace.ephemerals],
    }
    return document, blobs


def restore(workspace: Workspace, document: JSON, blob: Callable[[str], bytes]) -> None:
    """Put a saved document into a freshly made workspace; ``blob(digest) -> bytes`` reads contents."""
    if document.get("format") != FORMAT:
        raise ValueError(f"format {document.get('format')!r}, expected {FORMAT}")
    directory, messages = workspace.directory, workspace.message_store
    directory.team = Team(**document["team"])
    directory.app_id = document["app_id"]
    directory.users = {u["id"]: User(**u) for u in document["users"]}
    directory.usergroups = {g["id"]: UserGroup(**g) for g in document.get("usergroups", [])}
    directory.bot = directory.users[document["bot"]]
    channels = [
        Channel(**{**c, "members": None if c["members"] is None else set(c["members"])})
        for c in document["channels"]
    ]
    directory.channels = {c.id: c for c in channels}
    directory.counters = {str(k): int(v) for k, v in document["counters"].items()}
    directory.last_ts = int(document["last_ts"])
    messages.by_channel = {}
    for data in document["messages"]:
        message = Message(**data)
        messages.by_channel.setdefault(message.channel, {})[message.ts] = message
    messages.reply_ts = {(channel, parent): list(ts) for channel, parent, ts in document["replies"]}
    files: dict[str, FileRecord] = {}
    for data in document["files"]:
        content = data["content"]
        files[data["id"]] = FileRecord(**{**data, "content": None if content is None else blob(content)})
    workspace.file_store.files = files
    workspace.view_store.views = {v["id"]: ViewRecord(**v) for v in document["views"]}
    workspace.view_store.modal_stacks = {u: list(s) for u, s in document["modal_stacks"].items()}
    workspace.ephemeral_store.ephemerals = [EphemeralMessage(**e) for e in document["ephemerals"]]
    workspace.feed.restore(int(document["version"]), [Change(**c) for c in document["changes"]])


def blob_dir(path: Path) -> Path:
    return path.with_name(path.name + ".files")


def capture(workspace: Workspace) -> Callable[[Path], None]:
    """Take the workspace as it is now; the returned ``write(path)`` may then run in another thread.

    The document becomes JSON text here, on the workspace's own loop, so the loop changing the
    workspace meanwhile cannot tear it; file contents are immutable ``bytes`` and are written later.
    """
    document, blobs = dump(workspace)
    text = json.dumps(document, separators=(",", ":"))

    def write(path: Path) -> None:
        blob_root = blob_dir(path)
        blob_root.mkdir(parents=True, exist_ok=True)
        for digest, content in blobs.items():
            target = blob_root / digest
            if not target.exists():
                partial = target.with_suffix(".tmp")
                partial.write_bytes(content)
                os.replace(partial, target)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        for stale in blob_root.iterdir():
            if stale.name not in blobs:
                stale.unlink(missing_ok=True)

    return write


def load(path: Path, workspace: Workspace) -> Workspace | None:
    """``workspace`` (fresh, with this process's settings) filled from ``path``; None if nothing usable."""
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        blob_root = blob_dir(path)
        restore(workspace, document, lambda digest: (blob_root / str(digest)).read_bytes())
        return workspace
    except Exception as err:
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        log.warning(
            "could not read the saved playground (%s); starting fresh, old file kept at %s", err, aside
        )
        return None
