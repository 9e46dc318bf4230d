"""Files: the files v2 upload flow (upload URL, bytes, completion), Slack's "malware scan", shares, URLs.

Also the Web API shape of a file (``file_json``). Posting the share message is the workspace's job
(:meth:`fakes.slack.state.Workspace.share_files`); this family records the share on each file.
"""

from __future__ import annotations

import copy
import io
import secrets
from urllib.parse import quote

from PIL import Image

from fakes.slack.state.changes import ChangeFeed
from fakes.slack.state.directory import Directory
from fakes.slack.state.records import JSON, Channel, FileRecord, Message, SlackError


def sniff_file(data: bytes) -> tuple[str, str, str]:
    """(mimetype, filetype, pretty_type) from the bytes, like Slack's scan does."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png", "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg", "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif", "gif", "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp", "WebP"
    if data.startswith(b"%PDF-"):
        return "application/pdf", "pdf", "PDF"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream", "binary", "Binary"
    return "text/plain", "text", "Plain Text"


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:  # any undecodable content simply has no dimensions
        return None
    return int(width), int(height)


class Files:
    def __init__(self, directory: Directory, feed: ChangeFeed) -> None:
        self.directory = directory
        self.feed = feed
        self.files: dict[str, FileRecord] = {}

    def create_upload(
        self,
        filename: str,
        length: int,
        *,
        user: str,
        alt_txt: str | None = None,
        snippet_type: str | None = None,
    ) -> FileRecord:
        record = FileRecord(
            id=self.directory.new_id("F"),
            name=filename,
            title=filename,
            length=length,
            user=user,
            created=int(self.directory.clock()),
            upload_token=secrets.token_urlsafe(16),
            alt_txt=alt_txt,
            snippet_type=snippet_type,
        )
        self.files[record.id] = record
        self.feed.changed("file_created", file=record.id)
        return record

    def add_person_file(
        self,
        user: str,
        filename: str,
        data: bytes,
        *,
        title: str | None = None,
        padding: int = 0,
        reported_size: int | None = None,
    ) -> FileRecord:
        """A file a person uploads in the Slack client: uploaded, completed and scanned at once (the
        client shows it only then). ``padding`` zero bytes follow ``data`` when it is downloaded, and
        ``reported_size`` is what files.info then claims, to test a client that trusts it."""
        record = self.create_upload(filename, len(data) + padding, user=user)
        if title:
            record.title = title
        record.padding = padding
        record.reported_size = reported_size
        self.receive_upload(record.id, data)
        self.complete_upload(record.id, None)
        self.mark_scanned(record.id)
        return record

    def delete_file(self, file_id: str) -> FileRecord:
        """The owner deletes the file: files.info says ``file_deleted``, downloads 404, messages show a
        tombstone in its place."""
        record = self.get_file(file_id)
        if record.deleted:
            raise SlackError("file_deleted")
        record.deleted = True
        record.content = b""
        record.padding = 0
        self.feed.changed("file_deleted", file=file_id)
        return record

    def visible_to(self, record: FileRecord, user_id: str) -> bool:
        """Whether ``user_id`` may see the file: its owner, or a member of a channel it is shared in."""
        if record.deleted:
            return False
        if record.user == user_id:
            return True
        channels = self.directory.channels
        return any(
            channel_id in channels and channels[channel_id].has_member(user_id)
            for shares in record.shares.values()
            for channel_id in shares
        )

    def file_by_upload_token(self, token: str) -> FileRecord | None:
        return next((f for f in self.files.values() if f.upload_token == token), None)

    def get_file(self, file_id: str | None) -> FileRecord:
        if file_id is None or file_id not in self.files:
            raise SlackError("file_not_found")
        return self.files[file_id]

    def receive_upload(self, file_id: str, data: bytes) -> FileRecord:
        record = self.get_file(file_id)
        record.content = bytes(data)
        self.feed.changed("file_uploaded", file=file_id, size=len(data))
        return record

    def complete_upload(self, file_id: str, title: str | None) -> FileRecord:
        record = self.get_file(file_id)
        if not record.uploaded:
            raise SlackError("file_not_found", f"file {file_id} has no uploaded content")
        record.completed = True
        if title:
            record.title = title
        self.feed.changed("file_completed", file=file_id)
        return record

    def mark_scanned(self, file_id: str) -> FileRecord:
        """The end of Slack's "malware scan": mimetype (sniffed), filetype and image size become known."""
        record = self.get_file(file_id)
        if record.scanned:
            return record
        data = record.content or b""
        record.mimetype, record.filetype, record.pretty_type = sniff_file(data)
        if record.mimetype.startswith("image/"):
            size = _image_size(data)
            if size is not None:
                record.original_w, record.original_h = size
        self.feed.changed("file_scanned", file=file_id, mimetype=record.mimetype)
        return record

    def record_share(self, file_ids: list[str], channel: Channel, message: Message, *, user: str) -> None:
        """Note on each file that ``message`` shared it into ``channel`` (Slack's ``shares``)."""
        share: JSON = {
            "reply_users": [],
            "reply_users_count": 0,
            "reply_count": 0,
            "ts": message.ts,
            "channel_name": channel.name,
            "team_id": self.directory.team.id,
            "share_user_id": user,
            "source": "UNKNOWN",
        }
        if message.thread_ts:
            share["thread_ts"] = message.thread_ts
        visibility = "private" if channel.is_private else "public"
        for file_id in file_ids:
            record = self.get_file(file_id)
            record.shares.setdefault(visibility, {}).setdefault(channel.id, []).append(dict(share))
            self.feed.changed("file_shared", file=file_id, channel=channel.id, ts=message.ts)

    # URLs

    def url_private(self, record: FileRecord) -> str:
        return f"{self.directory.origin}/files-pri/{self.directory.team.id}-{record.id}/{quote(record.name)}"

    def permalink(self, record: FileRecord) -> str:
        return f"{self.directory.origin}/files/{record.user}/{record.id}/{quote(record.name)}"

    def playground_file_url(self, record: FileRecord) -> str:
        """Unauthenticated URL for the browser playground (not a Slack URL)."""
        return f"{self.directory.origin}/playground/files/{record.id}/{quote(record.name)}"

    def resolve_slack_file(self, file_id: str | None, url: str | None) -> FileRecord | None:
        """The file a ``slack_file`` object of a block names, by id or by URL."""
        if file_id is not None:
            return self.files.get(file_id)
        for record in self.files.values():
            if url in (self.url_private(record), self.permalink(record)):
                return record
        return None

    # Web API shape

    def file_json(self, record: FileRecord) -> JSON:
        directory = self.directory
        team_id = directory.team.id
        channels = sorted({c for shares in record.shares.values() for c in shares})
        known = directory.channels
        data: JSON = {
            "id": record.id,
            "created": record.created,
            "timestamp": record.created,
            "name": record.name,
            "title": record.title,
            "mimetype": record.mimetype,
            "filetype": record.filetype,
            "pretty_type": record.pretty_type,
            "user": record.user,
            "user_team": team_id,
            "editable": False,
            "size": record.size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": "public" in record.shares,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": self.url_private(record),
            "url_private_download": (
                f"{directory.origin}/files-pri/{team_id}-{record.id}/download/{quote(record.name)}"
            ),
            "permalink": self.permalink(record),
            "permalink_public": f"{directory.origin}/{team_id}-{record.id}-{record.upload_token[:10]}",
            "comments_count": 0,
            "is_starred": False,
            "shares": copy.deepcopy(record.shares),
            "channels": [c for c in channels if not known[c].is_private],
            "groups": [c for c in channels if known[c].is_private and not known[c].is_im],
            "ims": [c for c in channels if known[c].is_im],
            "has_more_shares": False,
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if record.alt_txt:
            data["alt_txt"] = record.alt_txt
        if record.original_w is not None and record.original_h is not None:
            data["original_w"] = record.original_w
            data["original_h"] = record.original_h
        return data
