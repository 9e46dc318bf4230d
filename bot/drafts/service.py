"""What people do to drafts: ask for one, vote, upgrade, break a tie, approve, reject.

Each action is one transaction: read the state, ask :mod:`bot.workflow` what to do, write the change,
its audit event and the jobs it needs together. Publishing happens in jobs, after the commit.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import AuditKind, record, record_for
from bot.cards import draft_card, draft_view
from bot.command import DraftRequest
from bot.drafts.moves import move_draft
from bot.errors import UnknownDraft
from bot.jobs import Doorbell, JobKind, enqueue, enqueue_many
from bot.publisher import Publisher
from bot.tiers import Tier
from bot.workflow import (
    DraftStatus,
    Policy,
    Reaction,
    Refusal,
    TieBreakNeeded,
    Upgrade,
    VariantState,
    VoteChange,
    VoteDecision,
    current_vote,
    decide_reaction,
    decide_retry,
    decide_tie_break,
    decide_upgrade,
    may_approve,
    may_reject,
)
from storage import queries
from storage.models import Draft, ProcessedRequest, Variant, Vote, VoteReaction

log = logging.getLogger(__name__)

SKIN_TONE = "::skin-tone-"
EMOJI_ALIASES = {"thumbsup": "+1", "thumbs_up": "+1", "heavy_check_mark": "white_check_mark"}


def same_emoji(reaction: str, configured: str) -> bool:
    """``+1::skin-tone-3`` and ``thumbsup`` are the same vote as ``+1``."""
    base = reaction.split(SKIN_TONE, 1)[0]
    return EMOJI_ALIASES.get(base, base) == EMOJI_ALIASES.get(configured, configured)


@dataclass(frozen=True)
class Done:
    """The action happened; ``message`` tells the person who asked (ephemeral)."""

    message: str
    draft_id: int


ActionResult = Done | Refusal


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
        self,
        *,
        team_id: str,
        channel: str,
        ts: str,
        user: str,
        emoji: str,
        bot_user: str | None,
        dedupe_key: str | None = None,
        event_ts: str | None = None,
    ) -> VoteDecision | ActionResult | None:
        """A reaction on one of our messages: a vote on a 1K variant, or an approval on the 2K review.

        ``dedupe_key`` (the Slack event id) makes a redelivered event change nothing."""
        async with self.sessions() as session:
            variant = await queries.variant_by_message(session, team_id, channel, ts)
        if variant is None:
            return None
        if variant.tier == Tier.REVIEW and same_emoji(emoji, self.approve_emoji) and user != bot_user:
            result = await self.approve(team_id=team_id, draft_id=variant.draft_id, user=user)
            if isinstance(result, Refusal) and result.code != "wrong_status":
                await self._tell(team_id, variant.draft_id, user, result.reason)  # no response_url here
            return result
        if variant.tier != Tier.EXPLORE or not same_emoji(emoji, self.vote_emoji):
            return None
        return await self._vote(
            team_id, variant, user, bot_user, adding=True, dedupe_key=dedupe_key, event_ts=event_ts
        )

    async def reaction_removed(
        self,
        *,
        team_id: str,
        channel: str,
        ts: str,
        user: str,
        emoji: str,
        bot_user: str | None,
        dedupe_key: str | None = None,
        event_ts: str | None = None,
    ) -> VoteDecision | None:
        async with self.sessions() as session:
            variant = await queries.variant_by_message(session, team_id, channel, ts)
        if variant is None or variant.tier != Tier.EXPLORE or not same_emoji(emoji, self.vote_emoji):
            return None
        return await self._vote(
            team_id, variant, user, bot_user, adding=False, dedupe_key=dedupe_key, event_ts=event_ts
        )

    async def _vote(
        self,
        team_id: str,
        variant: Variant,
        voter: str,
        bot_user: str | None,
        *,
        adding: bool,
        dedupe_key: str | None,
        event_ts: str | None,
    ) -> VoteDecision:
        for attempt in range(3):  # two reactions by one person at the same instant race for one row
            try:
                return await self._vote_once(
                    team_id, variant, voter, bot_user, adding=adding, dedupe_key=dedupe_key, event_ts=event_ts
                )
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _vote_once(
        self,
        team_id: str,
        variant: Variant,
        voter: str,
        bot_user: str | None,
        *,
        adding: bool,
        dedupe_key: str | None,
        event_ts: str | None,
    ) -> VoteDecision:
        async with self.sessions.begin() as session:
            # Shared with other votes, exclusive of closing the vote (request_upgrade): a vote either counts
            # in the tally or sees voting closed, also on PostgreSQL where both run at once.
            await queries.lock_draft(session, team_id, variant.draft_id, shared=True)
            draft = await queries.get_draft(session, team_id, variant.draft_id)
            if draft is None:
                raise LookupError(f"variant {variant.id} belongs to no draft of team {team_id}")
            # The person's vote row first: it is their lock (PostgreSQL). Their reactions can't be: one that
            # another transaction adds meanwhile is neither locked nor seen by that read.
            vote = await queries.get_vote(session, team_id, draft.id, voter)
            rows = {
                row.variant_number: row
                for row in await queries.reactions_of(session, team_id, draft.id, voter)
            }
            reactions = [
                Reaction(n, _slack_time(r.added_at), _slack_time(r.removed_at)) for n, r in rows.items()
            ]
            if dedupe_key is not None:
                if await queries.already_processed(session, team_id, dedupe_key):
                    current = current_vote(reactions)
                    return VoteDecision(VoteChange.IGNORED, current, current, "already processed")
                # Recorded with the vote it causes: both land, or neither does and a redelivery may try again.
                session.add(ProcessedRequest(team_id=team_id, key=dedupe_key))
            at = _slack_time(event_ts) or time.time()
            decision = decide_reaction(
                draft_view(draft), voter, variant.number, reactions, added=adding, at=at, bot_user=bot_user
            )
            if decision.reaction is None:  # ignored: the bot's own, voting closed, no such variant
                return decision
            row = rows.get(variant.number) or VoteReaction(
                team_id=team_id, draft_id=draft.id, voter_id=voter, variant_number=variant.number
            )
            row.added_at = _ts(decision.reaction.added_at)
            row.removed_at = _ts(decision.reaction.removed_at)
            session.add(row)
            if vote is None:  # their first: a concurrent first vote makes one of us retry (IntegrityError)
                session.add(
                    Vote(team_id=team_id, draft_id=draft.id, voter_id=voter, variant_number=decision.variant)
                )
            else:
                vote.variant_number = decision.variant
            # Every counted reaction is kept, with Slack's time: sorted by it, the trail is the true history
            # even when deliveries arrived out of order.
            record_for(
                session,
                draft,
                AuditKind.VOTE if adding else AuditKind.UNVOTE,
                voter,
                variant=variant.number,
                event_ts=event_ts,
                previous=decision.previous,
                now=decision.variant,
            )
            if decision.change is VoteChange.UNCHANGED:
                return decision
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        self.doorbell.ring()
        return decision

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


def _slack_time(ts: str | None) -> float | None:
    """Slack's ``event_ts`` ("1700000000.123456") in seconds; a float keeps the microseconds at this scale."""
    try:
        return float(ts) if ts else None
    except ValueError:
        return None


def _ts(at: float | None) -> str | None:
    return None if at is None else f"{at:.6f}"


_NO_REVIEW = Refusal("There is no 2K review to approve yet.", "review_not_ready")
_LOST_RACE = Refusal(
    "Someone else changed this draft a moment ago; the thread shows where it is now.", "changed"
)
