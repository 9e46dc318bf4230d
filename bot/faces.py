"""What each message in a draft's thread offers, as a function of the draft's state. Pure: no Slack, no SQL.

The rule every control follows: a message's :class:`Face` is computed from the draft card; the publisher
renders the message from it, the database keeps the face it was last rendered with, and whenever the draft
moves on so that a face changes, the message is updated. A button therefore only exists while pressing it
can work, and the message then says what happened instead ("Approved by @kim — 4K final below").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.publisher import DraftCard, ThreadMessage
from bot.tiers import Tier
from bot.workflow import DraftStatus, VariantState


class Offer(StrEnum):
    # a 1K variant
    VOTE = "vote"  # react to vote for it; More like this
    VOTE_ONLY = "vote_only"  # react to vote for it (the draft has no room for another round)
    PICKED = "picked"  # it went to 2K
    NOT_PICKED = "not_picked"  # voting closed and another went to 2K
    VOTING_OVER = "voting_over"  # voting closed without a winner (cancelled, failed)
    # the 2K review
    REVIEW = "review"  # Approve / Reject
    APPROVED = "approved"  # approved; the 4K is being made
    FINAL_BELOW = "final_below"  # approved; the 4K is posted
    FINAL_FAILED = "final_failed"  # approved; the 4K failed (Retry on the notice and the parent)
    REJECTED = "rejected"
    REVIEW_OVER = "review_over"  # cancelled or otherwise ended
    # the 4K final
    FINAL = "final"
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

    @property
    def key(self) -> str:
        """What the database keeps: the message is updated when this changes."""
        return ":".join([self.offer, self.actor or "", str(self.winner or "")])


_VOTING = (DraftStatus.GENERATING, DraftStatus.VOTING)


def face_of(card: DraftCard, message: ThreadMessage) -> Face:
    if message.image is None:
        return _notice_face(card, message)
    if message.tier is Tier.EXPLORE:
        return _variant_face(card, message.number)
    if message.tier is Tier.REVIEW:
        return _review_face(card)
    return Face(Offer.FINAL)


def _variant_face(card: DraftCard, number: int) -> Face:
    if card.status in _VOTING:
        return Face(Offer.VOTE if card.explorable else Offer.VOTE_ONLY)
    if card.winner is None:
        return Face(Offer.VOTING_OVER)
    actor = card.upgraded_by if card.winner_picked else None
    if card.winner == number:
        return Face(Offer.PICKED, actor, card.winner)
    return Face(Offer.NOT_PICKED, None, card.winner)


def _review_face(card: DraftCard) -> Face:
    status = card.status
    if status is DraftStatus.REVIEWING:
        return Face(Offer.REVIEW)
    if status is DraftStatus.APPROVED:
        return Face(Offer.APPROVED, card.decided_by)
    if status is DraftStatus.FINAL:
        return Face(Offer.FINAL_BELOW, card.decided_by)
    if status is DraftStatus.REJECTED:
        return Face(Offer.REJECTED, card.decided_by)
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


__all__ = ["Face", "Offer", "face_of"]
