"""Where drafts are shown. The service talks to a :class:`Publisher`; Slack is one, a recorder is another.

Cards are plain snapshots built from the database, so a publisher needs no session and a retry
always shows the newest state.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.tiers import Size, Tier
from bot.workflow import DraftStatus, VariantState

if TYPE_CHECKING:
    from bot.faces import Face


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str
    file_id: str | None = None


@dataclass(frozen=True)
class DraftCard:
    """What the parent message says about a draft, and the thread messages whose look follows it."""

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
    failed: int = 0  # 1K variants that could not be made
    refused: int = 0  # 1K variants refused by the provider's safety system
    tally: Mapping[int, int] = field(default_factory=dict)
    votes: Mapping[str, int] = field(default_factory=dict)  # each voter's variant
    winner: int | None = None
    upgraded_by: str | None = None
    winner_picked: bool = False  # the requester chose the winner among tied variants
    decided_by: str | None = None  # who approved or rejected the 2K review
    tie_asked: bool = False  # the requester was asked to break a tie
    hints: tuple[str, ...] = ()
    failure_reason: str | None = None
    parent: MessageRef | None = None
    messages: tuple[ThreadMessage, ...] = ()
    rounds: tuple[RoundCard, ...] = ()
    explorable: bool = True  # another round still fits the draft's limits
    # The review: the latest 2K version (its variant id and version), who approved it, how many must.
    review_id: int | None = None
    review_version: int | None = None
    review_state: VariantState | None = None  # the latest version: on its way, posted, or lost
    versions_left: bool = True  # another version still fits DRAFTBOT_MAX_REVIEW_VERSIONS
    approvals: tuple[str, ...] = ()
    required_approvals: int = 1
    decision_reason: str | None = None  # why the review was rejected
    # 1K variants whose review was rejected back to voting: number -> (who, why).
    rejected: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    # Destination keys of the finals made or on their way in other shapes (Also as…).
    shapes: tuple[str, ...] = ()
    destination_key: str | None = None
    brand_notes: str | None = None  # the channel's, added to every prompt of the draft
    vote_deadline: datetime | None = None  # when voting closes by itself (`--vote`), if it does
    closed_by_deadline: bool = False  # the deadline, not a person, sent the winner to 2K
    final_estimate_usd: float = 0.0  # what the 4K would cost (on the Approve button when it costs anything)

    def round_of(self, number: int) -> RoundCard | None:
        return next((r for r in self.rounds if r.first <= number < r.first + r.size), None)

    @property
    def posted(self) -> tuple[int, ...]:
        """The numbers of the 1K variants in the thread."""
        return tuple(sorted(m.number for m in self.messages if m.tier is Tier.EXPLORE and m.image))

    @property
    def unavailable(self) -> int:
        return self.failed + self.refused

    @property
    def progress(self) -> str:
        """Exactly where the 1K variants are: "6/8 ready · 1 failed (Retry in the thread) · 1 refused"."""
        parts = [f"{self.ready}/{self.n_variants} ready"]
        if self.failed:
            retry = self.status in (DraftStatus.GENERATING, DraftStatus.VOTING)
            parts.append(f"{self.failed} failed" + (" (Retry in the thread)" if retry else ""))
        if self.refused:
            parts.append(f"{self.refused} refused")
        return " · ".join(parts)


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
    round: int = 1
    source: int | None = None  # the 1K variant it was made from (More like this)
    version: int = 1  # a review's version (v2 after Request changes); a final's shape (2…: Also as…)
    feedback: str | None = None  # the change request a review version answers
    outcome: str | None = None  # what became of a review: changes_requested, rejected
    outcome_by: str | None = None
    outcome_reason: str | None = None
    drift: float | None = None  # how far its composition moved from the 1K it came from (0–1)
    drifted: bool = False  # beyond the configured threshold
    compare_file: str | None = None  # a side-by-side shown with it
    compare_label: str | None = None  # what the side-by-side compares ("v1", "1K #2")
    shape: str | None = None  # a final in another shape: its destination's name


@dataclass(frozen=True)
class RoundCard:
    """One round of 1K variants: who started it, why, with which prompt, from which variant."""

    number: int
    reason: str
    prompt: str
    started_by: str
    first: int
    size: int
    source: int | None = None
    sheet_file: str | None = None  # its contact sheet, once it settled
    sheet_numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class ThreadMessage:
    """A message in the draft's thread about one image: the image itself, or the notice that it was lost."""

    variant_id: int
    tier: Tier
    number: int
    state: VariantState
    image: ImageCard | None  # None: the notice of a lost image
    reason: str | None = None  # why it was lost (a notice)
    ref: MessageRef | None = None  # where it is, once posted
    shown: str | None = field(default=None, compare=False)  # the face it was last rendered with
    version: int = 1


@dataclass(frozen=True)
class ReminderCard:
    """The one reminder in the thread that a 2K review waits for a decision."""

    number: int  # the variant the review is of
    version: int  # its review version (1 unless changes were requested)
    mention: tuple[str, ...]  # Slack user ids: the approvers, or the requester when anyone may approve
    anyone: bool  # no approvers configured: any teammate may approve
    waited: str  # how long it has waited, in words ("1 day")
    review: MessageRef | None = None  # the review's message


