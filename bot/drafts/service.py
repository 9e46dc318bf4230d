"""What people do to drafts: ask for one, vote, upgrade, break a tie, approve, reject.

Each action is one transaction: read the state, ask :mod:`bot.workflow` what to do, write the change,
its audit event and the jobs it needs together. Publishing happens in jobs, after the commit. A vote is
counted by :mod:`bot.drafts.votes`.
"""

from __future__ import annotations

import logging
import random
from collections import Counter

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import AuditKind, record, record_for
from bot.cards import draft_card, draft_view
from bot.command import DraftRequest
from bot.drafts.moves import move_draft
from bot.drafts.results import ActionResult, Done
from bot.drafts.votes import Ballot, ReactionEvent, same_emoji
from bot.errors import UnknownDraft
from bot.jobs import Doorbell, JobKind, enqueue, enqueue_many
from bot.publisher import Publisher
from bot.tiers import Tier
from bot.workflow import (
    DraftStatus,
    Policy,
    Refusal,
    TieBreakNeeded,
    Upgrade,
    VariantState,
    VoteDecision,
    decide_retry,
    decide_tie_break,
    decide_upgrade,
    may_approve,
    may_reject,
)
from storage import queries
from storage.models import Draft, Variant

log = logging.getLogger(__name__)


class DraftService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        doorbell: Doorbell,
        publisher: Publisher,
        policy: Policy,
        *,
        max_attempts: int,
        vote_emoji: str,
        approve_emoji: str,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.doorbell = doorbell
        self.max_attempts = max_attempts
        self.publisher = publisher
        self.policy = policy
        self.vote_emoji = vote_emoji
        self.approve_emoji = approve_emoji
        self._rng = rng or random.SystemRandom()
        self._ballot = Ballot(sessions, doorbell, max_attempts=max_attempts)

    # --- a new draft -------------------------------------------------------------------------------

    async def create_draft(
        self, *, team_id: str, channel_id: str, requester: str, request: DraftRequest, command_text: str
    ) -> int:
        """Store the draft, its variants and every job they need, in one transaction."""
        base_seed = (
            request.seed if request.seed is not None else self._rng.randrange(0, 2**31 - request.n_variants)
        )
        async with self.sessions.begin() as session:
            draft = Draft(
                team_id=team_id,
                channel_id=channel_id,
                requester_id=requester,
                prompt=request.prompt,
                destination_key=request.destination.key if request.destination else None,
                destination_name=request.destination_name,
                ratio=str(request.ratio),
                output_format=request.format.value,
                safe_zone=request.safe_zone.value,
                n_variants=request.n_variants,
                base_seed=base_seed,
                status=DraftStatus.GENERATING,
                hints=list(request.hints),
            )
            session.add(draft)
            await session.flush()
            numbers = range(1, request.n_variants + 1)
            variants = [
                {
                    "team_id": team_id,
                    "draft_id": draft.id,
                    "tier": Tier.EXPLORE,
                    "number": number,
                    "seed": base_seed + number - 1,
                    "status": VariantState.PENDING,
                }
                for number in numbers
            ]
            await session.execute(insert(Variant), variants)  # one statement: the ack waits for this commit
            record_for(
                session,
                draft,
                AuditKind.COMMAND,
                requester,
                text=command_text,
                channel=channel_id,
                prompt=request.prompt,
                destination=request.destination_name,
                ratio=str(request.ratio),
                n=request.n_variants,
                seed=base_seed,
                format=request.format,
                hints=request.hints,
            )
            generate = [(JobKind.GENERATE, {"tier": str(Tier.EXPLORE), "number": n}) for n in numbers]
            await enqueue_many(
                session, draft, [(JobKind.ANNOUNCE, {}), *generate], max_attempts=self.max_attempts
            )
        self.doorbell.ring()
        return draft.id

    async def reject_input(self, *, team_id: str, user: str, text: str, reason: str) -> None:
        """A command we could not parse: the person is told, the trail keeps it."""
        async with self.sessions.begin() as session:
            record(
                session, team_id=team_id, kind=AuditKind.INPUT_REJECTED, actor=user, text=text, reason=reason
            )

    # --- votes -------------------------------------------------------------------------------------

    async def reaction_added(
        self, event: ReactionEvent, *, bot_user: str | None
    ) -> VoteDecision | ActionResult | None:
        """A reaction on one of our messages: a vote on a 1K variant, or an approval on the 2K review."""
        async with self.sessions() as session:
            variant = await queries.variant_by_message(session, event.team_id, event.channel, event.ts)
        if variant is None:
            return None
        user = event.user
        if variant.tier == Tier.REVIEW and same_emoji(event.emoji, self.approve_emoji) and user != bot_user:
            result = await self.approve(team_id=event.team_id, draft_id=variant.draft_id, user=user)
            if isinstance(result, Refusal) and result.code != "wrong_status":
                await self._tell(event.team_id, variant.draft_id, user, result.reason)  # no response_url here
            return result
        if variant.tier != Tier.EXPLORE or not same_emoji(event.emoji, self.vote_emoji):
            return None
        return await self._ballot.count(event, variant, bot_user=bot_user, adding=True)

    async def reaction_removed(self, event: ReactionEvent, *, bot_user: str | None) -> VoteDecision | None:
        async with self.sessions() as session:
            variant = await queries.variant_by_message(session, event.team_id, event.channel, event.ts)
        if variant is None or variant.tier != Tier.EXPLORE or not same_emoji(event.emoji, self.vote_emoji):
            return None
        return await self._ballot.count(event, variant, bot_user=bot_user, adding=False)

    # --- upgrade to 2K -----------------------------------------------------------------------------

    async def request_upgrade(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        async with self.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # no vote lands between tally and close
            draft = await self._draft(session, team_id, draft_id)
            votes = await queries.votes_of(session, team_id, draft_id)
            eligible = await self._posted_numbers(session, draft)
            decision = decide_upgrade(draft_view(draft), user, votes, self.policy, eligible=eligible)
            if isinstance(decision, Refusal):
                return self._refuse(session, draft, user, "upgrade", decision)
            if isinstance(decision, TieBreakNeeded):
                record(
                    session,
                    team_id=team_id,
                    draft_id=draft_id,
                    kind=AuditKind.TIE_BREAK_NEEDED,
                    actor=user,
                    tied=decision.tie.variants,
                    votes=decision.tie.votes,
                    tally=decision.counts,
                )
                card = await draft_card(session, draft)
            else:
                return await self._start_review(session, draft, user, decision)
        await self.publisher.ask_tie_break(card, decision.tie.variants, decision.tie.votes)
        tied = ", ".join(str(n) for n in decision.tie.variants)
        return Done(f"Variants {tied} are tied; choose one in the thread.", draft_id)

    async def choose_tied(self, *, team_id: str, draft_id: int, user: str, number: int) -> ActionResult:
        async with self.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # as in request_upgrade
            draft = await self._draft(session, team_id, draft_id)
            votes = await queries.votes_of(session, team_id, draft_id)
            eligible = await self._posted_numbers(session, draft)
            decision = decide_tie_break(
                draft_view(draft), user, number, votes, self.policy, eligible=eligible
            )
            if isinstance(decision, Refusal):
                return self._refuse(session, draft, user, "choose_tied", decision)
            return await self._start_review(session, draft, user, decision)

    async def _start_review(
        self, session: AsyncSession, draft: Draft, user: str, upgrade: Upgrade
    ) -> ActionResult:
        winner = await queries.get_variant(session, draft.team_id, draft.id, Tier.EXPLORE, upgrade.winner)
        if winner is None:
            raise LookupError(f"draft {draft.id} has no variant {upgrade.winner}")
        if not await self._advance(
            session, draft, DraftStatus.VOTING, DraftStatus.REVIEWING, winner_index=upgrade.winner
        ):
            return self._refuse(session, draft, user, "upgrade", _LOST_RACE)
        await self._regenerate(session, draft, winner, Tier.REVIEW)
        record_for(
            session,
            draft,
            AuditKind.UPGRADE_REQUESTED,
            user,
            winner=upgrade.winner,
            tally=upgrade.counts,
            chosen_by_requester=upgrade.chosen_by_requester,
        )
        self.doorbell.ring()
        return Done(
            f"Voting closed. Variant {upgrade.winner} is being regenerated at 2K for review.", draft.id
        )

    # --- approval ----------------------------------------------------------------------------------

    async def approve(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        async with self.sessions.begin() as session:
            draft = await self._draft(session, team_id, draft_id)
            review = await self._review(session, draft)
            ready = review is not None and review.status == VariantState.POSTED
            refusal = may_approve(draft_view(draft, review_ready=ready), user, self.policy)
            if refusal or review is None:
                return self._refuse(session, draft, user, "approve", refusal or _NO_REVIEW)
            if not await self._advance(session, draft, DraftStatus.REVIEWING, DraftStatus.APPROVED):
                return self._refuse(session, draft, user, "approve", _LOST_RACE)
            await self._regenerate(session, draft, review, Tier.FINAL)
            record_for(session, draft, AuditKind.APPROVED, user, variant=review.number)
        self.doorbell.ring()
        return Done("Approved. The 4K final is on its way.", draft_id)

    async def retry(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        """Make again what failed (variants, the 2K review or the 4K final) after the provider recovered."""
        async with self.sessions.begin() as session:
            draft = await self._draft(session, team_id, draft_id)
            images = await queries.variants_of(session, team_id, draft_id)
            failed = Counter(v.tier for v in images if v.status == VariantState.FAILED)
            refused = Counter(v.tier for v in images if v.status == VariantState.REFUSED)
            plan = decide_retry(
                draft_view(draft),
                user,
                self.policy,
                failed=failed,
                refused=refused,
                announced=bool(draft.parent_ts),
            )
            if isinstance(plan, Refusal):
                return self._refuse(session, draft, user, "retry", plan)
            if not await self._advance(session, draft, DraftStatus.FAILED, plan.status, failure_reason=None):
                return self._refuse(session, draft, user, "retry", _LOST_RACE)
            again = [v for v in images if v.tier == plan.tier and v.status in _RETRIABLE[Tier(plan.tier)]]
            for image in again:
                if image.status != VariantState.PENDING:
                    await queries.set_variant(
                        session, image.id, image.status, status=VariantState.PENDING, error=None
                    )
            jobs = [(JobKind.GENERATE, {"tier": image.tier, "number": image.number}) for image in again]
            if not draft.parent_ts:  # the parent was never posted: post it first
                jobs.insert(0, (JobKind.ANNOUNCE, {}))
            await enqueue_many(session, draft, jobs, max_attempts=self.max_attempts)
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
            record_for(
                session, draft, AuditKind.RETRIED, user, tier=plan.tier, images=[v.number for v in again]
            )
        self.doorbell.ring()
        return Done("Trying again.", draft_id)

    async def reject(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        async with self.sessions.begin() as session:
            draft = await self._draft(session, team_id, draft_id)
            refusal = may_reject(draft_view(draft), user, self.policy)
            if refusal:
                return self._refuse(session, draft, user, "reject", refusal)
            if not await self._advance(session, draft, DraftStatus.REVIEWING, DraftStatus.REJECTED):
                return self._refuse(session, draft, user, "reject", _LOST_RACE)
            record_for(session, draft, AuditKind.REJECTED, user)
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        self.doorbell.ring()
        return Done("Rejected. No 4K will be made.", draft_id)

    # --- helpers -----------------------------------------------------------------------------------

    async def _regenerate(self, session: AsyncSession, draft: Draft, source: Variant, tier: Tier) -> None:
        """Ask for ``source`` again at ``tier`` (same number and seed, the source as its reference)."""
        session.add(
            Variant(
                team_id=draft.team_id,
                draft_id=draft.id,
                tier=tier,
                number=source.number,
                seed=source.seed,
                status=VariantState.PENDING,
                source_variant_id=source.id,
            )
        )
        await enqueue(
            session,
            draft,
            JobKind.GENERATE,
            tier=str(tier),
            number=source.number,
            max_attempts=self.max_attempts,
        )
        await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)

    async def _tell(self, team_id: str, draft_id: int, user: str, text: str) -> None:
        async with self.sessions() as session:
            draft = await self._draft(session, team_id, draft_id)
            card = await draft_card(session, draft)
        try:
            await self.publisher.tell_user(card, user, text)
        except Exception:  # telling is a courtesy; the refusal is already audited
            log.warning("could not tell %s why their reaction did nothing", user, exc_info=True)

    async def _draft(self, session: AsyncSession, team_id: str, draft_id: int) -> Draft:
        draft = await queries.get_draft(session, team_id, draft_id)
        if draft is None:  # a button from another workspace, or a forged id: nothing to do
            raise UnknownDraft(draft_id)
        return draft

    async def _posted_numbers(self, session: AsyncSession, draft: Draft) -> list[int]:
        explore = await queries.variants_of(session, draft.team_id, draft.id, Tier.EXPLORE)
        return [v.number for v in explore if v.status == VariantState.POSTED]

    async def _review(self, session: AsyncSession, draft: Draft) -> Variant | None:
        reviews = await queries.variants_of(session, draft.team_id, draft.id, Tier.REVIEW)
        return reviews[0] if reviews else None

    async def _advance(
        self, session: AsyncSession, draft: Draft, expected: DraftStatus, new: DraftStatus, **values: object
    ) -> bool:
        """Move the draft on, unless someone else moved it between our read and this write."""
        if not await move_draft(session, draft, expected, new, **values):
            return False
        await session.refresh(draft)
        return True

    def _refuse(
        self, session: AsyncSession, draft: Draft, user: str, action: str, refusal: Refusal
    ) -> Refusal:
        record_for(
            session,
            draft,
            AuditKind.ACTION_REFUSED,
            user,
            action=action,
            code=refusal.code,
            reason=refusal.reason,
        )
        return refusal


# What Retry makes again, by tier. 1K variants refused for safety stay refused (asking again gives the same
# answer); a refused 2K or 4K is worth one more try; unfinished 1K variants go again if the parent failed.
_RETRIABLE = {
    Tier.EXPLORE: {VariantState.FAILED, VariantState.PENDING},
    Tier.REVIEW: {VariantState.FAILED, VariantState.REFUSED},
    Tier.FINAL: {VariantState.FAILED, VariantState.REFUSED},
}


_NO_REVIEW = Refusal("There is no 2K review to approve yet.", "review_not_ready")
_LOST_RACE = Refusal(
    "Someone else changed this draft a moment ago; the thread shows where it is now.", "changed"
)
