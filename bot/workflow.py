"""The draft state machine: decisions only, over plain values. No Slack, no SQL, no clock.

    generating ──► voting ──► reviewing (2K) ──► approved ──► final (4K)
        │            │   ▲         │                │
        └► failed    │   └─────────┤ rejected, back to voting
                     └► cancelled  ├► rejected
                                   └► failed       └► failed

A failed draft is not the end: Retry takes it back to the stage that failed. A new round of 1K variants
takes a voting draft back to generating (the votes cast stay). Request changes keeps a draft in review:
the review gets a new version, and only the latest version can be approved.

Handlers and jobs ask these functions what to do and then do it; every refusal comes back as a
:class:`Refusal` with words fit for the person who asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import IllegalTransition


class DraftStatus(StrEnum):
    GENERATING = "generating"  # 1K variants on their way
    VOTING = "voting"  # variants posted; emoji votes count
    REVIEWING = "reviewing"  # winner regenerated at 2K for review
    APPROVED = "approved"  # an approver said yes; the 4K final is on its way
    FINAL = "final"  # the 4K is posted
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in {DraftStatus.FINAL, DraftStatus.REJECTED, DraftStatus.CANCELLED}


TRANSITIONS: Mapping[DraftStatus, frozenset[DraftStatus]] = {
    DraftStatus.GENERATING: frozenset({DraftStatus.VOTING, DraftStatus.FAILED, DraftStatus.CANCELLED}),
    # Back to generating when a new round of 1K variants starts.
    DraftStatus.VOTING: frozenset({DraftStatus.REVIEWING, DraftStatus.GENERATING, DraftStatus.CANCELLED}),
    # Back to voting when a rejecter chooses it (the votes cast stay).
    DraftStatus.REVIEWING: frozenset(
        {
            DraftStatus.APPROVED,
            DraftStatus.REJECTED,
            DraftStatus.VOTING,
            DraftStatus.FAILED,
            DraftStatus.CANCELLED,
        }
    ),
    DraftStatus.APPROVED: frozenset({DraftStatus.FINAL, DraftStatus.FAILED}),
    DraftStatus.FINAL: frozenset(),
    DraftStatus.REJECTED: frozenset(),
    # Retry: back to the stage that failed (1K variants, the 2K review, or the 4K final).
    DraftStatus.FAILED: frozenset({DraftStatus.GENERATING, DraftStatus.REVIEWING, DraftStatus.APPROVED}),
    DraftStatus.CANCELLED: frozenset(),
}


def transition(current: DraftStatus, target: DraftStatus) -> DraftStatus:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"{current} -> {target}")
    return target


class VariantState(StrEnum):
    PENDING = "pending"
    GENERATED = "generated"  # image stored, not yet in Slack
    POSTED = "posted"
    FAILED = "failed"
    REFUSED = "refused"  # the provider's safety system said no

    @property
    def is_settled(self) -> bool:
        return self in {VariantState.POSTED, VariantState.FAILED, VariantState.REFUSED}


# What became of a review version (``variants.outcome``).
CHANGES_REQUESTED = "changes_requested"  # a newer version answers its feedback
REJECTED = "rejected"
APPROVED = "approved"


@dataclass(frozen=True)
class Policy:
    """Who may do what. ``approvers`` are Slack user ids; empty means anyone may approve, unless
    ``approvers_named`` (a channel named approvers, e.g. a user group that has nobody in it now)."""

    approvers: frozenset[str] = frozenset()
    approvers_named: bool = False
    allow_self_approval: bool = True
    max_rounds: int = 8  # rounds of 1K variants per draft
    max_variants: int = 32  # 1K variants per draft, over all its rounds
    max_versions: int = 5  # 2K review versions per draft (Request changes)
    required_approvals: int = 1  # distinct approvers of the latest version before the 4K starts
    drift_threshold: float = 0.25  # a 2K/4K whose composition moved more from its 1K says so

    def is_approver(self, user: str) -> bool:
        return (not self.approvers and not self.approvers_named) or user in self.approvers


@dataclass(frozen=True)
class DraftView:
    """The facts a decision needs about one draft."""

    status: DraftStatus
    requester: str
    n_variants: int
    winner: int | None = None
    review_ready: bool = False  # the latest 2K review version's message is posted
    # The latest 2K review: (the variant it is of, its version: v1, v2 after Request changes…).
    review_ref: tuple[int, int] | None = None
    versions: int = 0  # 2K review versions the draft has had, over all its winners
    approved_by: frozenset[str] = frozenset()  # who approved the latest version so far

    @property
    def variant_numbers(self) -> range:
        return range(1, self.n_variants + 1)


@dataclass(frozen=True)
class Refusal:
    reason: str  # shown to the person, ephemeral
    code: str  # for the audit trail


# --- generation progress ---------------------------------------------------------------------------


def after_variants_settled(states: Iterable[VariantState]) -> DraftStatus | None:
    """Once every 1K variant has settled: voting if any was posted, failed if none. None while waiting."""
    states = list(states)
    if not states or not all(state.is_settled for state in states):
        return None
    if any(state is VariantState.POSTED for state in states):
        return DraftStatus.VOTING
    return DraftStatus.FAILED


# --- votes ---------------------------------------------------------------------------------------------
#
# One vote per person per draft, with Slack's own meaning: the vote is the variant the person most recently
# reacted to, unless they took that reaction back since. Slack may deliver events late, twice or out of order,
# and Bolt handles them concurrently, so the decision never depends on arrival order: for each person and
# variant we keep the Slack time of the latest add and the latest removal, and derive the vote from those.


class VoteChange(StrEnum):
    CAST = "cast"
    MOVED = "moved"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Reaction:
    """One person's vote emoji on one variant: the Slack times it was last added and last removed."""

    variant: int
    added_at: float | None = None
    removed_at: float | None = None

    @property
    def present(self) -> bool:
        return self.added_at is not None and (self.removed_at is None or self.removed_at < self.added_at)


