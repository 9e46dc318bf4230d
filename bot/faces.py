"""What each message in a draft's thread offers, as a function of the draft's state. Pure: no Slack, no SQL.

The rule every control follows: a message's :class:`Face` is computed from the draft card; the publisher
renders the message from it, the database keeps the face it was last rendered with, and whenever the draft
moves on so that a face changes, the message is updated. A button therefore only exists while pressing it
can work, and the message then says what happened instead ("Approved by @kim — 4K final below").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from bot.destinations import CATALOG
from bot.publisher import DraftCard, ThreadMessage
from bot.tiers import Tier
from bot.workflow import CHANGES_REQUESTED, REJECTED, DraftStatus, VariantState


class Offer(StrEnum):
    # a 1K variant
    VOTE = "vote"  # react to vote for it; More like this
    VOTE_ONLY = "vote_only"  # react to vote for it (the draft has no room for another round)
    PICKED = "picked"  # it went to 2K
    NOT_PICKED = "not_picked"  # voting closed and another went to 2K
    VOTING_OVER = "voting_over"  # voting closed without a winner (cancelled, failed)
    REJECTED_AT_REVIEW = "rejected_at_review"  # voting again after its 2K review was rejected
    # the 2K review
    REVIEW = "review"  # Approve / Request changes / Reject (and who approved, when several must)
    CHANGES_REQUESTED = "changes_requested"  # a newer version answers its feedback (or is on its way)
    APPROVED = "approved"  # approved; the 4K is being made
    FINAL_BELOW = "final_below"  # approved; the 4K is posted
    FINAL_FAILED = "final_failed"  # approved; the 4K failed (Retry on the notice and the parent)
    REJECTED = "rejected"  # and the draft ended
    REJECTED_BACK = "rejected_back"  # and the draft went back to voting
    REVIEW_OVER = "review_over"  # cancelled or otherwise ended
    # the 4K final
    FINAL = "final"  # and Also as… other shapes, while there are any left to make
    SHAPE = "shape"  # the final in another shape
    # the notice of a lost image
    RETRY_IMAGE = "retry_image"  # this 1K variant can be made again on its own
    RETRY_DRAFT = "retry_draft"  # the draft failed; Retry takes it back to the stage that failed
    LOST = "lost"  # nothing to retry (refused at 1K, or the draft went on without it)
    RETRYING = "retrying"  # on its way again
    RECOVERED = "recovered"  # made on another try; posted below


@dataclass(frozen=True)
class Face:
    offer: Offer
    actor: str | None = None  # who decided, where the face names them
    winner: int | None = None
    # What else the face shows that may change: who approved so far, the shapes still offered, the
    # version that replaced it. Only its digest is kept (the column is short).
    detail: str = ""

    @property
    def key(self) -> str:
        """What the database keeps: the message is updated when this changes."""
        parts = [self.offer, self.actor or "", str(self.winner or "")]
        if self.detail:
            parts.append(hashlib.sha256(self.detail.encode()).hexdigest()[:12])
        return ":".join(parts)


_VOTING = (DraftStatus.GENERATING, DraftStatus.VOTING)


def face_of(card: DraftCard, message: ThreadMessage) -> Face:
    if message.image is None:
        return _notice_face(card, message)
    if message.tier is Tier.EXPLORE:
        return _variant_face(card, message.number)
    if message.tier is Tier.REVIEW:
        return _review_face(card, message)
    if message.version > 1:
        return Face(Offer.SHAPE)
    left = shapes_left(card)
    return Face(Offer.FINAL, detail=",".join(left)) if card.status is DraftStatus.FINAL else Face(Offer.FINAL)


def shapes_left(card: DraftCard) -> tuple[str, ...]:
    """The destination keys "Also as…" still offers: the other shapes, but for those made or on their way."""
    seen = {card.ratio, *(str(d.ratio) for d in CATALOG if d.key in card.shapes)}
    left = []
    for destination in CATALOG:
        if str(destination.ratio) in seen:
            continue
        seen.add(str(destination.ratio))
        left.append(destination.key)
    return tuple(left)


def _variant_face(card: DraftCard, number: int) -> Face:
    if card.status in _VOTING:
        if number in card.rejected:
            who, why = card.rejected[number]
            return Face(Offer.REJECTED_AT_REVIEW, who, detail=why)
        return Face(Offer.VOTE if card.explorable else Offer.VOTE_ONLY)
    if card.winner is None:
        return Face(Offer.VOTING_OVER)
    actor = card.upgraded_by if card.winner_picked else None
    if card.winner == number:
        return Face(Offer.PICKED, actor, card.winner)
    return Face(Offer.NOT_PICKED, None, card.winner)


def _review_face(card: DraftCard, message: ThreadMessage) -> Face:
    image = message.image
    if image is not None and image.outcome == CHANGES_REQUESTED:
        # what became of the version that answers it: on its way, below, or lost
        newer = "" if card.review_id == message.variant_id else f"v{card.review_version}"
        state = card.review_state if newer else VariantState.PENDING
        return Face(Offer.CHANGES_REQUESTED, image.outcome_by, detail=f"{newer}:{state}")
    if image is not None and image.outcome == REJECTED:
        ended = card.status is DraftStatus.REJECTED and message.variant_id == card.review_id
        offer = Offer.REJECTED if ended else Offer.REJECTED_BACK
        return Face(offer, image.outcome_by, detail=image.outcome_reason or "")
    if message.variant_id != card.review_id:
        return Face(Offer.REVIEW_OVER)
    status = card.status
    if status is DraftStatus.REVIEWING:
        return Face(Offer.REVIEW, detail=",".join(card.approvals))
    approvers = ",".join(card.approvals)
    if status is DraftStatus.APPROVED:
        return Face(Offer.APPROVED, card.decided_by, detail=approvers)
    if status is DraftStatus.FINAL:
        return Face(Offer.FINAL_BELOW, card.decided_by, detail=approvers)
    if status is DraftStatus.REJECTED:
        return Face(Offer.REJECTED, card.decided_by, detail=card.decision_reason or "")
    if status is DraftStatus.FAILED and card.decided_by:
        return Face(Offer.FINAL_FAILED, card.decided_by)
    return Face(Offer.REVIEW_OVER)


def _notice_face(card: DraftCard, message: ThreadMessage) -> Face:
    state = message.state
    if state is VariantState.POSTED:
        return Face(Offer.RECOVERED)
    if state in (VariantState.PENDING, VariantState.GENERATED):
        # on its way again, unless the draft ended meanwhile (cancelled): then it never comes
        return Face(Offer.LOST) if card.status.is_terminal else Face(Offer.RETRYING)
    if card.status is DraftStatus.FAILED and _retried_by_draft(card, message):
        return Face(Offer.RETRY_DRAFT)
    if message.tier is Tier.EXPLORE and state is VariantState.FAILED and card.status in _VOTING:
        return Face(Offer.RETRY_IMAGE)
    return Face(Offer.LOST)


def _retried_by_draft(card: DraftCard, message: ThreadMessage) -> bool:
    """Whether the draft's Retry would make this image again (as :func:`bot.workflow.decide_retry` plans)."""
    if message.tier is not Tier.EXPLORE:
        return True  # a failed or refused 2K/4K is what failed the draft
    return message.state is VariantState.FAILED and card.ready == 0


__all__ = ["Face", "Offer", "face_of", "shapes_left"]
