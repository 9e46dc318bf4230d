"""Where drafts are shown. The service talks to a :class:`Publisher`; Slack is one, a recorder is another.

Cards are plain snapshots built from the database, so a publisher needs no session and a retry
always shows the newest state.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.tiers import Size, Tier
from bot.workflow import DraftStatus


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str
    file_id: str | None = None


@dataclass(frozen=True)
class DraftCard:
    """What the parent message says about a draft."""

    draft_id: int
    team_id: str
    channel_id: str
    requester: str
    prompt: str
    destination: str
    ratio: str
    status: DraftStatus
    n_variants: int
    ready: int  # 1K variants posted
    unavailable: int  # 1K variants failed or refused
    tally: Mapping[int, int] = field(default_factory=dict)
    winner: int | None = None
    hints: tuple[str, ...] = ()
    failure_reason: str | None = None
    parent: MessageRef | None = None

    @property
    def progress(self) -> str:
        text = f"{self.ready}/{self.n_variants} variants ready"
        return f"{text} ({self.unavailable} unavailable)" if self.unavailable else text


@dataclass(frozen=True)
class ImageCard:
    """One image message in the thread: a 1K variant, the 2K review or the 4K final."""

    draft_id: int
    number: int
    tier: Tier
    size: Size
    bytes: int
    content_type: str
    filename: str
    seed: int
    provider: str
    model: str
    notes: tuple[str, ...] = ()


class Publisher(Protocol):
    async def post_parent(self, card: DraftCard, *, retry: bool = False) -> MessageRef:
        """Post the draft's parent message in the channel. Variants go in its thread.

        ``retry``: an earlier attempt may have posted it already (the worker died before recording
        that); look for that post first rather than posting twice."""
        ...

    async def update_parent(self, card: DraftCard) -> None: ...

    async def post_image(
        self, draft: DraftCard, image: ImageCard, data: bytes, *, retry: bool = False
    ) -> MessageRef:
        """Post one image in the thread. ``retry`` as for :meth:`post_parent`."""
        ...

    async def invite_votes(self, image: MessageRef) -> None:
        """Make voting on a posted 1K variant one click (in Slack: the bot's own vote emoji on it).
        Called once the variant's message is recorded, so a reaction always finds its variant."""
        ...

    async def post_notice(self, draft: DraftCard, text: str) -> None:
        """A plain message in the draft's thread (a refusal, a failure, a decision)."""
        ...

    async def ask_tie_break(self, draft: DraftCard, tied: tuple[int, ...], votes: int) -> None:
        """Ask the requester to choose among the tied variants."""
        ...

    async def tell_user(self, draft: DraftCard, user: str, text: str) -> None:
        """A message only ``user`` sees (e.g. why their approval did not count)."""
        ...


@dataclass
class Recorded:
    kind: str
    draft_id: int
    detail: dict[str, object]


class RecordingPublisher:
    """Keeps everything it is asked to publish. Used by the service tests and `draftbot demo`."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []
        self.images: dict[tuple[int, Tier, int], tuple[ImageCard, bytes]] = {}
        self._ts = itertools.count(1)

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def of_kind(self, kind: str) -> list[Recorded]:
        return [r for r in self.records if r.kind == kind]

    async def post_parent(self, card: DraftCard, *, retry: bool = False) -> MessageRef:
        ref = MessageRef(card.channel_id, self._next_ts())
        self.records.append(Recorded("parent", card.draft_id, {"status": card.status, "ts": ref.ts}))
        return ref

    async def update_parent(self, card: DraftCard) -> None:
        detail: dict[str, object] = {
            "status": card.status,
            "progress": card.progress,
            "tally": dict(card.tally),
        }
        self.records.append(Recorded("parent_update", card.draft_id, detail))

    async def post_image(
        self, draft: DraftCard, image: ImageCard, data: bytes, *, retry: bool = False
    ) -> MessageRef:
        key = (draft.draft_id, image.tier, image.number)
        self.images[key] = (image, data)
        ref = MessageRef(draft.channel_id, self._next_ts(), file_id=f"F{len(self.images):08d}")
        detail: dict[str, object] = {"tier": image.tier, "number": image.number, "size": image.size}
        self.records.append(Recorded("image", draft.draft_id, detail | {"ts": ref.ts}))
        return ref

    async def invite_votes(self, image: MessageRef) -> None:
        self.records.append(Recorded("invite_votes", 0, {"ts": image.ts}))

    async def post_notice(self, draft: DraftCard, text: str) -> None:
        self.records.append(Recorded("notice", draft.draft_id, {"text": text}))

    async def ask_tie_break(self, draft: DraftCard, tied: tuple[int, ...], votes: int) -> None:
        self.records.append(Recorded("tie_break", draft.draft_id, {"tied": tied, "votes": votes}))

    async def tell_user(self, draft: DraftCard, user: str, text: str) -> None:
        self.records.append(Recorded("ephemeral", draft.draft_id, {"user": user, "text": text}))


__all__ = ["DraftCard", "DraftStatus", "ImageCard", "MessageRef", "Publisher", "RecordingPublisher"]