def current_vote(reactions: Iterable[Reaction]) -> int | None:
    """The variant of the latest add, if that reaction is still there."""
    added = [r for r in reactions if r.added_at is not None]
    if not added:
        return None
    latest = max(added, key=lambda r: (r.added_at, r.variant))
    return latest.variant if latest.present else None


def with_reaction(reaction: Reaction | None, variant: int, at: float, *, added: bool) -> Reaction:
    """``reaction`` after one more add or removal at ``at``; keeping the latest times makes order moot."""
    reaction = reaction or Reaction(variant)
    if added:
        return Reaction(variant, max(at, reaction.added_at or at), reaction.removed_at)
    return Reaction(variant, reaction.added_at, max(at, reaction.removed_at or at))


@dataclass(frozen=True)
class VoteDecision:
    change: VoteChange
    variant: int | None  # the person's vote after this reaction
    previous: int | None = None
    why_ignored: str = ""
    reaction: Reaction | None = None  # the new state of the reaction to store (None when ignored)
    closed: bool = False  # ignored because voting has closed
    # Variants the person's vote emoji is still on that do not carry their vote (Slack shows those reactions;
    # only the latest counts, and a bot cannot take another person's reaction away).
    stale: tuple[int, ...] = ()


def decide_reaction(
    draft: DraftView,
    voter: str,
    variant: int,
    reactions: Iterable[Reaction],
    *,
    added: bool,
    at: float,
    bot_user: str | None,
) -> VoteDecision:
    """A vote emoji was added to (or removed from) a variant by ``voter``, at Slack time ``at``.

    ``reactions``: the person's earlier vote reactions on this draft. The result says what the vote was,
    what it is now, and the reaction state to keep."""
    known = {r.variant: r for r in reactions}
    before = current_vote(known.values())
    ignored = _vote_ignored(draft, voter, variant, bot_user)
    if ignored:
        closed = draft.status not in VOTES_COUNT and not (bot_user is not None and voter == bot_user)
        return VoteDecision(VoteChange.IGNORED, before, before, ignored, closed=closed)
    reaction = with_reaction(known.get(variant), variant, at, added=added)
    now = {**known, variant: reaction}
    after = current_vote(now.values())
    stale = tuple(sorted(n for n, r in now.items() if r.present and n != after))
    if after == before:
        change = VoteChange.UNCHANGED
    elif after is None:
        change = VoteChange.REMOVED
    else:
        change = VoteChange.CAST if before is None else VoteChange.MOVED
    return VoteDecision(change, after, before, reaction=reaction, stale=stale)


def _vote_ignored(draft: DraftView, voter: str, variant: int, bot_user: str | None) -> str:
    if bot_user is not None and voter == bot_user:
        return "the bot's own reactions never count"
    if draft.status not in VOTES_COUNT:
        return f"voting is closed (draft is {draft.status})"
    if variant not in draft.variant_numbers:
        return f"there is no variant {variant}"
    return ""


# Votes count from the moment a variant is posted: while the others are still being made, and in voting.
VOTES_COUNT = frozenset({DraftStatus.GENERATING, DraftStatus.VOTING})


