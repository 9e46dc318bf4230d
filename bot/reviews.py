"""The review's rules, pure like :mod:`bot.workflow`: who may approve, request changes on or reject which
version of the 2K review, how approvals add up to the 4K, and who may ask for the final in other shapes.

Only the latest version can be decided on; a press on an older one is refused in words that say which
version replaced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.workflow import DraftStatus, DraftView, Policy, Refusal, status_words

# A review version as a press names it: (the variant it is of, its version). Versions are numbered per
# variant, so the variant is needed to tell #1's v1 from #3's v1 after a return to voting.
ReviewRef = tuple[int, int]


def may_approve(
    draft: DraftView, user: str, policy: Policy, *, pressed: ReviewRef | None = None
) -> Refusal | None:
    """Whether ``user`` may approve the review (``pressed``: the one they pressed on, if known)."""
    if not policy.is_approver(user):
        return Refusal("Only an approver can approve this draft.", "not_approver")
    if user == draft.requester and not policy.allow_self_approval:
        return Refusal(
            "You asked for this draft, and this workspace doesn't allow approving your own; "
            "ask another approver.",
            "self_approval_not_allowed",
        )
    if draft.status is not DraftStatus.REVIEWING:
        return Refusal(status_words(draft.status, "approved"), "wrong_status")
    return _review_refusal(draft, pressed, "approve")


@dataclass(frozen=True)
class ApprovalCount:
    """An approval counted: how many distinct approvers the latest version has, of how many needed."""

    approvers: tuple[str, ...]  # in the order they approved
    needed: int
    again: bool = False  # this person had approved this version already

    @property
    def complete(self) -> bool:
        return len(self.approvers) >= self.needed


def decide_approval(
    draft: DraftView, user: str, policy: Policy, *, pressed: ReviewRef | None, approved: tuple[str, ...]
) -> ApprovalCount | Refusal:
    """``user`` approves the latest review version, which ``approved`` approved already (in order). The
    4K starts once ``policy.required_approvals`` distinct approvers did; the same person twice counts once."""
    refusal = may_approve(draft, user, policy, pressed=pressed)
    if refusal:
        return refusal
    if user in approved:
        return ApprovalCount(approved, policy.required_approvals, again=True)
    return ApprovalCount((*approved, user), policy.required_approvals)


def may_reject(
    draft: DraftView, user: str, policy: Policy, *, pressed: ReviewRef | None = None
) -> Refusal | None:
    if not policy.is_approver(user) and user != draft.requester:
        return Refusal("Only an approver or the requester can reject this draft.", "not_approver")
    if draft.status is not DraftStatus.REVIEWING:
        return Refusal(status_words(draft.status, "rejected"), "wrong_status")
    return _review_refusal(draft, pressed, "reject", need_ready=False)


def may_request_changes(
    draft: DraftView, user: str, policy: Policy, *, pressed: ReviewRef | None = None
) -> Refusal | None:
    """Approvers and the requester may ask for a new version of the latest review, within the limit."""
    if not policy.is_approver(user) and user != draft.requester:
        return Refusal(
            f"Only an approver or the requester <@{draft.requester}> can request changes.", "not_approver"
        )
    if draft.status is not DraftStatus.REVIEWING:
        return Refusal(status_words(draft.status, "changed"), "wrong_status")
    refusal = _review_refusal(draft, pressed, "change")
    if refusal:
        return refusal
    if draft.versions >= policy.max_versions:
        return Refusal(
            f"This draft has had its {policy.max_versions} review versions, the most it may have. "
            "Approve or reject this one (rejecting can take the draft back to voting).",
            "version_limit",
        )
    return None


def _review_refusal(
    draft: DraftView, pressed: ReviewRef | None, verb: str, *, need_ready: bool = True
) -> Refusal | None:
    """The latest review version must be the one pressed on, and (to approve or change it) be posted."""
    if pressed is not None and draft.review_ref is not None and pressed != draft.review_ref:
        return Refusal(
            f"That is {review_name(pressed)}; {review_name(draft.review_ref)} has replaced it. "
            f"Only the latest review can be {_VERBED[verb]}: it is further down the thread.",
            "superseded",
        )
    if need_ready and not draft.review_ready:
        return Refusal(
            f"The latest 2K review isn't posted yet; it can be {_VERBED[verb]} once it is.",
            "review_not_ready",
        )
    return None


def review_name(ref: ReviewRef) -> str:
    number, version = ref
    return f"the 2K review v{version} of variant {number}"


def parse_ref(text: str | None) -> ReviewRef | None:
    """``"2.1"`` (variant 2, version 1), as buttons and forms carry a review; None for anything else."""
    match = _REF.fullmatch(text or "")
    return (int(match[1]), int(match[2])) if match else None


_REF = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})")
_VERBED = {"approve": "approved", "reject": "rejected", "change": "changed"}


def may_also_as(draft: DraftView, user: str, policy: Policy) -> Refusal | None:
    """The approved final in another shape: for approvers and the requester, once the final is posted."""
    if not policy.is_approver(user) and user != draft.requester:
        return Refusal(
            f"Only an approver or the requester <@{draft.requester}> can ask for other shapes.",
            "not_approver",
        )
    if draft.status is not DraftStatus.FINAL:
        return Refusal("Other shapes are made from the posted 4K final; it isn't posted yet.", "wrong_status")
    return None
