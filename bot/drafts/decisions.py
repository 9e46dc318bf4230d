"""What people decide with the buttons: upgrade the winner to 2K, break a tie, approve or reject the
review, and retry what failed.

Each is one transaction: read the state, ask :mod:`bot.workflow` what to do, write the change, its audit
event and the jobs it needs together. Publishing happens in jobs, after the commit.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import AuditKind, record, record_for
from bot.cards import draft_card, draft_view, review_facts
from bot.destinations import by_key
from bot.drafts.desk import LOST_RACE, Desk
from bot.drafts.facts import eligible_numbers, shape_refusal, source_chain
from bot.drafts.results import ActionResult, Done
from bot.jobs import JobKind
from bot.publisher import DraftCard
from bot.reviews import ReviewRef, decide_approval, may_also_as, may_reject, may_request_changes
from bot.tiers import Tier
from bot.workflow import (
    APPROVED,
    CHANGES_REQUESTED,
    REJECTED,
    DraftStatus,
    Refusal,
    TieBreakNeeded,
    Upgrade,
    VariantState,
    decide_tie_break,
    decide_upgrade,
    may_cancel,
)
from storage import jobqueue, queries
from storage.models import Draft

log = logging.getLogger(__name__)

ReviewAction = Literal["reject", "request_changes"]

_NO_REVIEW = Refusal("There is no 2K review to approve yet.", "review_not_ready")


class Decisions:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def request_upgrade(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # no vote lands between tally and close
            draft = await desk.draft(session, team_id, draft_id)
            votes = await queries.votes_of(session, team_id, draft_id)
            eligible = await eligible_numbers(session, draft)
            decision = decide_upgrade(
                draft_view(draft), user, votes, await desk.policy_for(session, draft), eligible=eligible
            )
            if isinstance(decision, Refusal):
                return desk.refuse(session, draft, user, "upgrade", decision)
            if isinstance(decision, TieBreakNeeded):
                card = await self._ask_tie_break(session, draft, user, decision)
            else:
                return await self._start_review(session, draft, user, decision)
        await self._tell_tie(card, decision)
        tied = ", ".join(str(n) for n in decision.tie.variants)
        chooses = "choose the one for 2K" if user == card.requester else "the requester chooses"
        return Done(f"Variants {tied} are tied; {chooses} on the draft's message.", draft_id)

    async def _ask_tie_break(
        self, session: AsyncSession, draft: Draft, actor: str, decision: TieBreakNeeded, **why: Any
    ) -> DraftCard:
        """In the caller's transaction: the parent offers the tied variants to the requester (the button's
        tie and the deadline's). Call :meth:`_tell_tie` with the card once committed."""
        draft.tie_asked = True
        await self.desk.enqueue(session, draft, JobKind.REFRESH)
        record(
            session,
            team_id=draft.team_id,
            draft_id=draft.id,
            kind=AuditKind.TIE_BREAK_NEEDED,
            actor=actor,
            tied=decision.tie.variants,
            votes=decision.tie.votes,
            tally=decision.counts,
            **why,
        )
        return await draft_card(session, draft)

    async def _tell_tie(self, card: DraftCard, decision: TieBreakNeeded) -> None:
        self.desk.doorbell.ring()
        try:  # a courtesy: the choice is on the parent whether or not this arrives
            await self.desk.publisher.ask_tie_break(card, decision.tie.variants, decision.tie.votes)
        except Exception:
            log.warning("could not tell the requester of draft %s of the tie", card.draft_id, exc_info=True)

    async def choose_tied(self, *, team_id: str, draft_id: int, user: str, number: int) -> ActionResult:
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # as in request_upgrade
            draft = await desk.draft(session, team_id, draft_id)
            votes = await queries.votes_of(session, team_id, draft_id)
            eligible = await eligible_numbers(session, draft)
            decision = decide_tie_break(
                draft_view(draft),
                user,
                number,
                votes,
                await desk.policy_for(session, draft),
                eligible=eligible,
            )
            if isinstance(decision, Refusal):
                return desk.refuse(session, draft, user, "choose_tied", decision)
            return await self._start_review(session, draft, user, decision)

    async def _start_review(
        self, session: AsyncSession, draft: Draft, user: str, upgrade: Upgrade, **why: Any
    ) -> ActionResult:
        """Close voting and ask for the winner at 2K (the button, a tie's pick, the deadline: ``why``
        goes in the audit)."""
        desk = self.desk
        winner = await queries.get_variant(session, draft.team_id, draft.id, Tier.EXPLORE, upgrade.winner)
        if winner is None:
            raise LookupError(f"draft {draft.id} has no variant {upgrade.winner}")
        if over := await desk.over_budget(session, draft, Tier.REVIEW):
            return desk.refuse(session, draft, user, "upgrade", over)
        if not await desk.advance(
            session,
            draft,
            DraftStatus.VOTING,
            DraftStatus.REVIEWING,
            winner_index=upgrade.winner,
            upgraded_by=user,
            winner_picked=upgrade.chosen_by_requester,
        ):
            return desk.refuse(session, draft, user, "upgrade", LOST_RACE)
        await desk.regenerate(session, draft, winner, Tier.REVIEW)
        record_for(
            session,
            draft,
            AuditKind.UPGRADE_REQUESTED,
            user,
            winner=upgrade.winner,
            tally=upgrade.counts,
            chosen_by_requester=upgrade.chosen_by_requester,
            round=winner.round,
            source_chain=await source_chain(session, winner),
            **why,
        )
        desk.doorbell.ring()
        return Done(
            f"Voting closed. Variant {upgrade.winner} is being regenerated at 2K for review.", draft.id
        )

    async def may_decide(
        self, *, team_id: str, draft_id: int, user: str, action: ReviewAction, pressed: ReviewRef | None
    ) -> Refusal | None:
        """Whether ``user`` may reject or request changes now (before their form opens)."""
        async with self.desk.sessions() as session:
            draft = await self.desk.draft(session, team_id, draft_id)
            view = draft_view(draft, review=await review_facts(session, draft))
            policy = await self.desk.policy_for(session, draft)
        check = may_reject if action == "reject" else may_request_changes
        return check(view, user, policy, pressed=pressed)

    async def card(self, *, team_id: str, draft_id: int) -> DraftCard:
        """The draft as a review form shows it."""
        async with self.desk.sessions() as session:
            return await draft_card(session, await self.desk.draft(session, team_id, draft_id))

    async def approve(
        self, *, team_id: str, draft_id: int, user: str, pressed: ReviewRef | None = None
    ) -> ActionResult:
        """Count ``user``'s approval of the latest review version; the 4K starts once enough distinct
        approvers have approved it (``Policy.required_approvals``)."""
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # approvals are counted one at a time
            draft = await desk.draft(session, team_id, draft_id)
            review = await review_facts(session, draft)
            decision = decide_approval(
                draft_view(draft, review=review),
                user,
                await desk.policy_for(session, draft),
                pressed=pressed,
                approved=review.approvers if review else (),
            )
            if isinstance(decision, Refusal) or review is None:
                return desk.refuse(session, draft, user, "approve", _refusal_or(decision, _NO_REVIEW))
            latest = review.latest
            count = f"{len(decision.approvers)} of {decision.needed} approvals"
            if decision.again:
                return Done(f"You approved review v{latest.version} already ({count}).", draft_id)
            if decision.complete and (over := await desk.over_budget(session, draft, Tier.FINAL)):
                return desk.refuse(session, draft, user, "approve", over)  # not counted: nothing is made
            await queries.add_approval(session, latest, user)
            record_for(
                session,
                draft,
                AuditKind.APPROVED,
                user,
                variant=latest.number,
                version=latest.version,
                approvals=len(decision.approvers),
                required=decision.needed,
            )
            if not decision.complete:
                await desk.enqueue(session, draft, JobKind.REFRESH)
                more = decision.needed - len(decision.approvers)
                done = Done(
                    f"Your approval of review v{latest.version} is in: {count}. The 4K is made after "
                    f"{more} more approver{'s' if more != 1 else ''} approve{'s' if more == 1 else ''}.",
                    draft_id,
                )
            else:
                if not await desk.advance(
                    session, draft, DraftStatus.REVIEWING, DraftStatus.APPROVED, decided_by=user
                ):
                    return desk.refuse(session, draft, user, "approve", LOST_RACE)
                await queries.set_outcome(session, latest.id, APPROVED, by=user)
                await desk.regenerate(session, draft, latest, Tier.FINAL)
                done = Done("Approved. The 4K final is on its way.", draft_id)
        desk.doorbell.ring()
        return done

    async def request_changes(
        self, *, team_id: str, draft_id: int, user: str, feedback: str, pressed: ReviewRef | None = None
    ) -> ActionResult:
        """A new version of the review, made from the latest with ``feedback`` as the edit instruction."""
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)
            draft = await desk.draft(session, team_id, draft_id)
            review = await review_facts(session, draft)
            refusal = may_request_changes(
                draft_view(draft, review=review), user, await desk.policy_for(session, draft), pressed=pressed
            ) or await desk.over_budget(session, draft, Tier.REVIEW)
            if refusal or review is None:
                return desk.refuse(session, draft, user, "request_changes", refusal or _NO_REVIEW)
            latest = review.latest
            if not await queries.set_outcome(session, latest.id, CHANGES_REQUESTED, by=user, reason=feedback):
                return desk.refuse(session, draft, user, "request_changes", LOST_RACE)
            newer = await desk.regenerate(session, draft, latest, Tier.REVIEW, feedback=feedback)
            record_for(
                session,
                draft,
                AuditKind.CHANGES_REQUESTED,
                user,
                variant=latest.number,
                version=latest.version,
                new_version=newer.version,
                feedback=feedback,
            )
        desk.doorbell.ring()
        return Done(
            f"Changes requested. Review v{newer.version} is being made from v{latest.version} "
            "with your feedback.",
            draft_id,
        )

    async def reject(
        self,
        *,
        team_id: str,
        draft_id: int,
        user: str,
        reason: str,
        back_to_voting: bool = False,
        pressed: ReviewRef | None = None,
    ) -> ActionResult:
        """Reject the review, saying why: the draft ends, or goes back to voting on its 1K variants (the
        votes kept, the rejected winner marked)."""
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)
            draft = await desk.draft(session, team_id, draft_id)
            review = await review_facts(session, draft)
            refusal = may_reject(
                draft_view(draft, review=review), user, await desk.policy_for(session, draft), pressed=pressed
            )
            if refusal:
                return desk.refuse(session, draft, user, "reject", refusal)
            if back_to_voting:
                moved = await desk.advance(
                    session,
                    draft,
                    DraftStatus.REVIEWING,
                    DraftStatus.VOTING,
                    vote_deadline=None,  # this voting closes by hand: the team decides what is next
                    winner_index=None,
                    upgraded_by=None,
                    winner_picked=False,
                    tie_asked=False,
                )
            else:
                moved = await desk.advance(
                    session,
                    draft,
                    DraftStatus.REVIEWING,
                    DraftStatus.REJECTED,
                    decided_by=user,
                    decision_reason=reason,
                )
            if not moved:
                return desk.refuse(session, draft, user, "reject", LOST_RACE)
            if review is not None:
                await queries.set_outcome(session, review.latest.id, REJECTED, by=user, reason=reason)
            dropped = await jobqueue.drop_queued(  # a version still to be made is not wanted any more
                session,
                team_id=team_id,
                draft_id=draft_id,
                kinds=[JobKind.GENERATE],
                now=desk.clock(),
                why=f"review rejected by {user}",
            )
            record_for(
                session,
                draft,
                AuditKind.REJECTED,
                user,
                reason=reason,
                back_to_voting=back_to_voting,
                variant=review.latest.number if review else None,
                version=review.latest.version if review else None,
                jobs_dropped=dropped,
            )
            await desk.enqueue(session, draft, JobKind.REFRESH)
        desk.doorbell.ring()
        if back_to_voting:
            return Done(
                "Rejected, and back to voting: the votes cast stay. Vote for another variant and upgrade "
                "it, or start a new round.",
                draft_id,
            )
        return Done("Rejected. No 4K will be made.", draft_id)

    async def also_as(self, *, team_id: str, draft_id: int, user: str, destination_key: str) -> ActionResult:
        """The approved final in another shape, made from it at 4K under the same approval."""
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)
            draft = await desk.draft(session, team_id, draft_id)
            refusal = may_also_as(draft_view(draft), user, await desk.policy_for(session, draft))
            shape = by_key(destination_key)
            finals = await queries.variants_of(session, team_id, draft_id, Tier.FINAL)
            final = next((v for v in finals if v.version == 1 and v.status == VariantState.POSTED), None)
            if refusal is None and (shape is None or final is None):
                refusal = Refusal("I don't know that shape; pick one from the list.", "unknown_shape")
            if refusal is None and shape is not None:
                refusal = shape_refusal(draft, finals, shape) or await desk.over_budget(
                    session, draft, Tier.FINAL, ratio=str(shape.ratio)
                )
            if refusal or shape is None or final is None:
                return desk.refuse(session, draft, user, "also_as", refusal or _NO_REVIEW)
            made = await desk.regenerate(session, draft, final, Tier.FINAL, shape=shape)
            record_for(
                session,
                draft,
                AuditKind.SHAPE_REQUESTED,
                user,
                destination=shape.name,
                ratio=str(shape.ratio),
                version=made.version,
            )
        desk.doorbell.ring()
        return Done(
            f"Making the final also as {shape.ratio} ({shape.name}) at 4K, from the approved final.", draft_id
        )

    async def cancel(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        """Stop a draft that is generating or voting: its queued images are dropped, what was made stays."""
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # no vote or round lands in between
            draft = await desk.draft(session, team_id, draft_id)
            refusal = may_cancel(draft_view(draft), user, await desk.policy_for(session, draft))
            if refusal:
                return desk.refuse(session, draft, user, "cancel", refusal)
            status = DraftStatus(draft.status)
            if not await desk.advance(session, draft, status, DraftStatus.CANCELLED, decided_by=user):
                return desk.refuse(session, draft, user, "cancel", LOST_RACE)
            dropped = await jobqueue.drop_queued(
                session,
                team_id=team_id,
                draft_id=draft_id,
                kinds=[JobKind.GENERATE, JobKind.POST],
                now=desk.clock(),
                why=f"draft cancelled by {user}",
            )
            record_for(session, draft, AuditKind.CANCELLED, user, was=status, jobs_dropped=dropped)
            await desk.enqueue(session, draft, JobKind.REFRESH)
        desk.doorbell.ring()
        return Done("Cancelled. The images already made stay in the thread.", draft_id)


def _refusal_or(decision: object, fallback: Refusal) -> Refusal:
    return decision if isinstance(decision, Refusal) else fallback
