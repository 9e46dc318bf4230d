"""In-memory model of one Slack workspace, as seen by the fake Slack and the playground.

Pure Python: no HTTP here. Every mutation raises :class:`SlackError` with the Web API error code Slack would
answer (``channel_not_found``, ``invalid_blocks``...), bumps :attr:`Workspace.version`, appends a
:class:`Change` to the change log and wakes whoever waits in :meth:`Workspace.wait_for_change`, so a page
can long-poll the state. The model is meant to be used from one event loop (the server's).

Serialisers (``message_json``, ``file_json``, ``view_json``...) produce the Web API shapes.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from PIL import Image

JSON = dict[str, Any]
Clock = Callable[[], float]

MAX_TEXT_CHARS = 40_000
MAX_SECTION_TEXT = 3_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_REACTIONS_PER_USER = 23  # per message; approximation of Slack's limit
MAX_DISTINCT_EMOJI = 50  # per message; approximation of Slack's limit
SLACK_FILE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
REACTION_NAME = re.compile(r"^[a-z0-9_+\-']+(::skin-tone-[2-6])?$")
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)


class SlackError(Exception):
    """A Web API failure: ``{"ok": false, "error": code}`` plus optional detail messages."""

    def __init__(self, code: str, *errors: str) -> None:
        super().__init__(code if not errors else f"{code}: {'; '.join(errors)}")
        self.code = code
        self.errors = list(errors)

    def to_response(self) -> JSON:
        body: JSON = {"ok": False, "error": self.code}
        if self.errors:
            body["errors"] = list(self.errors)
            body["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in self.errors]}
        return body


class ManualClock:
    """A settable clock for tests: ``clock = ManualClock(1_700_000_000); clock.advance(1800)``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def format_ts(micros: int) -> str:
    """Slack ts format: seconds, a dot, six digits (``1700000000.000100``)."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def ts_micros(ts: str) -> int:
    """Parse a Slack ts into integer microseconds; ValueError if it is not one."""
    seconds, _, frac = ts.partition(".")
    if not seconds.isdigit() or (frac and not frac.isdigit()) or len(frac) > 6:
        raise ValueError(f"not a Slack ts: {ts!r}")
    return int(seconds) * 1_000_000 + int(frac.ljust(6, "0") or "0")


# --------------------------------------------------------------------------------------------------- records


@dataclass
class Team:
    id: str = "T0PLAYGRND"
    name: str = "Playground"
    domain: str = "playground"


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    display_name: str = ""
    is_bot: bool = False
    bot_id: str | None = None
    app_id: str | None = None


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    members: set[str] | None = None  # None: every user of the workspace is a member
    created: int = 0
    topic: str = ""
    purpose: str = ""

    def has_member(self, user_id: str) -> bool:
        return self.members is None or user_id in self.members


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None  # the parent's ts, for replies only
    blocks: list[JSON] | None = None
    attachments: list[JSON] | None = None
    metadata: JSON | None = None
    files: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited: JSON | None = None
    subtype: str | None = None
    reply_broadcast: bool = False
    upload: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class EphemeralMessage:
    channel: str
    user: str  # the only person who sees it
    ts: str
    text: str
    blocks: list[JSON] | None = None
    attachments: list[JSON] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    source: str = "chat.postEphemeral"  # or "response_url", "command_ack"


@dataclass
class FileRecord:
    id: str
    name: str
    title: str
    length: int  # as declared in files.getUploadURLExternal
    user: str
    created: int
    upload_token: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None
    completed: bool = False
    mimetype: str = ""  # empty until the "malware scan" finished, as in Slack
    filetype: str = ""
    pretty_type: str = ""
    original_w: int | None = None
    original_h: int | None = None
    shares: dict[str, dict[str, list[JSON]]] = field(default_factory=dict)

    @property
    def uploaded(self) -> bool:
        return self.content is not None

    @property
    def scanned(self) -> bool:
        return self.mimetype != ""

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else self.length


@dataclass
class ViewRecord:
    id: str
    user_id: str
    type: str  # "modal" | "home"
    view: JSON  # the definition as given by the app (validated)
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: JSON = field(default_factory=dict)
    closed: bool = False


@dataclass
class Trigger:
    id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    token: str
    user_id: str
    channel_id: str
    issued_at: float
    message_ts: str | None = None  # the message an interaction came from ("original")
    thread_ts: str | None = None
    uses: int = 0
    last_ephemeral_ts: str | None = None


@dataclass
class Change:
    version: int
    kind: str
    data: JSON

    def to_json(self) -> JSON:
        return {"version": self.version, "kind": self.kind, **self.data}


# --------------------------------------------------------------------------------------------- validation


class _BlockValidator:
    """Checks a blocks array roughly the way Slack does; collects ``msg [json-pointer:/blocks/..]`` errors."""

    def __init__(
        self, resolve_file: Callable[[str | None, str | None], FileRecord | None], root: str
    ) -> None:
        self.resolve_file = resolve_file
        self.root = root
        self.errors: list[str] = []

    def err(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def text_object(
        self, value: Any, pointer: str, *, max_len: int, plain_only: bool = False, required: bool = True
    ) -> None:
        if value is None:
            if required:
                self.err("missing required field: text", pointer)
            return
        if not isinstance(value, dict):
            self.err("must be a text object", pointer)
            return
        kind = value.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.err(f"must be one of {'|'.join(allowed)}", f"{pointer}/type")
        text = value.get("text")
        if not isinstance(text, str) or not text:
            self.err("must be a non-empty string", f"{pointer}/text")
        elif len(text) > max_len:
            self.err(f"must be less than {max_len + 1} characters", f"{pointer}/text")

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.err("must be an object with a type", pointer)
            return
        if element["type"] == "button":
            self.text_object(element.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
            value = element.get("value")
            if value is not None and (not isinstance(value, str) or len(value) > 2000):
                self.err("must be a string of at most 2000 characters", f"{pointer}/value")
            style = element.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.err("must be one of primary|danger", f"{pointer}/style")
        action_id = element.get("action_id")
        if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
            self.err("must be a string of at most 255 characters", f"{pointer}/action_id")

    def image(self, block: JSON, pointer: str) -> None:
        alt = block.get("alt_text")
        if not isinstance(alt, str) or not alt:
            self.err("missing required field: alt_text", pointer)
        elif len(alt) > 2000:
            self.err("must be less than 2001 characters", f"{pointer}/alt_text")
        has_url = "image_url" in block
        has_file = "slack_file" in block
        if has_url == has_file:
            self.err("must provide exactly one of image_url or slack_file", pointer)
            return
        if has_url:
            url = block["image_url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 3000:
                self.err("invalid image_url", f"{pointer}/image_url")
            return
        ref = block["slack_file"]
        if not isinstance(ref, dict) or (("id" in ref) == ("url" in ref)):
            self.err("slack_file must have exactly one of id or url", f"{pointer}/slack_file")
            return
        file_id = ref.get("id")
        url = ref.get("url")
        found = self.resolve_file(
            file_id if isinstance(file_id, str) else None, url if isinstance(url, str) else None
        )
        if found is None or not found.scanned:
            self.err("invalid slack file", f"{pointer}/slack_file")
        elif found.mimetype not in SLACK_FILE_IMAGE_TYPES:
            self.err(f"unsupported file type {found.mimetype}", f"{pointer}/slack_file")

    def block(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.err("must be an object with a type", pointer)
            return
        kind = block["type"]
        if kind not in KNOWN_BLOCK_TYPES:
            self.err(f"unsupported type: {kind}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > 255:
                self.err("must be a string of 1 to 255 characters", f"{pointer}/block_id")
            elif block_id in block_ids:
                self.err(f"duplicate block_id {block_id}", f"{pointer}/block_id")
            else:
                block_ids.add(block_id)
        if kind == "section":
            fields = block.get("fields")
            if block.get("text") is None and not fields:
                self.err("must provide text or fields", pointer)
            self.text_object(block.get("text"), f"{pointer}/text", max_len=MAX_SECTION_TEXT, required=False)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.err("must be a list of at most 10 items", f"{pointer}/fields")
                else:
                    for i, item in enumerate(fields):
                        self.text_object(item, f"{pointer}/fields/{i}", max_len=2000)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{pointer}/accessory")
        elif kind == "header":
            self.text_object(block.get("text"), f"{pointer}/text", max_len=150, plain_only=True)
        elif kind == "image":
            self.image(block, pointer)
        elif kind in ("actions", "context"):
            limit = 25 if kind == "actions" else 10
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > limit:
                self.err(f"must be a list of 1 to {limit} items", f"{pointer}/elements")
                return
            for i, element in enumerate(elements):
                sub = f"{pointer}/elements/{i}"
                if kind == "context" and isinstance(element, dict) and element.get("type") == "image":
                    self.image(element, sub)
                elif (
                    kind == "context"
                    and isinstance(element, dict)
                    and element.get("type")
                    in (
                        "plain_text",
                        "mrkdwn",
                    )
                ):
                    self.text_object(element, sub, max_len=MAX_SECTION_TEXT)
                else:
                    self.element(element, sub)
        elif kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or len(text) > 12_000:
                self.err("must be a string of at most 12000 characters", f"{pointer}/text")
        elif kind == "input":
            self.text_object(block.get("label"), f"{pointer}/label", max_len=2000, plain_only=True)
            self.element(block.get("element"), f"{pointer}/element")

    def blocks(self, blocks: Any, max_blocks: int) -> None:
        if not isinstance(blocks, list):
            self.err("must be an array", self.root)
            return
        if len(blocks) > max_blocks:
            self.err(f"no more than {max_blocks} items allowed", self.root)
        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            self.block(block, f"{self.root}/{i}", block_ids)


def with_block_ids(blocks: list[JSON] | None) -> list[JSON] | None:
    """A deep copy in which every block has a ``block_id`` (Slack generates one when the app gave none)."""
    if blocks is None:
        return None
    copied = copy.deepcopy(blocks)
    for block in copied:
        if isinstance(block, dict) and "block_id" not in block:
            block["block_id"] = secrets.token_urlsafe(4).replace("-", "a").replace("_", "b")[:5]
    return copied


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


def encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts.replace('.', '')}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """Cursor -> ts in microseconds; SlackError("invalid_cursor") when it is not one of ours."""
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError as exc:
        raise SlackError("invalid_cursor") from exc
    prefix, _, digits = raw.partition(":")
    if prefix != "next_ts" or not digits.isdigit():
        raise SlackError("invalid_cursor")
    return int(digits)


# ---------------------------------------------------------------------------------------------- workspace


class Workspace:
    """The whole fake workspace: team, users, channels, messages, files, views, and a change log."""

    def __init__(
        self,
        *,
        team: Team | None = None,
        bot_user_id: str = "U0DRAFTBOT",
        bot_id: str = "B0DRAFTBOT",
        bot_name: str = "draftbot",
        app_id: str = "A0DRAFTBOT",
        clock: Clock | None = None,
        default_channel: tuple[str, str] = ("C0GENERAL", "general"),
        default_users: Iterable[tuple[str, str]] = (
            ("U0ALICE", "alice"),
            ("U0BOB", "bob"),
            ("U0CAROL", "carol"),
        ),
        origin: str = "http://fake-slack.invalid",
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 1800.0,
        response_url_max_uses: int = 5,
        max_changes: int = 10_000,
    ) -> None:
        self.team = team or Team()
        self.clock: Clock = clock or time.time
        self.origin = origin.rstrip("/")
        self.app_id = app_id
        self.trigger_ttl = trigger_ttl
        self.response_url_ttl = response_url_ttl
        self.response_url_max_uses = response_url_max_uses
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, FileRecord] = {}
        self.views: dict[str, ViewRecord] = {}
        self.home_views: dict[str, str] = {}  # user -> view id
        self.modal_stacks: dict[str, list[str]] = {}  # user -> view ids, bottom first
        self.ephemerals: list[EphemeralMessage] = []
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.version = 0
        self.changes: deque[Change] = deque(maxlen=max_changes)
        self._messages: dict[str, dict[str, Message]] = {}
        self._replies: dict[tuple[str, str], list[str]] = {}
        self._last_ts = 0
        self._counters: dict[str, int] = {}
        self._waiters: list[asyncio.Future[int]] = []
        self._listeners: list[Callable[[Change], None]] = []
        self.bot = User(
            id=bot_user_id, name=bot_name, real_name=bot_name, is_bot=True, bot_id=bot_id, app_id=app_id
        )
        self.users[self.bot.id] = self.bot
        for user_id, name in default_users:
            self.users[user_id] = User(id=user_id, name=name, real_name=name.title(), display_name=name)
        self.channels[default_channel[0]] = Channel(
            id=default_channel[0], name=default_channel[1], created=int(self.clock())
        )
        self._messages[default_channel[0]] = {}

    # ------------------------------------------------------------------------------ changes and waiting

    def _changed(self, kind: str, **data: Any) -> Change:
        self.version += 1
        change = Change(self.version, kind, data)
        self.changes.append(change)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(self.version)
        for listener in list(self._listeners):
            listener(change)
        return change

    def add_listener(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener(change)`` synchronously on every change; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def changes_since(self, version: int) -> tuple[list[Change], bool]:
        """Changes newer than ``version``, and whether older ones were dropped from the bounded log."""
        truncated = bool(self.changes) and self.changes[0].version > version + 1
        return [c for c in self.changes if c.version > version], truncated

    async def wait_for_change(self, since: int, max_wait: float | None = None) -> int:
        """Return as soon as ``version > since`` (or after ``max_wait`` seconds); returns the version."""
        if self.version > since:
            return self.version
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), max_wait)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return self.version

    # ------------------------------------------------------------------------------------ ids and time

    def new_id(self, prefix: str, width: int = 10) -> str:
        """Deterministic Slack-looking ids: ``F000000001``, ``V000000002``..."""
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}{n:0{width - len(prefix)}d}"

    def next_ts(self) -> str:
        """A fresh ts, strictly greater than every ts handed out before."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return format_ts(micros)

    def now(self) -> float:
        return self.clock()

    # ------------------------------------------------------------------------------------ users, channels

    def add_user(self, user_id: str, name: str, *, real_name: str = "", is_bot: bool = False) -> User:
        user = User(
            id=user_id, name=name, real_name=real_name or name.title(), display_name=name, is_bot=is_bot
        )
        self.users[user_id] = user
        self._changed("user_added", user=user_id)
        return user

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, members: Iterable[str] | None = None
    ) -> Channel:
        """Add a channel. ``members=None`` means everyone; otherwise list the bot too if it should be in."""
        channel = Channel(
            id=channel_id,
            name=name.lstrip("#"),
            is_private=is_private,
            members=set(members) if members is not None else None,
            created=int(self.clock()),
        )
        self.channels[channel_id] = channel
        self._messages.setdefault(channel_id, {})
        self._changed("channel_added", channel=channel_id)
        return channel

    def get_user(self, user_id: str) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise SlackError("user_not_found") from None

    def get_channel(self, channel_id: str) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise SlackError("channel_not_found") from None

    def resolve_channel(self, ref: str | None) -> Channel:
        """A channel id, ``#name``/``name``, or a user id (opens the IM), as chat.postMessage accepts."""
        if not ref:
            raise SlackError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users and ref != self.bot.id:
            return self.open_im(ref)
        name = ref.lstrip("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        raise SlackError("channel_not_found")

    def join_channel(self, channel_id: str, user_id: str) -> Channel:
        channel = self.get_channel(channel_id)
        if channel.members is not None and user_id not in channel.members:
            channel.members.add(user_id)
            self._changed("channel_joined", channel=channel_id, user=user_id)
        return channel

    def open_im(self, user_id: str) -> Channel:
        self.get_user(user_id)
        for channel in self.channels.values():
            if channel.is_im and channel.members == {user_id, self.bot.id}:
                return channel
        channel = Channel(
            id=self.new_id("D"),
            name=user_id,
            is_private=True,
            is_im=True,
            members={user_id, self.bot.id},
            created=int(self.clock()),
        )
        self.channels[channel.id] = channel
        self._messages[channel.id] = {}
        self._changed("channel_added", channel=channel.id)
        return channel

    # ------------------------------------------------------------------------------------------ messages

    def validate_blocks(
        self, blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, root: str = "/blocks"
    ) -> None:
        validator = _BlockValidator(self._resolve_slack_file, root)
        validator.blocks(blocks, max_blocks)
        if validator.errors:
            raise SlackError("invalid_blocks", *validator.errors)

    def _resolve_slack_file(self, file_id: str | None, url: str | None) -> FileRecord | None:
        if file_id is not None:
            return self.files.get(file_id)
        for record in self.files.values():
            if url in (self._url_private(record), self._permalink(record)):
                return record
        return None

    def _check_content(self, text: str | None, blocks: Any, attachments: Any) -> None:
        if not text and blocks is None and not attachments:
            raise SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        if blocks is not None:
            self.validate_blocks(blocks)

    def channel_messages(self, channel_id: str) -> dict[str, Message]:
        self.get_channel(channel_id)
        return self._messages.setdefault(channel_id, {})

    def get_message(self, channel_id: str, ts: str | None) -> Message:
        messages = self.channel_messages(channel_id)
        if ts is None or ts not in messages:
            raise SlackError("message_not_found")
        return messages[ts]

    def thread_root(self, channel_id: str, ts: str | None) -> Message:
        """The parent of the thread ``ts`` belongs to (``ts`` may be the parent or a reply)."""
        messages = self.channel_messages(channel_id)
        if ts is None or ts not in messages:
            raise SlackError("thread_not_found")
        message = messages[ts]
        if message.thread_ts is not None:
            return messages[message.thread_ts]
        return message

    def post_message(
        self,
        channel_id: str,
        *,
        user: str,
        text: str | None = None,
        blocks: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
        metadata: JSON | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        files: list[str] | None = None,
        upload: bool = False,
    ) -> Message:
        """Post as ``user`` (the bot's messages get its bot_id). Validates like chat.postMessage."""
        channel = self.get_channel(channel_id)
        if not files:
            self._check_content(text, blocks, attachments)
        elif blocks is not None:
            self.validate_blocks(blocks)
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        parent: Message | None = None
        if thread_ts is not None:
            parent = self.thread_root(channel.id, thread_ts)
        author = self.users.get(user)
        message = Message(
            channel=channel.id,
            ts=self.next_ts(),
            text=text or "",
            user=user,
            bot_id=author.bot_id if author else None,
            app_id=author.app_id if author else None,
            thread_ts=parent.ts if parent else None,
            blocks=with_block_ids(blocks),
            attachments=copy.deepcopy(attachments) if attachments else None,
            metadata=copy.deepcopy(metadata) if metadata else None,
            files=list(files or []),
            reply_broadcast=bool(parent and reply_broadcast),
            upload=upload,
        )
        self._messages[channel.id][message.ts] = message
        if parent is not None:
            self._replies.setdefault((channel.id, parent.ts), []).append(message.ts)
        self._changed("message_posted", channel=channel.id, ts=message.ts, thread_ts=message.thread_ts)
        return message

    def update_message(
        self,
        channel_id: str,
        ts: str | None,
        *,
        by_user: str,
        text: str | None = None,
        blocks: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
        metadata: JSON | None = None,
    ) -> Message:
        """chat.update semantics: omitted ``blocks``/``metadata`` are kept; ``blocks=[]`` removes them."""
        message = self.get_message(channel_id, ts)
        if message.user != by_user or message.subtype == "tombstone":
            raise SlackError("cant_update_message")
        if text is None and blocks is None and attachments is None:
            raise SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        if blocks is not None:
            self.validate_blocks(blocks)
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = with_block_ids(blocks) if blocks else None
        if attachments is not None:
            message.attachments = copy.deepcopy(attachments) or None
        if metadata is not None:
            message.metadata = copy.deepcopy(metadata) or None
        message.edited = {"user": by_user, "ts": self.next_ts()}
        self._changed("message_updated", channel=message.channel, ts=message.ts, thread_ts=message.thread_ts)
        return message

    def delete_message(self, channel_id: str, ts: str | None, *, by_user: str | None = None) -> None:
        """Delete; a parent that still has replies becomes a tombstone, as in Slack."""
        message = self.get_message(channel_id, ts)
        if by_user is not None and message.user != by_user:
            raise SlackError("cant_delete_message")
        channel = message.channel
        if message.is_reply:
            assert message.thread_ts is not None
            self._replies[(channel, message.thread_ts)].remove(message.ts)
            del self._messages[channel][message.ts]
        elif self._replies.get((channel, message.ts)):
            message.subtype = "tombstone"
            message.text = "This message was deleted."
            message.user = "USLACKBOT"
            message.bot_id = message.app_id = None
            message.blocks = message.attachments = message.metadata = None
            message.files = []
            message.reactions = {}
        else:
            self._replies.pop((channel, message.ts), None)
            del self._messages[channel][message.ts]
        self._changed("message_deleted", channel=channel, ts=message.ts, thread_ts=message.thread_ts)

    def replies(self, channel_id: str, parent_ts: str) -> list[Message]:
        messages = self.channel_messages(channel_id)
        return [messages[ts] for ts in self._replies.get((channel_id, parent_ts), [])]

    def thread(self, channel_id: str, ts: str | None) -> list[Message]:
        """[parent, *replies] oldest first; ``thread_not_found`` for an unknown ts."""
        parent = self.thread_root(channel_id, ts)
        return [parent, *self.replies(channel_id, parent.ts)]

    def history(self, channel_id: str) -> list[Message]:
        """Top-level messages and broadcast replies, oldest first."""
        return [m for m in self.channel_messages(channel_id).values() if not m.is_reply or m.reply_broadcast]

    # ------------------------------------------------------------------------------------------ reactions

    def add_reaction(self, channel_id: str, ts: str | None, name: str | None, user: str) -> Message:
        message = self.get_message(channel_id, ts)
        if not name or not REACTION_NAME.match(name):
            raise SlackError("invalid_name")
        users = message.reactions.get(name, [])
        if user in users:
            raise SlackError("already_reacted")
        if name not in message.reactions and len(message.reactions) >= MAX_DISTINCT_EMOJI:
            raise SlackError("too_many_emoji")
        if sum(user in u for u in message.reactions.values()) >= MAX_REACTIONS_PER_USER:
            raise SlackError("too_many_reactions")
        message.reactions.setdefault(name, []).append(user)
        self._changed(
            "reaction_added",
            channel=message.channel,
            ts=message.ts,
            thread_ts=message.thread_ts,
            name=name,
            user=user,
        )
        return message

    def remove_reaction(self, channel_id: str, ts: str | None, name: str | None, user: str) -> Message:
        message = self.get_message(channel_id, ts)
        if not name or not REACTION_NAME.match(name):
            raise SlackError("invalid_name")
        users = message.reactions.get(name, [])
        if user not in users:
            raise SlackError("no_reaction")
        users.remove(user)
        if not users:
            del message.reactions[name]
        self._changed(
            "reaction_removed",
            channel=message.channel,
            ts=message.ts,
            thread_ts=message.thread_ts,
            name=name,
            user=user,
        )
        return message

    # ----------------------------------------------------------------------------------------- ephemerals

    def post_ephemeral(
        self,
        channel_id: str,
        user: str,
        *,
        text: str | None = None,
        blocks: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
        thread_ts: str | None = None,
        source: str = "chat.postEphemeral",
    ) -> EphemeralMessage:
        channel = self.get_channel(channel_id)
        if user not in self.users or not channel.has_member(user):
            raise SlackError("user_not_in_channel")
        self._check_content(text, blocks, attachments)
        ephemeral = EphemeralMessage(
            channel=channel.id,
            user=user,
            ts=self.next_ts(),
            text=text or "",
            blocks=with_block_ids(blocks),
            attachments=copy.deepcopy(attachments) if attachments else None,
            thread_ts=thread_ts,
            bot_id=self.bot.bot_id,
            source=source,
        )
        self.ephemerals.append(ephemeral)
        self._changed("ephemeral_posted", channel=channel.id, ts=ephemeral.ts, user=user, thread_ts=thread_ts)
        return ephemeral

    def get_ephemeral(self, ts: str | None) -> EphemeralMessage | None:
        return next((e for e in self.ephemerals if e.ts == ts), None)

    def replace_ephemeral(
        self, ts: str, *, text: str | None, blocks: list[JSON] | None, attachments: list[JSON] | None = None
    ) -> EphemeralMessage:
        ephemeral = self.get_ephemeral(ts)
        if ephemeral is None:
            raise SlackError("message_not_found")
        self._check_content(text, blocks, attachments)
        ephemeral.text = text or ""
        ephemeral.blocks = with_block_ids(blocks)
        ephemeral.attachments = copy.deepcopy(attachments) if attachments else None
        self._changed("ephemeral_updated", channel=ephemeral.channel, ts=ts, user=ephemeral.user)
        return ephemeral

    def delete_ephemeral(self, ts: str) -> None:
        ephemeral = self.get_ephemeral(ts)
        if ephemeral is None:
            raise SlackError("message_not_found")
        self.ephemerals.remove(ephemeral)
        self._changed("ephemeral_deleted", channel=ephemeral.channel, ts=ts, user=ephemeral.user)

    def ephemerals_for(self, user: str, channel_id: str | None = None) -> list[EphemeralMessage]:
        return [
            e for e in self.ephemerals if e.user == user and (channel_id is None or e.channel == channel_id)
        ]

    # ---------------------------------------------------------------------------------------------- files

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
            id=self.new_id("F"),
            name=filename,
            title=filename,
            length=length,
            user=user,
            created=int(self.clock()),
            upload_token=secrets.token_urlsafe(16),
            alt_txt=alt_txt,
            snippet_type=snippet_type,
        )
        self.files[record.id] = record
        self._changed("file_created", file=record.id)
        return record

    def file_by_upload_token(self, token: str) -> FileRecord | None:
        return next((f for f in self.files.values() if f.upload_token == token), None)

    def get_file(self, file_id: str | None) -> FileRecord:
        if file_id is None or file_id not in self.files:
            raise SlackError("file_not_found")
        return self.files[file_id]

    def receive_upload(self, file_id: str, data: bytes) -> FileRecord:
        record = self.get_file(file_id)
        record.content = bytes(data)
        self._changed("file_uploaded", file=file_id, size=len(data))
        return record

    def complete_upload(self, file_id: str, title: str | None) -> FileRecord:
        record = self.get_file(file_id)
        if not record.uploaded:
            raise SlackError("file_not_found", f"file {file_id} has no uploaded content")
        record.completed = True
        if title:
            record.title = title
        self._changed("file_completed", file=file_id)
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
        self._changed("file_scanned", file=file_id, mimetype=record.mimetype)
        return record

    def share_files(
        self,
        file_ids: list[str],
        channel_id: str,
        *,
        user: str,
        thread_ts: str | None = None,
        initial_comment: str | None = None,
        blocks: list[JSON] | None = None,
    ) -> Message:
        """Post the file-share message and record ``shares`` on each file (what Slack does after the scan)."""
        channel = self.get_channel(channel_id)
        message = self.post_message(
            channel.id,
            user=user,
            text=initial_comment or "",
            blocks=None if initial_comment else blocks,
            thread_ts=thread_ts,
            files=file_ids,
            upload=True,
        )
        share: JSON = {
            "reply_users": [],
            "reply_users_count": 0,
            "reply_count": 0,
            "ts": message.ts,
            "channel_name": channel.name,
            "team_id": self.team.id,
            "share_user_id": user,
            "source": "UNKNOWN",
        }
        if message.thread_ts:
            share["thread_ts"] = message.thread_ts
        visibility = "private" if channel.is_private else "public"
        for file_id in file_ids:
            record = self.get_file(file_id)
            record.shares.setdefault(visibility, {}).setdefault(channel.id, []).append(dict(share))
            self._changed("file_shared", file=file_id, channel=channel.id, ts=message.ts)
        return message

    def delete_file(self, file_id: str) -> None:
        self.get_file(file_id)
        del self.files[file_id]
        self._changed("file_deleted", file=file_id)

    def _url_private(self, record: FileRecord) -> str:
        return f"{self.origin}/files-pri/{self.team.id}-{record.id}/{quote(record.name)}"

    def _permalink(self, record: FileRecord) -> str:
        return f"{self.origin}/files/{record.user}/{record.id}/{quote(record.name)}"

    def playground_file_url(self, record: FileRecord) -> str:
        """Unauthenticated URL for the browser playground (not a Slack URL)."""
        return f"{self.origin}/playground/files/{record.id}/{quote(record.name)}"

    # ---------------------------------------------------------------------------------- triggers, urls

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{int(self.clock())}.{self.new_id('', 12)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(trigger_id, user_id, self.clock())
        return trigger_id

    def consume_trigger(self, trigger_id: str | None) -> str:
        """The user the trigger was issued to; errors as views.open reports them."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - trigger.issued_at > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id

    def issue_response_url(
        self, user_id: str, channel_id: str, *, message_ts: str | None = None, thread_ts: str | None = None
    ) -> ResponseUrl:
        record = ResponseUrl(
            token=secrets.token_urlsafe(18),
            user_id=user_id,
            channel_id=channel_id,
            issued_at=self.clock(),
            message_ts=message_ts,
            thread_ts=thread_ts,
        )
        self.response_urls[record.token] = record
        return record

    def response_url(self, record: ResponseUrl) -> str:
        return f"{self.origin}/response/{record.token}"

    def use_response_url(self, token: str) -> ResponseUrl:
        """Count one use; SlackError("invalid_url" | "expired_url" | "used_url") when it can't be used."""
        record = self.response_urls.get(token)
        if record is None:
            raise SlackError("invalid_url")
        if self.clock() - record.issued_at > self.response_url_ttl:
            raise SlackError("expired_url")
        if record.uses >= self.response_url_max_uses:
            raise SlackError("used_url")
        record.uses += 1
        return record

    # ---------------------------------------------------------------------------------------------- views

    def validate_view(self, view: Any, *, expected: str | None = None) -> JSON:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", "view must be an object [json-pointer:/view]")
        errors: list[str] = []
        kind = view.get("type")
        if kind not in ("modal", "home") or (expected is not None and kind != expected):
            allowed = expected or "modal|home"
            errors.append(f"must be one of {allowed} [json-pointer:/view/type]")
        validator = _BlockValidator(self._resolve_slack_file, "/view/blocks")
        if kind == "modal":
            validator.text_object(view.get("title"), "/view/title", max_len=24, plain_only=True)
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    validator.text_object(view[key], f"/view/{key}", max_len=24, plain_only=True)
            blocks = view.get("blocks")
            if (
                isinstance(blocks, list)
                and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
                and view.get("submit") is None
            ):
                errors.append("must provide submit when there are input blocks [json-pointer:/view/submit]")
        validator.blocks(view.get("blocks"), MAX_VIEW_BLOCKS)
        errors.extend(validator.errors)
        for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
            value = view.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                errors.append(f"must be a string of at most {limit} characters [json-pointer:/view/{key}]")
        if errors:
            raise SlackError("invalid_arguments", *errors)
        return copy.deepcopy(view)

    def _new_view(
        self, user_id: str, view: JSON, *, previous: str | None = None, root: str | None = None
    ) -> ViewRecord:
        view_id = self.new_id("V")
        record = ViewRecord(
            id=view_id,
            user_id=user_id,
            type=str(view["type"]),
            view=view,
            hash=f"{int(self.clock())}.{secrets.token_hex(4)}",
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = record
        return record

    def open_view(self, trigger_id: str | None, view: Any) -> ViewRecord:
        definition = self.validate_view(view, expected="modal")
        user_id = self.consume_trigger(trigger_id)
        for old in self.modal_stacks.pop(user_id, []):
            self.views[old].closed = True
        record = self._new_view(user_id, definition)
        self.modal_stacks[user_id] = [record.id]
        self._changed("view_opened", view=record.id, user=user_id)
        return record

    def push_view(self, trigger_id: str | None, view: Any) -> ViewRecord:
        definition = self.validate_view(view, expected="modal")
        user_id = self.consume_trigger(trigger_id)
        stack = self.modal_stacks.get(user_id)
        if not stack:
            raise SlackError("not_found", "no modal is open for this user")
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        record = self._new_view(user_id, definition, previous=stack[-1], root=stack[0])
        stack.append(record.id)
        self._changed("view_pushed", view=record.id, user=user_id)
        return record

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> ViewRecord:
        if view_id and view_id in self.views and not self.views[view_id].closed:
            return self.views[view_id]
        if external_id:
            for record in self.views.values():
                if record.view.get("external_id") == external_id and not record.closed:
                    return record
        raise SlackError("not_found")

    def update_view(
        self,
        view: Any,
        *,
        view_id: str | None = None,
        external_id: str | None = None,
        hash: str | None = None,
    ) -> ViewRecord:
        record = self.find_view(view_id, external_id)
        definition = self.validate_view(view, expected=record.type)
        if hash is not None and hash != record.hash:
            raise SlackError("hash_conflict")
        record.view = definition
        record.hash = f"{int(self.clock())}.{secrets.token_hex(4)}"
        self._changed("view_updated", view=record.id, user=record.user_id)
        return record

    def publish_home(self, user_id: str | None, view: Any, *, hash: str | None = None) -> ViewRecord:
        definition = self.validate_view(view, expected="home")
        user = self.get_user(user_id or "")
        existing = self.views.get(self.home_views.get(user.id, ""))
        if existing is not None:
            if hash is not None and hash != existing.hash:
                raise SlackError("hash_conflict")
            existing.view = definition
            existing.hash = f"{int(self.clock())}.{secrets.token_hex(4)}"
            record = existing
        else:
            record = self._new_view(user.id, definition)
            self.home_views[user.id] = record.id
        self._changed("home_published", view=record.id, user=user.id)
        return record

    def close_view(self, view_id: str, *, clear: bool = False) -> None:
        """Close a modal (``clear``: the whole stack), as after a submission without response_action."""
        record = self.views.get(view_id)
        if record is None:
            raise SlackError("not_found")
        stack = self.modal_stacks.get(record.user_id, [])
        to_close = list(stack) if clear else stack[stack.index(view_id) :] if view_id in stack else [view_id]
        for closing in to_close:
            self.views[closing].closed = True
            if closing in stack:
                stack.remove(closing)
        if not stack:
            self.modal_stacks.pop(record.user_id, None)
        self._changed("view_closed", view=view_id, user=record.user_id)

    def open_views_for(self, user_id: str) -> list[ViewRecord]:
        return [self.views[v] for v in self.modal_stacks.get(user_id, [])]

    # -------------------------------------------------------------------------------------- serialisers

    def user_json(self, user: User) -> JSON:
        profile: JSON = {
            "real_name": user.real_name,
            "display_name": user.display_name,
            "real_name_normalized": user.real_name,
            "display_name_normalized": user.display_name,
            "team": self.team.id,
        }
        if user.bot_id:
            profile["bot_id"] = user.bot_id
            profile["api_app_id"] = user.app_id
        return {
            "id": user.id,
            "team_id": self.team.id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": profile,
        }

    def channel_json(self, channel: Channel) -> JSON:
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private and not channel.is_im,
            "is_group": channel.is_private and not channel.is_im,
            "is_im": channel.is_im,
            "is_private": channel.is_private,
            "is_archived": False,
            "is_general": channel.name == "general",
            "is_member": channel.has_member(self.bot.id),
            "created": channel.created,
            "creator": "",
            "name_normalized": channel.name,
            "topic": {"value": channel.topic, "creator": "", "last_set": 0},
            "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
            "context_team_id": self.team.id,
        }

    def bot_profile(self) -> JSON:
        return {
            "id": self.bot.bot_id,
            "app_id": self.app_id,
            "name": self.bot.name,
            "icons": {},
            "deleted": False,
            "updated": 0,
            "team_id": self.team.id,
        }

    def message_json(self, message: Message, *, include_metadata: bool = True) -> JSON:
        data: JSON = {"type": "message"}
        if message.subtype:
            data["subtype"] = message.subtype
        elif message.reply_broadcast:
            data["subtype"] = "thread_broadcast"
        data["text"] = message.text
        if message.user:
            data["user"] = message.user
        if message.bot_id:
            data["bot_id"] = message.bot_id
            data["app_id"] = message.app_id
            data["bot_profile"] = self.bot_profile()
        data["ts"] = message.ts
        data["team"] = self.team.id
        if message.blocks is not None:
            data["blocks"] = copy.deepcopy(message.blocks)
        if message.attachments:
            data["attachments"] = copy.deepcopy(message.attachments)
        if message.files:
            data["files"] = [self.file_json(self.files[f]) for f in message.files if f in self.files]
            data["upload"] = message.upload
            data["display_as_bot"] = False
        if message.is_reply:
            data["thread_ts"] = message.thread_ts
            parent = self._messages[message.channel].get(message.thread_ts or "")
            if parent is not None and parent.user:
                data["parent_user_id"] = parent.user
        else:
            replies = self.replies(message.channel, message.ts)
            if replies:
                reply_users = list(dict.fromkeys(r.user for r in replies if r.user))
                data.update(
                    thread_ts=message.ts,
                    reply_count=len(replies),
                    reply_users_count=len(reply_users),
                    latest_reply=replies[-1].ts,
                    reply_users=reply_users,
                    is_locked=False,
                    subscribed=False,
                )
        if message.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in message.reactions.items()
            ]
        if message.edited:
            data["edited"] = dict(message.edited)
        if include_metadata and message.metadata:
            data["metadata"] = copy.deepcopy(message.metadata)
        return data

    def ephemeral_json(self, ephemeral: EphemeralMessage) -> JSON:
        data: JSON = {
            "type": "message",
            "subtype": "bot_message",
            "ts": ephemeral.ts,
            "channel": ephemeral.channel,
            "user": ephemeral.user,
            "bot_id": ephemeral.bot_id,
            "text": ephemeral.text,
            "is_ephemeral": True,
            "source": ephemeral.source,
        }
        if ephemeral.blocks is not None:
            data["blocks"] = copy.deepcopy(ephemeral.blocks)
        if ephemeral.attachments:
            data["attachments"] = copy.deepcopy(ephemeral.attachments)
        if ephemeral.thread_ts:
            data["thread_ts"] = ephemeral.thread_ts
        return data

    def file_json(self, record: FileRecord) -> JSON:
        channels = sorted({c for shares in record.shares.values() for c in shares})
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
            "user_team": self.team.id,
            "editable": False,
            "size": record.size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": "public" in record.shares,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": self._url_private(record),
            "url_private_download": (
                f"{self.origin}/files-pri/{self.team.id}-{record.id}/download/{quote(record.name)}"
            ),
            "permalink": self._permalink(record),
            "permalink_public": f"{self.origin}/{self.team.id}-{record.id}-{record.upload_token[:10]}",
            "comments_count": 0,
            "is_starred": False,
            "shares": copy.deepcopy(record.shares),
            "channels": [c for c in channels if not self.channels[c].is_private],
            "groups": [c for c in channels if self.channels[c].is_private and not self.channels[c].is_im],
            "ims": [c for c in channels if self.channels[c].is_im],
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

    def view_json(self, record: ViewRecord) -> JSON:
        view = record.view
        data: JSON = {
            "id": record.id,
            "team_id": self.team.id,
            "type": record.type,
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": copy.deepcopy(record.state_values)},
            "hash": record.hash,
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": record.root_view_id,
            "previous_view_id": record.previous_view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team.id,
            "bot_id": self.bot.bot_id,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                data[key] = copy.deepcopy(view[key])
        return data

    def snapshot(self, *, user_id: str | None = None, since: int = 0) -> JSON:
        """Everything a channel page needs, plus the changes after ``since``."""
        changes, truncated = self.changes_since(since)
        messages: dict[str, list[JSON]] = {}
        threads: dict[str, dict[str, list[JSON]]] = {}
        for channel_id in self.channels:
            messages[channel_id] = [self.message_json(m) for m in self.history(channel_id)]
            threads[channel_id] = {
                parent: [self.message_json(self._messages[channel_id][ts]) for ts in reply_ts]
                for (cid, parent), reply_ts in self._replies.items()
                if cid == channel_id and reply_ts
            }
        ephemerals = self.ephemerals if user_id is None else self.ephemerals_for(user_id)
        views = (
            [v for v in self.views.values() if not v.closed]
            if user_id is None
            else [
                *self.open_views_for(user_id),
                *([self.views[self.home_views[user_id]]] if user_id in self.home_views else []),
            ]
        )
        return {
            "ok": True,
            "version": self.version,
            "team": {"id": self.team.id, "name": self.team.name, "domain": self.team.domain},
            "bot": {
                "user_id": self.bot.id,
                "bot_id": self.bot.bot_id,
                "app_id": self.app_id,
                "name": self.bot.name,
            },
            "users": [self.user_json(u) for u in self.users.values()],
            "channels": [self.channel_json(c) for c in self.channels.values()],
            "messages": messages,
            "threads": threads,
            "ephemerals": [self.ephemeral_json(e) for e in ephemerals],
            "files": [
                {**self.file_json(f), "playground_url": self.playground_file_url(f)}
                for f in self.files.values()
                if f.completed
            ],
            "views": [{**self.view_json(v), "user_id": v.user_id} for v in views],
            "changes": [c.to_json() for c in changes],
            "changes_truncated": truncated,
        }