def tally(votes: Mapping[str, int], variant_numbers: Iterable[int]) -> dict[int, int]:
    """Votes per variant, every variant listed (zero included), from each person's single vote."""
    counts = Counter(votes.values())
    return {number: counts.get(number, 0) for number in variant_numbers}


@dataclass(frozen=True)
class Winner:
    variant: int
    votes: int


@dataclass(frozen=True)
class Tie:
    """Several variants share the top count (also: nobody voted). The requester chooses."""

    variants: tuple[int, ...]
    votes: int


def pick_winner(counts: Mapping[int, int], eligible: Iterable[int] | None = None) -> Winner | Tie:
    """The most-voted variant, or the tie. Never breaks a tie silently."""
    pool = {n: c for n, c in counts.items() if eligible is None or n in set(eligible)}
    if not pool:
        raise ValueError("no variants to choose from")
    top = max(pool.values())
    leaders = tuple(sorted(n for n, c in pool.items() if c == top))
    return Winner(leaders[0], top) if len(leaders) == 1 else Tie(leaders, top)


# --- rounds ----------------------------------------------------------------------------------------


class RoundReason(StrEnum):
    DRAFT = "draft"  # the command's first round
    MORE_LIKE_THIS = "more_like_this"  # variations of one variant, made from it
    NEW_ROUND = "new_round"  # the same prompt, new seeds
    EDIT_PROMPT = "edit_prompt"  # an edited prompt


def decide_round(draft: DraftView, user: str, policy: Policy, *, rounds: int, size: int) -> Refusal | None:
    """Whether ``user`` may start another round of ``size`` 1K variants (the draft has had ``rounds``)."""
    if user != draft.requester and not (policy.approvers and user in policy.approvers):
        return Refusal(
            f"Only the requester <@{draft.requester}> or an approver can start a new round of this draft.",
            "not_requester_or_approver",
        )
    if draft.status not in VOTES_COUNT:
        return Refusal(status_words(draft.status, "explored further"), "wrong_status")
    if rounds >= policy.max_rounds:
        return Refusal(
            f"This draft has had its {policy.max_rounds} rounds. "
            "Upgrade the winner, or start a new `/draft`.",
            "round_limit",
        )
    if draft.n_variants + size > policy.max_variants:
        left = policy.max_variants - draft.n_variants
        room = f"room for {left} more" if left > 0 else "no room for more"
        return Refusal(
            f"A round of {size} would take this draft past its {policy.max_variants} variants ({room}). "
            "Upgrade the winner, or start a new `/draft`.",
            "variant_limit",
        )
    return None


# --- upgrade, approval -----------------------------------------------------------------------------


def may_upgrade(draft: DraftView, user: str, policy: Policy) -> Refusal | None:
    if user != draft.requester and not (policy.approvers and user in policy.approvers):
        return Refusal(
            f"Only the requester <@{draft.requester}> or an approver can upgrade this draft.",
            "not_requester_or_approver",
        )
    if draft.status is not DraftStatus.VOTING:
        return Refusal(status_words(draft.status, "upgraded"), "wrong_status")
    return None


@dataclass(frozen=True)
class Upgrade:
    winner: int
    counts: Mapping[int, int]
    chosen_by_requester: bool = False


@dataclass(frozen=True)
class TieBreakNeeded:
    tie: Tie
    counts: Mapping[int, int]


def decide_upgrade(
    draft: DraftView,
    user: str,
    votes: Mapping[str, int],
    policy: Policy,
    *,
    eligible: Iterable[int] | None = None,
) -> Upgrade | TieBreakNeeded | Refusal:
    """Upgrade winner to 2K: who may, and which variant. ``eligible``: variants that were posted."""
    refusal = may_upgrade(draft, user, policy)
    if refusal:
        return refusal
    counts = tally(votes, draft.variant_numbers)
    pool = None if eligible is None else list(eligible)
    if pool == []:
        return Refusal(
            "No variant can go to 2K: every one in the thread had its review rejected. "
            "Start a new round, or a new `/draft`.",
            "none_eligible",
        )
    result = pick_winner(counts, pool)
    if isinstance(result, Tie):
        return TieBreakNeeded(result, counts)
    return Upgrade(result.variant, counts)


