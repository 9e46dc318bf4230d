"""The App Home as Block Kit: what waits for the person, their drafts (paged), and recent finals in their
channels. Pure: the items in, a ``home`` view out, never more than Slack's 100 blocks.

The buttons are the thread's own (same action ids, same values), so the same listeners decide a press on
the Home: the same permissions, the same audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.blocks.kit import (
    APPROVE,
    CHOOSE_TIED,
    UPGRADE,
    Block,
    actions,
    button,
    clip,
    context,
    escape,
    section,
)
from bot.budgets import usd

HOME_PAGE = "draft_home_page"  # Older / Newer drafts on the Home (value: the page to show)
MAX_BLOCKS = 100  # Slack's limit for a Home tab
WAITING_SHOWN = 12  # each is two blocks: what it is, and its buttons
DRAFTS_PER_PAGE = 20
FINALS_SHOWN = 10
PROMPT_SHOWN = 120  # characters of a prompt in a line

Waiting = Literal["review", "tie", "upgrade"]


@dataclass(frozen=True)
class WaitingItem:
    """Something only this person can move on: a review to approve, a tie to break, a winner to upgrade."""

    kind: Waiting
    draft_id: int
    prompt: str
    destination: str
    channel: str
    link: str | None = None
    review: tuple[int, int] | None = None  # (variant, version) of the review to approve
    tied: tuple[int, ...] = ()  # the tied variants to choose from


@dataclass(frozen=True)
class DraftLine:
    draft_id: int
    prompt: str
    destination: str
    status: str
    channel: str
    link: str | None = None


@dataclass(frozen=True)
class FinalLine:
    draft_id: int
    prompt: str
    destination: str
    channel: str
    approved_by: str | None
    file_id: str | None  # the 4K's Slack file, shown as a thumbnail
    link: str | None = None


@dataclass(frozen=True)
class SpendLine:
    """This month's spend in one channel the person drafts in, against the channel's budget."""

    channel: str
    usd: float
    budget_usd: float | None
    tiers: str  # "8 × 1K, 1 × 2K"


@dataclass(frozen=True)
class HomeItems:
    user: str
    waiting: tuple[WaitingItem, ...] = ()
    drafts: tuple[DraftLine, ...] = ()  # this page of them, newest first
    drafts_total: int = 0
    page: int = 0
    finals: tuple[FinalLine, ...] = ()
    finals_total: int = 0
    spend: tuple[SpendLine, ...] | None = None  # None: spend is not tracked here (no budgets service)


_STATUS = {
    "generating": "generating",
    "voting": "voting",
    "reviewing": "in 2K review",
    "approved": "approved, 4K on its way",
    "final": "final",
    "rejected": "rejected",
    "failed": "failed",
    "cancelled": "cancelled",
}


def home_view(items: HomeItems, *, notice: str | None = None) -> dict[str, object]:
    """The Home; ``notice`` (mrkdwn we composed) answers the person's last press on it, at the top: a
    press on the Home has no response URL for a private answer."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "draftbot"}},
        *([section(f":information_source: {notice[:2900]}")] if notice else []),
        *_waiting(items.waiting),
        {"type": "divider"},
        *_drafts(items),
        {"type": "divider"},
        *_finals(items.finals, items.finals_total),
        *(_spend(items.spend) if items.spend is not None else []),
    ]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


SPEND_SHOWN = 10  # channels; `/draft spend` has them all


def _spend(lines: tuple[SpendLine, ...]) -> list[Block]:
    blocks: list[Block] = [{"type": "divider"}, section("*Spend this month in your channels*")]
    if not lines:
        return [*blocks, context("Nothing spent yet this month in the channels you draft in.")]
    shown = [
        f"• <#{line.channel}>: {usd(line.usd)}"
        + (f" of {usd(line.budget_usd)}" if line.budget_usd is not None else "")
        + f" · {line.tiers}"
        for line in lines[:SPEND_SHOWN]
    ]
    blocks.append(section("\n".join(shown)))
    blocks.append(
        context("Estimates from the audit trail; `/draft spend` has them by channel and by person.")
    )
    return blocks