class Publisher(Protocol):
    """Every message about a draft. Messages with controls are rendered from a :class:`bot.faces.Face`:
    :meth:`update_message` re-renders one when the draft moved on and its face changed."""

    async def post_parent(self, card: DraftCard, *, retry: bool = False) -> MessageRef:
        """Post the draft's parent message in the channel. Variants go in its thread.

        ``retry``: an earlier attempt may have posted it already (the worker died before recording
        that); look for that post first rather than posting twice."""
        ...

    async def update_parent(self, card: DraftCard) -> None: ...

    async def post_image(
        self, draft: DraftCard, image: ImageCard, data: bytes, face: Face, *, retry: bool = False
    ) -> MessageRef:
        """Post one image in the thread. ``retry`` as for :meth:`post_parent`."""
        ...

    async def post_loss(
        self, draft: DraftCard, message: ThreadMessage, face: Face, *, retry: bool = False
    ) -> MessageRef:
        """Say in the thread that an image was lost, and why. ``retry`` as for :meth:`post_parent`."""
        ...

    async def update_message(self, draft: DraftCard, message: ThreadMessage, face: Face) -> None:
        """Show ``face`` on a posted image or notice: its controls and what happened."""
        ...

    async def upload_sheet(self, draft: DraftCard, round_number: int, data: bytes) -> str:
        """Upload a round's contact sheet (JPEG) privately, for the parent to show; its file id."""
        ...

    async def upload_compare(self, draft: DraftCard, image: ImageCard, data: bytes) -> str:
        """Upload the side-by-side shown with ``image`` (JPEG) privately, for its message; its file id."""
        ...

    async def invite_votes(self, draft: DraftCard, image: MessageRef) -> None:
        """Make voting on a posted 1K variant one click (in Slack: the bot's own vote emoji on it).
        Called once the variant's message is recorded, so a reaction always finds its variant."""
        ...

    async def ask_tie_break(self, draft: DraftCard, tied: tuple[int, ...], votes: int) -> None:
        """Tell the requester in the thread that the variants are tied (the choice is on the parent)."""
        ...

    async def tell_user(self, draft: DraftCard, user: str, text: str) -> None:
        """A message only ``user`` sees (e.g. why their approval did not count)."""
        ...

    async def post_reminder(
        self, draft: DraftCard, reminder: ReminderCard, *, retry: bool = False
    ) -> MessageRef:
        """Remind the approvers in the thread that a 2K review waits for them. ``retry`` as for
        :meth:`post_parent`."""
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
        self.images: dict[tuple[int, Tier, int], tuple[ImageCard, bytes]] = {}  # the latest version
        self.versions: dict[tuple[int, Tier, int, int], tuple[ImageCard, bytes]] = {}
        self.sheets: dict[tuple[int, int], bytes] = {}
        self.compares: dict[tuple[int, Tier, int, int], bytes] = {}
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
        self, draft: DraftCard, image: ImageCard, data: bytes, face: Face, *, retry: bool = False
    ) -> MessageRef:
        key = (draft.draft_id, image.tier, image.number)
        self.images[key] = (image, data)
        self.versions[(*key, image.version)] = (image, data)
        ref = MessageRef(draft.channel_id, self._next_ts(), file_id=f"F{len(self.images):08d}")
        detail: dict[str, object] = {
            "tier": image.tier,
            "number": image.number,
            "version": image.version,
            "size": image.size,
        }
        self.records.append(Recorded("image", draft.draft_id, detail | {"ts": ref.ts, "face": face.key}))
        return ref

    async def post_loss(
        self, draft: DraftCard, message: ThreadMessage, face: Face, *, retry: bool = False
    ) -> MessageRef:
        ref = MessageRef(draft.channel_id, self._next_ts())
        detail: dict[str, object] = {"tier": message.tier, "number": message.number, "text": message.reason}
        self.records.append(Recorded("notice", draft.draft_id, detail | {"ts": ref.ts, "face": face.key}))
        return ref

    async def update_message(self, draft: DraftCard, message: ThreadMessage, face: Face) -> None:
        detail: dict[str, object] = {"tier": message.tier, "number": message.number, "face": face.key}
        self.records.append(Recorded("message_update", draft.draft_id, detail))

    async def upload_sheet(self, draft: DraftCard, round_number: int, data: bytes) -> str:
        self.sheets[(draft.draft_id, round_number)] = data
        self.records.append(Recorded("sheet", draft.draft_id, {"round": round_number, "bytes": len(data)}))
        return f"FSHEET{draft.draft_id}R{round_number}"

    async def upload_compare(self, draft: DraftCard, image: ImageCard, data: bytes) -> str:
        self.compares[(draft.draft_id, image.tier, image.number, image.version)] = data
        detail: dict[str, object] = {"tier": image.tier, "version": image.version, "bytes": len(data)}
        self.records.append(Recorded("compare", draft.draft_id, detail))
        return f"FCMP{draft.draft_id}{image.tier}V{image.version}"

    async def invite_votes(self, draft: DraftCard, image: MessageRef) -> None:
        self.records.append(Recorded("invite_votes", 0, {"ts": image.ts}))

    async def ask_tie_break(self, draft: DraftCard, tied: tuple[int, ...], votes: int) -> None:
        self.records.append(Recorded("tie_break", draft.draft_id, {"tied": tied, "votes": votes}))

    async def tell_user(self, draft: DraftCard, user: str, text: str) -> None:
        self.records.append(Recorded("ephemeral", draft.draft_id, {"user": user, "text": text}))

    async def post_reminder(
        self, draft: DraftCard, reminder: ReminderCard, *, retry: bool = False
    ) -> MessageRef:
        ref = MessageRef(draft.channel_id, self._next_ts())
        detail: dict[str, object] = {
            "number": reminder.number,
            "version": reminder.version,
            "mention": reminder.mention,
            "anyone": reminder.anyone,
            "retry": retry,
        }
        self.records.append(Recorded("reminder", draft.draft_id, detail | {"ts": ref.ts}))
        return ref


__all__ = [
    "DraftCard",
    "DraftStatus",
    "ImageCard",
    "MessageRef",
    "Publisher",
    "RecordingPublisher",
    "ReminderCard",
    "RoundCard",
    "ThreadMessage",
]
