"""The draft state machine and its decisions, with plain values only."""

from __future__ import annotations

import pytest

from bot.errors import IllegalTransition
from bot.reviews import may_approve, may_reject
from bot.workflow import (
    TRANSITIONS,
    DraftStatus,
    DraftView,
    Policy,
    Reaction,
    Refusal,
    RetryPlan,
    Tie,
    TieBreakNeeded,
    Upgrade,
    VariantState,
    VoteChange,
    VoteDecision,
    Winner,
    after_variants_settled,
    current_vote,
    decide_reaction,
    decide_retry,
    decide_tie_break,
    decide_upgrade,
    may_cancel,
    pick_winner,
    tally,
    transition,
)

BOT = "UBOT"
REQ = "UREQ"
S = DraftStatus


def view(status: DraftStatus = S.VOTING, n: int = 4) -> DraftView:
    return DraftView(status=status, requester=REQ, n_variants=n, review_ready=status is S.REVIEWING)


# --- transitions -----------------------------------------------------------------------------------

ALLOWED = {
    (S.GENERATING, S.VOTING),
    (S.GENERATING, S.FAILED),
    (S.GENERATING, S.CANCELLED),
    (S.VOTING, S.REVIEWING),
    (S.VOTING, S.CANCELLED),
    (S.REVIEWING, S.APPROVED),
    (S.REVIEWING, S.REJECTED),
    (S.REVIEWING, S.VOTING),  # rejected, back to voting
    (S.VOTING, S.GENERATING),  # a new round
    (S.REVIEWING, S.FAILED),
    (S.REVIEWING, S.CANCELLED),
    (S.APPROVED, S.FINAL),
    (S.APPROVED, S.FAILED),
    (S.FAILED, S.GENERATING),
    (S.FAILED, S.REVIEWING),
    (S.FAILED, S.APPROVED),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_transition(current: DraftStatus, target: DraftStatus) -> None:
    if (current, target) in ALLOWED:
        assert transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            transition(current, target)


def test_terminal_states_have_no_way_out() -> None:
    for status in S:
        assert status.is_terminal == (not TRANSITIONS[status])
    assert not S.FAILED.is_terminal  # a failed draft can be retried


def test_retry_goes_back_to_the_stage_that_failed() -> None:
    failed_view = DraftView(status=S.FAILED, requester=REQ, n_variants=4)
    none: dict[str, int] = {}
    assert decide_retry(failed_view, REQ, Policy(), failed={"1K": 2}, refused=none) == RetryPlan(
        S.GENERATING, "1K"
    )
    assert decide_retry(failed_view, REQ, Policy(), failed={"2K": 1}, refused=none) == RetryPlan(
        S.REVIEWING, "2K"
    )
    assert decide_retry(failed_view, REQ, Policy(), failed={"4K": 1}, refused=none) == RetryPlan(
        S.APPROVED, "4K"
    )
    approver = Policy(approvers=frozenset({"UAPP"}))
    assert isinstance(decide_retry(failed_view, "UAPP", approver, failed={"1K": 1}, refused=none), RetryPlan)


def test_retry_refusals() -> None:
    failed_view = DraftView(status=S.FAILED, requester=REQ, n_variants=4)
    everything_refused = decide_retry(failed_view, REQ, Policy(), failed={}, refused={"1K": 4})
    assert isinstance(everything_refused, Refusal) and everything_refused.code == "all_refused"
    other = decide_retry(failed_view, "U1", Policy(), failed={"1K": 1}, refused={})
    assert isinstance(other, Refusal) and other.code == "not_requester_or_approver"
    running = decide_retry(view(S.VOTING), REQ, Policy(), failed={"1K": 1}, refused={})
    assert isinstance(running, Refusal) and running.code == "wrong_status"


def test_settling_variants() -> None:
    P, G, OK, F, R = (
        VariantState.PENDING,
        VariantState.GENERATED,
        VariantState.POSTED,
        VariantState.FAILED,
        VariantState.REFUSED,
    )
    assert after_variants_settled([OK, P, OK, OK]) is None
    assert after_variants_settled([OK, G, OK, OK]) is None
    assert after_variants_settled([OK, R, F, OK]) is S.VOTING
    assert after_variants_settled([F, R, F, F]) is S.FAILED
    assert after_variants_settled([]) is None


# --- votes -----------------------------------------------------------------------------------------


def react(
    reactions: list[Reaction], variant: int, at: float, *, added: bool = True, status: DraftStatus = S.VOTING
) -> VoteDecision:
    """Apply one reaction to ``reactions`` (updated in place, as storage would) and return the decision."""
    decision = decide_reaction(view(status), "U1", variant, reactions, added=added, at=at, bot_user=BOT)
    if decision.reaction is not None:
        reactions[:] = [r for r in reactions if r.variant != variant] + [decision.reaction]
    return decision


def test_first_vote_is_cast() -> None:
    d = react([], 2, 1.0)
    assert (d.change, d.variant, d.previous) == (VoteChange.CAST, 2, None)


def test_new_vote_moves_the_old_one() -> None:
    mine: list[Reaction] = []
    react(mine, 2, 1.0)
    d = react(mine, 3, 2.0)
    assert (d.change, d.variant, d.previous) == (VoteChange.MOVED, 3, 2)


def test_same_vote_twice_is_unchanged() -> None:
    mine: list[Reaction] = []
    react(mine, 2, 1.0)
    assert react(mine, 2, 1.0).change is VoteChange.UNCHANGED


def test_bot_reactions_never_count() -> None:
    d = decide_reaction(view(), BOT, 2, [], added=True, at=1.0, bot_user=BOT)
    assert d.change is VoteChange.IGNORED and "bot" in d.why_ignored and d.reaction is None


@pytest.mark.parametrize("status", [S.GENERATING, S.VOTING])
def test_votes_count_from_the_first_posted_variant(status: DraftStatus) -> None:
    """A variant invites votes as soon as it is in the thread, while the others are still being made."""
    assert react([], 1, 1.0, status=status).change is VoteChange.CAST


@pytest.mark.parametrize("status", [s for s in S if s not in (S.GENERATING, S.VOTING)])
def test_votes_only_until_voting_closes(status: DraftStatus) -> None:
    assert react([], 1, 1.0, status=status).change is VoteChange.IGNORED
    assert react([Reaction(1, 0.5)], 1, 1.0, added=False, status=status).change is VoteChange.IGNORED


def test_vote_for_missing_variant_is_ignored() -> None:
    assert react([], 5, 1.0).change is VoteChange.IGNORED


def test_removing_the_current_vote_removes_it() -> None:
    mine: list[Reaction] = []
    react(mine, 2, 1.0)
    d = react(mine, 2, 2.0, added=False)
    assert (d.change, d.variant, d.previous) == (VoteChange.REMOVED, None, 2)


def test_removing_a_stale_reaction_keeps_the_current_vote() -> None:
    mine: list[Reaction] = []
    react(mine, 2, 1.0)
    react(mine, 3, 2.0)
    d = react(mine, 2, 3.0, added=False)
    assert (d.change, d.variant) == (VoteChange.UNCHANGED, 3)


# Each case: reactions as (variant, Slack time, added?), in Slack's order, and the vote they must leave.
SEQUENCES = [
    ([(3, 1.0, True), (1, 2.0, True), (1, 3.0, False)], None),  # moved, then took the new one back
    ([(1, 1.0, True), (1, 2.0, False), (1, 3.0, True)], 1),  # took it back, then voted again
    ([(1, 1.0, True), (4, 2.0, True), (1, 3.0, False)], 4),  # moved, then removed the old thumb
    ([(2, 1.0, True), (3, 2.0, True), (2, 3.0, True)], 2),  # back to the first
    ([(1, 1.0, True), (1, 2.0, False)], None),
    ([(1, 1.0, True), (2, 2.0, True), (2, 3.0, False), (1, 4.0, False)], None),
]


@pytest.mark.parametrize(("sequence", "expected"), SEQUENCES)
def test_the_vote_does_not_depend_on_arrival_order(
    sequence: list[tuple[int, float, bool]], expected: int | None
) -> None:
    import itertools

    for order in itertools.permutations(sequence):
        mine: list[Reaction] = []
        for variant, at, added in order:
            react(mine, variant, at, added=added)
        assert current_vote(mine) == expected, order
        redelivered = list(mine)
        for variant, at, added in order:  # the same events again change nothing
            assert react(redelivered, variant, at, added=added).change is VoteChange.UNCHANGED


def test_tally_lists_every_variant() -> None:
    assert tally({"U1": 2, "U2": 2, "U3": 4}, range(1, 5)) == {1: 0, 2: 2, 3: 0, 4: 1}


def test_winner_and_ties() -> None:
    assert pick_winner({1: 0, 2: 2, 3: 1}) == Winner(2, 2)
    assert pick_winner({1: 2, 2: 2, 3: 1}) == Tie((1, 2), 2)
    assert pick_winner({1: 0, 2: 0}) == Tie((1, 2), 0)  # nobody voted: the requester chooses
    assert pick_winner({1: 3, 2: 2, 3: 2}, eligible=[2, 3]) == Tie((2, 3), 2)
    with pytest.raises(ValueError):
        pick_winner({})


# --- upgrade ---------------------------------------------------------------------------------------


def test_requester_upgrades_the_winner() -> None:
    result = decide_upgrade(view(), REQ, {"U1": 3, "U2": 3, "U3": 1}, Policy())
    assert isinstance(result, Upgrade) and result.winner == 3 and not result.chosen_by_requester


def test_approver_may_upgrade() -> None:
    result = decide_upgrade(view(), "UAPP", {"U1": 1}, Policy(approvers=frozenset({"UAPP"})))
    assert isinstance(result, Upgrade) and result.winner == 1


def test_others_may_not_upgrade() -> None:
    result = decide_upgrade(view(), "U1", {"U1": 1}, Policy())
    assert isinstance(result, Refusal) and result.code == "not_requester_or_approver"
    # With no approvers configured, "anyone may approve" does not extend to upgrading.
    result = decide_upgrade(view(), "U1", {"U1": 1}, Policy(approvers=frozenset({"UAPP"})))
    assert isinstance(result, Refusal)


@pytest.mark.parametrize("status", [s for s in S if s is not S.VOTING])
def test_upgrade_only_while_voting(status: DraftStatus) -> None:
    result = decide_upgrade(view(status), REQ, {"U1": 1}, Policy())
    assert isinstance(result, Refusal) and result.code == "wrong_status"


def test_tie_is_never_broken_silently() -> None:
    result = decide_upgrade(view(), REQ, {"U1": 1, "U2": 2}, Policy())
    assert isinstance(result, TieBreakNeeded) and result.tie.variants == (1, 2)


def test_tie_break_by_requester() -> None:
    votes = {"U1": 1, "U2": 2}
    result = decide_tie_break(view(), REQ, 2, votes, Policy())
    assert isinstance(result, Upgrade) and result.winner == 2 and result.chosen_by_requester


def test_tie_break_refusals() -> None:
    votes = {"U1": 1, "U2": 2}
    approver_policy = Policy(approvers=frozenset({"UAPP"}))
    assert isinstance(decide_tie_break(view(), "UAPP", 2, votes, approver_policy), Refusal)
    not_leader = decide_tie_break(view(), REQ, 3, votes, Policy())
    assert isinstance(not_leader, Refusal) and not_leader.code == "not_a_leader"
    closed = decide_tie_break(view(S.REVIEWING), REQ, 1, votes, Policy())
    assert isinstance(closed, Refusal) and closed.code == "wrong_status"


def test_tie_break_after_votes_moved_to_a_clear_winner() -> None:
    result = decide_tie_break(view(), REQ, 2, {"U1": 2, "U2": 2}, Policy())
    assert isinstance(result, Upgrade) and result.winner == 2 and not result.chosen_by_requester


def test_only_posted_variants_can_win() -> None:
    result = decide_upgrade(view(), REQ, {}, Policy(), eligible=[3])
    assert isinstance(result, Upgrade) and result.winner == 3


# --- approval --------------------------------------------------------------------------------------


def test_anyone_approves_when_no_approvers_configured() -> None:
    assert may_approve(view(S.REVIEWING), "U1", Policy()) is None
    assert may_approve(view(S.REVIEWING), REQ, Policy()) is None


def test_self_approval_policy() -> None:
    policy = Policy(allow_self_approval=False)
    refusal = may_approve(view(S.REVIEWING), REQ, policy)
    assert refusal is not None and refusal.code == "self_approval_not_allowed"
    assert may_approve(view(S.REVIEWING), "U1", policy) is None
    strict = Policy(approvers=frozenset({REQ, "UAPP"}), allow_self_approval=False)
    assert may_approve(view(S.REVIEWING), REQ, strict) is not None
    assert may_approve(view(S.REVIEWING), "UAPP", strict) is None


def test_approval_waits_for_the_review_image() -> None:
    pending = DraftView(status=S.REVIEWING, requester=REQ, n_variants=4, review_ready=False)
    refusal = may_approve(pending, "U1", Policy())
    assert refusal is not None and refusal.code == "review_not_ready"


def test_configured_approvers_only() -> None:
    policy = Policy(approvers=frozenset({"UAPP"}))
    refusal = may_approve(view(S.REVIEWING), "U1", policy)
    assert refusal is not None and refusal.code == "not_approver"
    assert may_approve(view(S.REVIEWING), "UAPP", policy) is None


@pytest.mark.parametrize("status", [s for s in S if s is not S.REVIEWING])
def test_approve_and_reject_only_in_review(status: DraftStatus) -> None:
    for decide in (may_approve, may_reject):
        refusal = decide(view(status), "U1", Policy())
        assert refusal is not None and refusal.code == "wrong_status"


def test_reject_by_requester_or_approver() -> None:
    policy = Policy(approvers=frozenset({"UAPP"}))
    assert may_reject(view(S.REVIEWING), REQ, policy) is None
    assert may_reject(view(S.REVIEWING), "UAPP", policy) is None
    assert may_reject(view(S.REVIEWING), "U1", policy) is not None


def test_cancel() -> None:
    assert may_cancel(view(S.GENERATING), REQ, Policy()) is None
    assert may_cancel(view(S.VOTING), "U1", Policy()) is not None
    assert may_cancel(view(S.FINAL), REQ, Policy()) is not None
