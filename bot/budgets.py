"""Budgets and spend, as plain values: which month, what is left, whether a request fits, and the words.

Pure, like :mod:`bot.workflow`: the spend so far comes in as numbers (read from the audit trail's
``generation`` events by :mod:`storage.spend`), the decision goes out as a :class:`Refusal` or None.
A month is a calendar month in UTC.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import UserInputError
from bot.workflow import Refusal

OVER_BUDGET = "over_budget"
# Below a hundredth of a cent nothing is worth refusing (float sums of estimates drift by less).
_EPSILON = 1e-6
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, at: datetime) -> Month:
        at = at.astimezone(UTC)
        return cls(at.year, at.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-11``; anything else is the person's mistake, said plainly."""
        found = _MONTH.match(text.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12:
            raise UserInputError(f"`{text.strip()}` is not a month: write it like `2026-11`.", field="month")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment of the next month (exclusive)."""
        if self.month == 12:
            return datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return datetime(self.year, self.month + 1, 1, tzinfo=UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Limit:
    """One budget and what has been spent against it this month."""

    limit_usd: float
    spent_usd: float
    channel: str | None = None  # None: the workspace's (DRAFTBOT_MONTHLY_BUDGET_USD)

    @property
    def left_usd(self) -> float:
        return max(0.0, self.limit_usd - self.spent_usd)

    @property
    def whose(self) -> str:
        """Whose budget it is, in a sentence: "the workspace's $0.10" or "<#C1>'s $50"."""
        owner = "the workspace's" if self.channel is None else f"<#{self.channel}>'s"
        return f"{owner} {usd(self.limit_usd)}"


def usd(amount: float) -> str:
    """Dollars as a person reads them: $50, $0.52, $0.006 (tiny amounts keep a figure that isn't 0)."""
    if amount >= 1 and abs(amount - round(amount)) < 0.005:
        return f"${round(amount)}"
    if amount == 0 or amount >= 0.01:
        return f"${amount:.2f}"
    return f"${amount:.3f}"


def over_budget(cost_usd: float, limits: Iterable[Limit], *, what: str) -> Refusal | None:
    """Refused when ``what`` ("this round", "the 4K") costing ``cost_usd`` would pass any of ``limits``,
    with the figures of the first it would pass; None when it fits them all (a free image always fits)."""
    if cost_usd <= _EPSILON:
        return None
    verb = "cost" if what.startswith("these ") else "costs"
    for limit in limits:
        if limit.spent_usd + cost_usd > limit.limit_usd + _EPSILON:
            return Refusal(
                f"{what[0].upper()}{what[1:]} {verb} about {usd(cost_usd)}; {usd(limit.left_usd)} of "
                f"{limit.whose} is left this month, so nothing was made. Raise the budget in the "
                "channel's settings, or wait for next month.",
                OVER_BUDGET,
            )
    return None


def limits(
    *,
    workspace_usd: float | None,
    workspace_spent: float,
    channel: str,
    channel_usd: float | None,
    channel_spent: float,
) -> list[Limit]:
    """The budgets that apply to a generation in ``channel``: the workspace's, then the channel's."""
    found = []
    if workspace_usd is not None:
        found.append(Limit(workspace_usd, workspace_spent))
    if channel_usd is not None:
        found.append(Limit(channel_usd, channel_spent, channel))
    return found


def what_costs(tier: str, count: int) -> str:
    """What is asked, in the refusal's words: "these 4 variants", "the 2K review", "the 4K final"."""
    if tier == "1K":
        return "this variant" if count == 1 else f"these {count} variants"
    return "the 2K review" if tier == "2K" else "the 4K final"


# --- the spend report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendRow:
    """Generated images of one tier in one channel for one person, and their estimated cost."""

    channel: str  # "" when the draft is no longer known
    person: str  # the draft's requester: who asked for the work
    tier: str
    images: int
    usd: float


@dataclass(frozen=True)
class Total:
    usd: float = 0.0
    images: dict[str, int] | None = None  # by tier

    def tiers(self) -> str:
        counts = self.images or {}
        return ", ".join(f"{counts[t]} × {t}" for t in sorted(counts, key=_tier_order)) or "no images"


@dataclass(frozen=True)
class SpendReport:
    month: Month
    total: Total
    by_channel: dict[str, Total]
    by_person: dict[str, Total]
    workspace_usd: float | None = None
    channel_budgets: dict[str, float] | None = None


def _tier_order(tier: str) -> tuple[int, str]:
    return (int(tier[:-1]) if tier[:-1].isdigit() else 99, tier)


def _totals(rows: Iterable[SpendRow]) -> Total:
    images: dict[str, int] = defaultdict(int)
    spent = 0.0
    for row in rows:
        images[row.tier] += row.images
        spent += row.usd
    return Total(round(spent, 6), dict(images))


def spend_report(
    month: Month,
    rows: Sequence[SpendRow],
    *,
    workspace_usd: float | None = None,
    channel_budgets: dict[str, float] | None = None,
) -> SpendReport:
    by_channel: dict[str, list[SpendRow]] = defaultdict(list)
    by_person: dict[str, list[SpendRow]] = defaultdict(list)
    for row in rows:
        by_channel[row.channel].append(row)
        by_person[row.person].append(row)
    return SpendReport(
        month,
        _totals(rows),
        {key: _totals(group) for key, group in sorted(by_channel.items())},
        {key: _totals(group) for key, group in sorted(by_person.items())},
        workspace_usd,
        channel_budgets or {},
    )


def _against(spent: float, budget: float | None) -> str:
    return f"{usd(spent)} of {usd(budget)}" if budget is not None else usd(spent)


def spend_lines(report: SpendReport) -> list[str]:
    """The report in Slack's words (mrkdwn), for `/draft spend`."""
    budgets = report.channel_budgets or {}
    lines = [
        f"*Spend in {report.month}* (estimated): {_against(report.total.usd, report.workspace_usd)}"
        f" — {report.total.tiers()}"
    ]
    if not report.by_channel:
        return [*lines, "Nothing was generated that month."]
    lines.append("*By channel*")
    for channel, total in report.by_channel.items():
        name = f"<#{channel}>" if channel else "(unknown channel)"
        lines.append(f"• {name}: {_against(total.usd, budgets.get(channel))} — {total.tiers()}")
    lines.append("*By person* (who asked for the draft)")
    for person, total in report.by_person.items():
        lines.append(f"• <@{person}>: {usd(total.usd)} — {total.tiers()}")
    return lines


CSV_FIELDS = ("month", "channel_id", "user_id", "tier", "images", "cost_estimate_usd")


def csv_records(report_rows: Sequence[SpendRow], month: Month) -> list[dict[str, str]]:
    """One line per channel, person and tier, for finance: the columns of :data:`CSV_FIELDS`."""
    ordered = sorted(report_rows, key=lambda r: (r.channel, r.person, _tier_order(r.tier)))
    return [
        {
            "month": str(month),
            "channel_id": row.channel,
            "user_id": row.person,
            "tier": row.tier,
            "images": str(row.images),
            "cost_estimate_usd": f"{row.usd:.4f}",
        }
        for row in ordered
    ]