def decide_tie_break(
    draft: DraftView,
    user: str,
    chosen: int,
    votes: Mapping[str, int],
    policy: Policy,
    *,
    eligible: Iterable[int] | None = None,
) -> Upgrade | Refusal:
    """The requester picks among the tied variants. The tie is recomputed: votes may have moved."""
    if user != draft.requester:
        return Refusal(f"The tie is for the requester <@{draft.requester}> to break.", "not_requester")
    if draft.status is not DraftStatus.VOTING:
        return Refusal(status_words(draft.status, "upgraded"), "wrong_status")
    counts = tally(votes, draft.variant_numbers)
    pool = None if eligible is None else list(eligible)
    if pool == []:
        return Refusal("No variant can go to 2K now; the thread shows where the draft is.", "none_eligible")
    result = pick_winner(counts, pool)
    leaders = result.variants if isinstance(result, Tie) else (result.variant,)
    if chosen not in leaders:
        return Refusal(
            f"Variant {chosen} is no longer among the leaders ({_join(leaders)}); the votes changed. "
            "Press *Upgrade winner to 2K* again.",
            "not_a_leader",
        )
    return Upgrade(chosen, counts, chosen_by_requester=isinstance(result, Tie))


def may_cancel(draft: DraftView, user: str, policy: Policy) -> Refusal | None:
    if user != draft.requester and not (policy.approvers and user in policy.approvers):
        return Refusal(
            "Only the requester or an approver can cancel this draft.", "not_requester_or_approver"
        )
    if draft.status not in VOTES_COUNT:  # a review under way is decided by Approve or Reject
        return Refusal(status_words(draft.status, "cancelled"), "wrong_status")
    return None


@dataclass(frozen=True)
class RetryPlan:
    status: DraftStatus  # where the draft goes back to
    tier: str  # the tier whose failed images are made again ("1K", "2K" or "4K")


def decide_retry(
    draft: DraftView,
    user: str,
    policy: Policy,
    *,
    failed: Mapping[str, int],
    refused: Mapping[str, int],
    announced: bool = True,
) -> RetryPlan | Refusal:
    """Retry a failed draft from the stage that failed. ``failed``/``refused``: images by tier;
    ``announced``: the parent message was posted (if not, that is what failed)."""
    if user != draft.requester and not (policy.approvers and user in policy.approvers):
        return Refusal("Only the requester or an approver can retry this draft.", "not_requester_or_approver")
    if draft.status is not DraftStatus.FAILED:
        return Refusal(status_words(draft.status, "retried"), "wrong_status")
    if not announced:
        return RetryPlan(DraftStatus.GENERATING, "1K")
    for tier, back_to in (("4K", DraftStatus.APPROVED), ("2K", DraftStatus.REVIEWING)):
        if failed.get(tier) or refused.get(tier):
            return RetryPlan(back_to, tier)
    if not failed.get("1K"):
        return Refusal(
            "Every variant was refused by the provider's safety system, and asking again gives the same "
            "answer. Edit the prompt and start a new `/draft`.",
            "all_refused",
        )
    return RetryPlan(DraftStatus.GENERATING, "1K")


def decide_image_retry(draft: DraftView, user: str, policy: Policy, *, state: VariantState) -> Refusal | None:
    """Retry one lost 1K variant while the others are made or voted on (a failed draft retries whole)."""
    if user != draft.requester and not (policy.approvers and user in policy.approvers):
        return Refusal("Only the requester or an approver can retry this draft.", "not_requester_or_approver")
    if draft.status not in VOTES_COUNT:
        return Refusal(
            "Voting on this draft has closed, so this variant can't be made again now.", "wrong_status"
        )
    if state is VariantState.REFUSED:
        return Refusal(
            "This variant was refused by the provider's safety system, and asking again gives the same "
            "answer. Edit the prompt and start a new `/draft`.",
            "refused",
        )
    if state is VariantState.PENDING:
        return Refusal("This variant is already on its way again.", "not_failed")
    if state is not VariantState.FAILED:
        return Refusal("This variant was made again already; it is in the thread.", "not_failed")
    return None


_STATUS_WORDS = {
    DraftStatus.GENERATING: "the variants are still being generated",
    DraftStatus.VOTING: "it is still in voting",
    DraftStatus.REVIEWING: "the 2K review is already under way",
    DraftStatus.APPROVED: "it is already approved and the 4K final is on its way",
    DraftStatus.FINAL: "it is already final",
    DraftStatus.REJECTED: "it was rejected",
    DraftStatus.FAILED: "it failed",
    DraftStatus.CANCELLED: "it was cancelled",
}


def status_words(status: DraftStatus, verb: str) -> str:
    return f"This draft can't be {verb} now: {_STATUS_WORDS[status]}."


def _join(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in numbers)
