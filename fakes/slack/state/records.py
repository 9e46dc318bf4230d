"""The records the fake workspace is made of (plain dataclasses), its error type and Slack's ts format.

No behaviour beyond small derived properties: each family of :mod:`fakes.slack.state` owns what happens
to its records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
Clock = Callable[[], float]


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


def format_ts(micros: int) -> str:
    """Slack ts format: seconds, a dot, six digits (``1700000000.000100``)."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def ts_micros(ts: str) -> int:
    """Parse a Slack ts into integer microseconds; ValueError if it is not one."""
    seconds, _, frac = ts.partition(".")
    if not seconds.isdigit() or (frac and not frac.isdigit()) or len(frac) > 6:
        raise ValueError(f"not a Slack ts: {ts!r}")
    return int(seconds) * 1_000_000 + int(frac.ljust(6, "0") or "0")


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
    is_admin: bool = False  # a workspace admin (users.info)
    is_owner: bool = False  # a workspace owner


@dataclass
class UserGroup:
    """A Slack user group (`@design-leads`): its id (``S…``), handle and members."""

    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


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
    padding: int = 0  # zero bytes served after ``content``: a large file that costs no memory
    reported_size: int | None = None  # what files.info says the size is, when it is to lie
    deleted: bool = False

    @property
    def uploaded(self) -> bool:
        return self.content is not None

    @property
    def scanned(self) -> bool:
        return self.mimetype != ""

    @property
    def served_size(self) -> int:
        """The bytes a download of the file gets: the content and its padding."""
        return (len(self.content) if self.content is not None else 0) + self.padding

    @property
    def size(self) -> int:
        if self.reported_size is not None:
            return self.reported_size
        return self.served_size if self.content is not None else self.length


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
