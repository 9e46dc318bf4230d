"""Decisions about time, over plain values: what a draft's voting deadline does when it comes, whether a
2K review waiting for a decision gets its reminder, and whom that reminder mentions. No Slack, no SQL, no
clock (the time is passed in).

Kept beside :mod:`bot.workflow` rather than in it: the workflow core is a person's permissions and the
state machine; these are the bot's own moves, taken by scheduled jobs that may run late or twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.workflow import DraftStatus, DraftView, Policy, Tie, TieBreakNeeded, Upgrade, pick_winner, tally

# A Slack user id: only these are ever written as a mention.
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")


def decide_deadline(
    draft: DraftView,
    votes: Mapping[str, int],
    *,
    eligible: Iterable[int],
    deadline: datetime | None,
    now: datetime,
    tie_asked: bool,
) -> Upgrade | TieBreakNeeded | None:
    """The voting deadline came (the job that runs at ``deadline``, at ``now``).

    While voting: the most-voted posted variant goes to 2K; a tie goes to the requester as the button's
    does, once (``tie_asked``: they were asked already, by the deadline or by an earlier press). Anything
    else is nothing to do: no deadline or not yet, still generating (voting closes when it opens), or the
    draft moved on by hand (upgraded, cancelled)."""
    if deadline is None or now < deadline or draft.status is not DraftStatus.VOTING:
        return None
    posted = list(eligible)
    if not posted:
        return None
    counts = tally(votes, draft.variant_numbers)
    result = pick_winner(counts, posted)
    if isinstance(result, Tie):
        return None if tie_asked else TieBreakNeeded(result, counts)
    return Upgrade(result.variant, counts)


def needs_reminder(
    status: DraftStatus,
    *,
    posted: bool,
    latest: bool,
    approvals: int,
    decided: bool,
    reminded: bool,
) -> bool:
    """Whether a 2K review gets its one reminder now: the draft is still in review, this review is posted
    and still the one under review (no newer version superseded it), nobody approved or decided it, and it
    was not reminded of before."""
    return (
        status is DraftStatus.REVIEWING
        and posted
        and latest
        and approvals == 0
        and not decided
        and not reminded
    )


def reminder_mentions(policy: Policy, requester: str) -> tuple[tuple[str, ...], bool]:
    """Whom a review reminder mentions, and whether anyone may approve (no approvers configured: then the
    requester is mentioned and told any teammate can approve). The requester is left out when they may not
    approve their own draft, unless nobody else is configured. Only well-formed user ids are mentioned."""
    if not policy.approvers:
        return tuple(u for u in (requester,) if mentionable(u)), True
    approvers = sorted(u for u in policy.approvers if mentionable(u))
    if not policy.allow_self_approval and any(u != requester for u in approvers):
        approvers = [u for u in approvers if u != requester]
    return tuple(approvers), False


def mentionable(user: str) -> bool:
    """Whether ``user`` is a well-formed Slack user id (only those are ever written as a mention)."""
    return bool(_USER_ID.fullmatch(user))
