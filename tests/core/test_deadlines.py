"""Decisions about time, with plain values: what a voting deadline does, and whether a review is reminded."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from bot import blocks
from bot.audit import SYSTEM
from bot.deadlines import decide_deadline, needs_reminder, reminder_mentions
from bot.publisher import DraftCard, MessageRef, ReminderCard
from bot.workflow import DraftStatus, DraftView, Policy, TieBreakNeeded, Upgrade
from tests.block_kit import message_problems

DEADLINE = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
AFTER = DEADLINE + timedelta(seconds=1)


def view(status: DraftStatus = DraftStatus.VOTING, n: int = 4) -> DraftView:
    return DraftView(status=status, requester="UREQ", n_variants=n)


def decide(draft: DraftView, votes: dict[str, int], **kw: object) -> object:
    args: dict[str, object] = {
        "eligible": [1, 2, 3, 4],
        "deadline": DEADLINE,
        "now": AFTER,
        "tie_asked": False,
    }
    return decide_deadline(draft, votes, **(args | kw))  # type: ignore[arg-type]


def test_the_most_voted_variant_goes_to_2k_at_the_deadline() -> None:
    result = decide(view(), {"U1": 3, "U2": 3, "U3": 1})
    assert isinstance(result, Upgrade)
    assert result.winner == 3 and result.counts == {1: 1, 2: 0, 3: 2, 4: 0}
    assert not result.chosen_by_requester


def test_a_tie_goes_to_the_requester_once() -> None:
    result = decide(view(), {"U1": 1, "U2": 2})
    assert isinstance(result, TieBreakNeeded) and result.tie.variants == (1, 2)
    assert decide(view(), {"U1": 1, "U2": 2}, tie_asked=True) is None  # asked already: not twice


def test_no_votes_at_all_is_a_tie_of_every_posted_variant() -> None:
    result = decide(view(), {}, eligible=[1, 3])
    assert isinstance(result, TieBreakNeeded) and result.tie.variants == (1, 3)


def test_a_tie_broken_after_the_ask_upgrades_the_leader() -> None:
    assert isinstance(decide(view(), {"U1": 1, "U2": 2, "U3": 2}, tie_asked=True), Upgrade)


def test_only_posted_variants_can_win() -> None:
    result = decide(view(), {"U1": 4, "U2": 4, "U3": 1}, eligible=[1, 2, 3])
    assert isinstance(result, Upgrade) and result.winner == 1


def test_nothing_to_do_unless_voting_and_due() -> None:
    votes = {"U1": 2}
    for status in DraftStatus:
        if status is not DraftStatus.VOTING:
            assert decide(view(status), votes) is None, status  # generating, upgraded, cancelled...
    assert decide(view(), votes, deadline=None) is None
    assert decide(view(), votes, now=DEADLINE - timedelta(seconds=1)) is None
    assert isinstance(decide(view(), votes, now=DEADLINE), Upgrade)  # due at the deadline itself
    assert decide(view(), votes, eligible=[]) is None


def test_a_review_is_reminded_only_while_it_waits() -> None:
    waiting = {"posted": True, "latest": True, "approvals": 0, "decided": False, "reminded": False}
    assert needs_reminder(DraftStatus.REVIEWING, **waiting)  # type: ignore[arg-type]
    for change in (
        {"posted": False},
        {"latest": False},  # a newer version superseded it
        {"approvals": 1},
        {"decided": True},
        {"reminded": True},  # never twice
    ):
        assert not needs_reminder(DraftStatus.REVIEWING, **(waiting | change)), change  # type: ignore[arg-type]
    for status in (DraftStatus.APPROVED, DraftStatus.REJECTED, DraftStatus.FINAL, DraftStatus.FAILED):
        assert not needs_reminder(status, **waiting)  # type: ignore[arg-type]


def test_the_reminder_mentions_the_approvers() -> None:
    policy = Policy(approvers=frozenset({"U0KIM", "U0LEE"}))
    assert reminder_mentions(policy, "UREQ") == (("U0KIM", "U0LEE"), False)


def test_without_approvers_it_mentions_the_requester_and_says_anyone_may_approve() -> None:
    assert reminder_mentions(Policy(), "UREQ") == (("UREQ",), True)


def test_a_requester_who_may_not_approve_their_own_is_left_out() -> None:
    policy = Policy(approvers=frozenset({"UREQ", "U0KIM"}), allow_self_approval=False)
    assert reminder_mentions(policy, "UREQ") == (("U0KIM",), False)
    alone = Policy(approvers=frozenset({"UREQ"}), allow_self_approval=False)
    assert reminder_mentions(alone, "UREQ") == (("UREQ",), False)  # nobody else to ask


def test_only_user_ids_are_mentioned() -> None:
    policy = Policy(approvers=frozenset({"U0KIM", "<!channel>", "here"}))
    assert reminder_mentions(policy, "UREQ")[0] == ("U0KIM",)
    assert reminder_mentions(Policy(), "<!here>") == ((), True)


def card(status: DraftStatus, **changes: object) -> DraftCard:
    base = DraftCard(
        draft_id=7,
        team_id="T1",
        channel_id="C1",
        requester="UREQ",
        prompt="a fox",
        destination="poster",
        ratio="2:3",
        status=status,
        n_variants=4,
        ready=4,
        tally={1: 0, 2: 2, 3: 0, 4: 0},
        vote_deadline=DEADLINE,
        parent=MessageRef("C1", "1700000000.000100"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_the_parent_says_when_voting_closes() -> None:
    shown = json.dumps(blocks.parent_blocks(card(DraftStatus.VOTING)))
    epoch = int(DEADLINE.timestamp())
    assert f"Voting closes <!date^{epoch}^{{date_short_pretty}} at {{time}}|2026-12-02 14:00 UTC>" in shown
    assert "Voting closes" not in json.dumps(
        blocks.parent_blocks(card(DraftStatus.VOTING, vote_deadline=None))
    )
    voting = card(DraftStatus.VOTING)
    assert not message_problems({"text": blocks.parent_text(voting), "blocks": blocks.parent_blocks(voting)})


def test_after_the_deadline_the_winner_line_says_the_deadline_closed_voting() -> None:
    closed = card(DraftStatus.REVIEWING, winner=2, upgraded_by=SYSTEM, closed_by_deadline=True)
    shown = json.dumps(blocks.parent_blocks(closed))
    assert "Voting closed at its deadline" in shown and "variant 2 went to 2K with 2 votes" in shown
    assert "Voting closes" not in shown
    by_hand = json.dumps(blocks.parent_blocks(card(DraftStatus.REVIEWING, winner=2, upgraded_by="UREQ")))
    assert "deadline" not in by_hand


def test_the_reminder_mentions_only_user_ids() -> None:
    reminder = ReminderCard(2, 1, ("U0KIM", "<!channel>"), False, "1 day <!here>")
    text = blocks.reminder_text(card(DraftStatus.REVIEWING), reminder)
    assert text.startswith("<@U0KIM>: The 2K review of variant 2 has waited 1 day &lt;!here&gt;")
    assert "<!channel>" not in text and "<!here>" not in text
    anyone = blocks.reminder_text(card(DraftStatus.REVIEWING), ReminderCard(2, 2, ("UREQ",), True, "2 hours"))
    assert "*2K review v2 of variant 2*" in anyone and "any teammate can approve" in anyone
    reviewing = card(DraftStatus.REVIEWING)
    assert not message_problems({"text": text, "blocks": blocks.reminder_blocks(reviewing, reminder)})