def _title(draft_id: int, prompt: str, link: str | None) -> str:
    name = f"<{link}|#{draft_id}>" if link else f"#{draft_id}"
    return f"{name} {escape(clip(prompt, PROMPT_SHOWN))}"


def _more(shown: int, total: int, what: str) -> list[Block]:
    return [context(f"…and {total - shown} more {what}.")] if total > shown else []


def _waiting(waiting: tuple[WaitingItem, ...]) -> list[Block]:
    blocks: list[Block] = [section("*Waiting for you*")]
    if not waiting:
        return [*blocks, context("Nothing waits for you right now.")]
    for item in waiting[:WAITING_SHOWN]:
        where = f"for *{escape(item.destination)}* in <#{item.channel}>"
        block_id = f"home-{item.draft_id}-{item.kind}"
        if item.kind == "review" and item.review:
            number, version = item.review
            blocks.append(
                section(
                    f"{_title(item.draft_id, item.prompt, item.link)}\nReview v{version} to approve {where}"
                )
            )
            value = f"{item.draft_id}:{number}.{version}"  # the thread's value: see bot.reviews.parse_ref
            blocks.append(actions(block_id, button("Approve for 4K", APPROVE, value, "primary")))
        elif item.kind == "tie":
            tied = ", ".join(str(n) for n in item.tied)
            blocks.append(
                section(f"{_title(item.draft_id, item.prompt, item.link)}\nVariants {tied} are tied {where}")
            )
            choices = [button(f"Choose #{n}", CHOOSE_TIED, f"{item.draft_id}:{n}") for n in item.tied[:25]]
            blocks.append(actions(block_id, *choices))
        else:
            blocks.append(section(f"{_title(item.draft_id, item.prompt, item.link)}\nVoting is open {where}"))
            blocks.append(
                actions(block_id, button("Upgrade winner to 2K", UPGRADE, str(item.draft_id), "primary"))
            )
    return blocks + _more(min(len(waiting), WAITING_SHOWN), len(waiting), "waiting")


def _drafts(items: HomeItems) -> list[Block]:
    blocks: list[Block] = [section("*Your drafts*")]
    if not items.drafts:
        return [*blocks, context("You have no drafts yet: type `/draft <prompt> for <destination>`.")]
    for line in items.drafts[:DRAFTS_PER_PAGE]:
        status = _STATUS.get(line.status, line.status)
        blocks.append(
            section(
                f"{_title(line.draft_id, line.prompt, line.link)}\n"
                f"*{escape(line.destination)}* in <#{line.channel}> · {status}"
            )
        )
    first = items.page * DRAFTS_PER_PAGE
    last = first + min(len(items.drafts), DRAFTS_PER_PAGE)
    pager: list[Block] = []
    if items.page > 0:
        pager.append(button("Newer drafts", HOME_PAGE, str(items.page - 1)))
    if last < items.drafts_total:
        pager.append(button("Older drafts", HOME_PAGE, str(items.page + 1)))
    blocks.append(context(f"Drafts {first + 1}–{last} of {items.drafts_total}, latest first."))
    if pager:
        blocks.append(actions("home-pages", *pager))
    return blocks


def _finals(finals: tuple[FinalLine, ...], total: int) -> list[Block]:
    blocks: list[Block] = [section("*Recent finals in your channels*")]
    if not finals:
        return [*blocks, context("No finals yet in the channels you draft in.")]
    for final in finals[:FINALS_SHOWN]:
        who = f"approved by <@{final.approved_by}>" if final.approved_by else "approved"
        text = {
            "type": "mrkdwn",
            "text": clip(
                f"{_title(final.draft_id, final.prompt, final.link)} · *{escape(final.destination)}* "
                f"in <#{final.channel}> · {who}",
                3000,
            ),
        }
        elements: list[Block] = []
        if final.file_id:
            alt = clip(f"Draft #{final.draft_id}'s 4K final", 2000)
            elements.append({"type": "image", "slack_file": {"id": final.file_id}, "alt_text": alt})
        blocks.append({"type": "context", "elements": [*elements, text]})
    return blocks + _more(min(len(finals), FINALS_SHOWN), total, "finals")
