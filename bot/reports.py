"""`/draft status [#id]` and `/draft history [@person | #channel] [--since 7d] [--page N]`, pure: their
arguments read, and their private answers written from plain values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.blocks.kit import and_people, clip, escape
from bot.errors import UserInputError
from bot.publisher import DraftCard
from bot.workflow import DraftStatus, Policy, VariantState

HISTORY_PAGE = 10
MAX_SINCE = timedelta(days=366)

_DRAFT_REF = re.compile(r"#?([0-9]{1,12})")
_USER = re.compile(r"<@([UW][A-Z0-9]{1,20})(?:\|[^>]*)?>|@?([UW][A-Z0-9]{2,20})")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]{1,20})(?:\|[^>]*)?>|#?([CGD][A-Z0-9]{2,20})")
_SINCE = re.compile(r"([0-9]{1,3})\s*([hdw])", re.IGNORECASE)
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_status(args: str) -> int | None:
    """The draft `/draft status` asks about (None: the channel's latest)."""
    text = args.strip()
    if not text:
        return None
    match = _DRAFT_REF.fullmatch(text)
    if match is None:
        raise UserInputError(f"`{clip(text, 30)}` is not a draft: write `/draft status #12` (or no number).")
    return int(match[1])


@dataclass(frozen=True)
class HistoryQuery:
    person: str | None = None
    channel: str | None = None
    since: timedelta | None = None
    page: int = 1  # 1-based, as people say it


def parse_history(args: str) -> HistoryQuery:
    tokens = args.split()
    person = channel = None
    since: timedelta | None = None
    page = 1
    while tokens:
        token = tokens.pop(0)
        if token in ("--since", "--page"):
            if not tokens:
                raise UserInputError(
                    f"`{token}` needs a value, e.g. `{token} {'7d' if token == '--since' else '2'}`."
                )
            value = tokens.pop(0)
            if token == "--since":
                since = _since(value)
            elif value.isascii() and value.isdigit() and 1 <= int(value) <= 1000:
                page = int(value)
            else:
                raise UserInputError(f"`--page {clip(value, 20)}` is not a page: write `--page 2`.")
        elif user := _USER.fullmatch(token):
            person = user[1] or user[2]
        elif where := _CHANNEL.fullmatch(token):
            channel = where[1] or where[2]
        else:
            raise UserInputError(
                f"`{escape(clip(token, 30))}` is not a person or a channel: pick them from Slack's "
                "suggestions (`@name`, `#channel`), e.g. `/draft history @ann --since 7d`."
            )
    return HistoryQuery(person, channel, since, page)


def _since(value: str) -> timedelta:
    match = _SINCE.fullmatch(value)
    if match is None:
        raise UserInputError(f"`--since {clip(value, 20)}` is not a time: write it like `12h`, `7d` or `2w`.")
    since = int(match[1]) * _UNIT[match[2].lower()]
    if since > MAX_SINCE:
        raise UserInputError("`--since` can go back at most a year.")
    return since


_STATUS = {
    DraftStatus.GENERATING: "generating the 1K variants",
    DraftStatus.VOTING: "voting",
    DraftStatus.REVIEWING: "in 2K review",
    DraftStatus.APPROVED: "approved; the 4K final is being made",
    DraftStatus.FINAL: "final",
    DraftStatus.REJECTED: "rejected",
    DraftStatus.FAILED: "failed",
    DraftStatus.CANCELLED: "cancelled",
}


def status_name(status: str) -> str:
    try:
        return _STATUS[DraftStatus(status)]
    except ValueError:
        return status


def waits_on(card: DraftCard, policy: Policy) -> str:
    """Who (or what) the draft waits on now, in words."""
    requester = f"<@{card.requester}>"
    status = card.status
    if status is DraftStatus.GENERATING:
        return f"the 1K variants being made ({card.progress})"
    if status is DraftStatus.VOTING:
        if card.tie_asked:
            return f"{requester}, to choose among the tied variants"
        return f"votes, then {requester} or an approver to upgrade the winner to 2K"
    if status is DraftStatus.REVIEWING:
        if card.review_state is not VariantState.POSTED:
            return "the 2K review being made"
        left = card.required_approvals - len(card.approvals)
        count = f"{len(card.approvals)} of {card.required_approvals} approvals"
        if not policy.approvers:
            return f"any approver, to approve the 2K review ({count})"
        people = sorted(
            a
            for a in policy.approvers
            if a not in card.approvals and (policy.allow_self_approval or a != card.requester)
        )
        who = and_people(tuple(people)) if people else "an approver"
        return f"{who} ({left} more approval{'s' if left != 1 else ''}; {count})"
    if status is DraftStatus.APPROVED:
        return "the 4K final being made"
    if status is DraftStatus.FAILED:
        return f"{requester} or an approver, to retry"
    return f"nobody: it is {_STATUS[status]}"


@dataclass(frozen=True)
class ReviewVersion:
    number: int
    version: int
    state: str
    outcome: str | None


def status_text(
    card: DraftCard, policy: Policy, versions: tuple[ReviewVersion, ...], link: str | None
) -> str:
    name = f"<{link}|Draft #{card.draft_id}>" if link else f"Draft #{card.draft_id}"
    lines = [
        f"*{name}* by <@{card.requester}> in <#{card.channel_id}>",
        f"“{escape(clip(card.prompt, 300))}” for *{escape(card.destination)}* ({card.ratio})",
        f"*Status:* {_STATUS[card.status]}",
    ]
    counted = {n: c for n, c in sorted(card.tally.items()) if c}
    if counted:
        total = sum(counted.values())
        shown = " · ".join(f"#{n}: {c}" for n, c in counted.items())
        lines.append(f"*Votes:* {shown} ({total} vote{'s' if total != 1 else ''})")
    else:
        lines.append("*Votes:* none yet")
    if versions:
        shown = ", ".join(
            f"v{v.version} of #{v.number} ({(v.outcome or v.state).replace('_', ' ')})" for v in versions
        )
        lines.append(f"*2K review versions:* {shown}")
    lines.append(f"*Waits on:* {waits_on(card, policy)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class HistoryLine:
    draft_id: int
    prompt: str
    destination: str
    status: str
    channel: str
    requester: str
    created_at: datetime
    link: str | None


def history_text(query: HistoryQuery, lines: tuple[HistoryLine, ...], total: int) -> str:
    whose = f" by <@{query.person}>" if query.person else ""
    where = f" in <#{query.channel}>" if query.channel else ""
    when = f" in the last {_ago(query.since)}" if query.since else ""
    if not lines:
        if total:
            return f"There are only {total} drafts{whose}{where}{when}; page {query.page} is past the last."
        return f"No drafts{whose}{where}{when}."
    first = (query.page - 1) * HISTORY_PAGE + 1
    last = first + len(lines) - 1
    head = f"*Drafts{whose}{where}{when}*: {first}–{last} of {total}, latest first"
    rows = []
    for line in lines:
        name = f"<{line.link}|#{line.draft_id}>" if line.link else f"#{line.draft_id}"
        rows.append(
            f"• {name} {escape(clip(line.prompt, 80))} · *{escape(line.destination)}* · "
            f"{status_name(line.status)} · <@{line.requester}> in <#{line.channel}> · "
            f"{line.created_at:%Y-%m-%d %H:%M} UTC"
        )
    more = f"\nOlder: `/draft history{_args(query)} --page {query.page + 1}`" if last < total else ""
    return "\n".join([head, *rows]) + more


def _ago(since: timedelta) -> str:
    hours = int(since.total_seconds() // 3600)
    if hours % 24:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"


def _args(query: HistoryQuery) -> str:
    parts = []
    if query.person:
        parts.append(f"<@{query.person}>")
    if query.channel:
        parts.append(f"<#{query.channel}>")
    if query.since:
        hours = int(query.since.total_seconds() // 3600)
        parts.append(f"--since {hours // 24}d" if hours % 24 == 0 else f"--since {hours}h")
    return "".join(f" {p}" for p in parts)
