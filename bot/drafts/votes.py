"""Reactions: a vote on a 1K variant, counted in its own transaction, once per Slack event; an
approval on the 2K review.

Reactions arrive out of order and more than once; each is kept with Slack's time, and the vote is what
the latest of a person's reactions says (:func:`bot.workflow.decide_reaction`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import AuditKind, record_for
from bot.cards import draft_view
from bot.drafts.decisions import Decisions
from bot.drafts.desk import Desk
from bot.drafts.results import ActionResult
from bot.jobs import Doorbell, JobKind, enqueue
from bot.tiers import Tier
from bot.workflow import Reaction, Refusal, VoteChange, VoteDecision, current_vote, decide_reaction
from storage import queries
from storage.models import ProcessedRequest, Variant, Vote, VoteReaction

SKIN_TONE = "::skin-tone-"
RECORDING_WAITS = (0.1, 0.3, 0.6, 1.0)  # seconds between looks for an image whose post is being recorded
EMOJI_ALIASES = {"thumbsup": "+1", "thumbs_up": "+1", "heavy_check_mark": "white_check_mark"}


def same_emoji(reaction: str, configured: str) -> bool:
    """``+1::skin-tone-3`` and ``thumbsup`` are the same vote as ``+1``."""
    base = reaction.split(SKIN_TONE, 1)[0]
    return EMOJI_ALIASES.get(base, base) == EMOJI_ALIASES.get(configured, configured)


@dataclass(frozen=True)
class ReactionEvent:
    """One emoji reaction added to or removed from a message, as Slack reported it (checked by the
    listener: every id present and well formed).

    ``dedupe_key`` (from the Slack event id) makes a redelivered event change nothing; ``event_ts`` is
    Slack's time of the reaction, which orders a person's reactions when deliveries arrive out of order.
    """

    team_id: str
    channel: str
    ts: str  # the message reacted to
    user: str
    emoji: str
    dedupe_key: str | None = None
    event_ts: str | None = None
    on_own_message: bool = False  # Slack says the message is the bot's (``item_user``)


class Ballot:
    """Counts a person's reaction on a 1K variant as their vote (or takes it back)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], doorbell: Doorbell, *, max_attempts: int
    ) -> None:
        self.sessions = sessions
        self.doorbell = doorbell
        self.max_attempts = max_attempts

    async def count(
        self, event: ReactionEvent, variant: Variant, *, bot_user: str | None, adding: bool
    ) -> VoteDecision:
        for attempt in range(3):  # two reactions by one person at the same instant race for one row
            try:
                return await self._count_once(event, variant, bot_user=bot_user, adding=adding)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _count_once(
        self, event: ReactionEvent, variant: Variant, *, bot_user: str | None, adding: bool
    ) -> VoteDecision:
        team_id, voter = event.team_id, event.user
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
            if event.dedupe_key is not None:
                if await queries.already_processed(session, team_id, event.dedupe_key):
                    current = current_vote(reactions)
                    return VoteDecision(VoteChange.IGNORED, current, current, "already processed")
                # Recorded with the vote it causes: both land, or neither does and a redelivery may try again.
                session.add(ProcessedRequest(team_id=team_id, key=event.dedupe_key))
            at = _slack_time(event.event_ts) or time.time()
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
                event_ts=event.event_ts,
                previous=decision.previous,
                now=decision.variant,
            )
            if decision.change is VoteChange.UNCHANGED:
                return decision
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        self.doorbell.ring()
        return decision


def _slack_time(ts: str | None) -> float | None:
    """Slack's ``event_ts`` ("1700000000.123456") in seconds; a float keeps the microseconds at this scale."""
    try:
        return float(ts) if ts else None
    except ValueError:
        return None


def _ts(at: float | None) -> str | None:
    return None if at is None else f"{at:.6f}"


class Reactions:
    """A reaction on one of our messages: a vote on a 1K variant, or an approver's approval on the 2K
    review (the same as pressing Approve)."""

    def __init__(self, desk: Desk, decisions: Decisions, *, vote_emoji: str, approve_emoji: str) -> None:
        self.desk = desk
        self.decisions = decisions
        self.vote_emoji = vote_emoji
        self.approve_emoji = approve_emoji
        self._ballot = Ballot(desk.sessions, desk.doorbell, max_attempts=desk.max_attempts)

    async def _variant(self, event: ReactionEvent) -> Variant | None:
        """The image the reaction is on. A reaction on one of our messages that names no image yet may be
        on an image whose post is being recorded this moment (people react as soon as they see it): look
        again for a few seconds before taking it for a message that is no image."""
        for wait in (0.0, *RECORDING_WAITS):
            await asyncio.sleep(wait)
            async with self.desk.sessions() as session:
                variant = await queries.variant_by_message(session, event.team_id, event.channel, event.ts)
            if variant is not None or not event.on_own_message:
                return variant
        return None

    async def reaction_added(
        self, event: ReactionEvent, *, bot_user: str | None
    ) -> VoteDecision | ActionResult | None:
        variant = await self._variant(event)
        if variant is None:
            return None
        user = event.user
        if variant.tier == Tier.REVIEW and same_emoji(event.emoji, self.approve_emoji) and user != bot_user:
            result = await self.decisions.approve(
                team_id=event.team_id,
                draft_id=variant.draft_id,
                user=user,
                pressed=(variant.number, variant.version),
            )
            if isinstance(result, Refusal) and result.code != "wrong_status":
                await self.desk.tell(event.team_id, variant.draft_id, user, result.reason)  # no response_url
            return result
        if variant.tier != Tier.EXPLORE or not same_emoji(event.emoji, self.vote_emoji):
            return None
        decision = await self._ballot.count(event, variant, bot_user=bot_user, adding=True)
        await self._explain(event, variant.draft_id, decision)
        return decision

    async def reaction_removed(self, event: ReactionEvent, *, bot_user: str | None) -> VoteDecision | None:
        variant = await self._variant(event)
        if variant is None or variant.tier != Tier.EXPLORE or not same_emoji(event.emoji, self.vote_emoji):
            return None
        decision = await self._ballot.count(event, variant, bot_user=bot_user, adding=False)
        if not decision.closed:  # tidying up an old reaction after voting closed needs no answer
            await self._explain(event, variant.draft_id, decision)
        return decision

    async def _explain(self, event: ReactionEvent, draft_id: int, decision: VoteDecision) -> None:
        """Tell the voter, privately, when the reactions Slack shows them differ from the vote we count."""
        text = vote_words(decision, f":{self.vote_emoji}:")
        if text:
            await self.desk.tell(event.team_id, draft_id, event.user, text)


def vote_words(decision: VoteDecision, emoji: str) -> str | None:
    """What to tell a voter whose reactions and vote differ, or whose reaction came after voting closed."""
    if decision.closed and decision.change is VoteChange.IGNORED:
        return f"Voting on this draft has closed, so your {emoji} doesn't count."
    if decision.change not in (VoteChange.CAST, VoteChange.MOVED, VoteChange.REMOVED) or not decision.stale:
        return None
    others, one = _variants(decision.stale), len(decision.stale) == 1
    if decision.variant is None:
        return (
            f"You took back your vote. Your {emoji} on {others} {'does' if one else 'do'}n't count: only "
            f"your latest {emoji} does. To vote for one of them, remove that {emoji} and add it again."
        )
    return (
        f"Your vote is now on #{decision.variant}; your {emoji} on {others} no longer "
        f"{'counts' if one else 'count'} — remove {'it' if one else 'them'} to tidy up."
    )


def _variants(numbers: tuple[int, ...]) -> str:
    shown = [f"#{n}" for n in numbers]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"
