"""Budgets as plain values: months, what is left, whether a request fits, and the words with the figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.budgets import (
    Limit,
    Month,
    SpendRow,
    csv_records,
    limits,
    over_budget,
    spend_lines,
    spend_report,
    usd,
    what_costs,
)
from bot.errors import UserInputError


def test_a_month_is_a_calendar_month_in_utc() -> None:
    late = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # December in UTC
    assert Month.of(late) == Month(2026, 12)
    assert Month(2026, 12).start == datetime(2026, 12, 1, tzinfo=UTC)
    assert Month(2026, 12).end == datetime(2027, 1, 1, tzinfo=UTC)
    assert Month(2026, 11).end == datetime(2026, 12, 1, tzinfo=UTC)
    assert Month.parse(" 2026-11 ") == Month(2026, 11) and str(Month(2026, 1)) == "2026-01"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "nov", "2026-1", "26-11", ""])
def test_a_month_that_is_not_one_is_said_plainly(text: str) -> None:
    with pytest.raises(UserInputError, match="write it like `2026-11`"):
        Month.parse(text)


def test_dollars_read_as_a_person_writes_them() -> None:
    assert [usd(x) for x in (50, 50.0, 1.5, 0.52, 0.0, 0.006, 0.31)] == [
        "$50",
        "$50",
        "$1.50",
        "$0.52",
        "$0.00",
        "$0.006",
        "$0.31",
    ]


def test_what_would_pass_a_budget_is_refused_with_the_figures() -> None:
    channel = Limit(50.0, 49.69, "C1")
    refusal = over_budget(0.52, [channel], what="this round")
    assert refusal is not None and refusal.code == "over_budget"
    assert refusal.reason.startswith("This round costs about $0.52; $0.31 of <#C1>'s $50 is left this month")
    assert over_budget(0.31, [channel], what="this round") is None  # exactly what is left fits
    plural = over_budget(0.6, [channel], what=what_costs("1K", 4))
    assert plural is not None and plural.reason.startswith("These 4 variants cost about $0.60")


def test_the_first_budget_it_would_pass_is_named_and_free_images_always_fit() -> None:
    found = limits(workspace_usd=0.10, workspace_spent=0.06, channel="C1", channel_usd=1.0, channel_spent=0.0)
    refusal = over_budget(0.053, found, what="the 2K review")
    assert refusal is not None and "$0.04 of the workspace's $0.10" in refusal.reason
    spent = [Limit(0.0, 0.0), Limit(1.0, 3.0, "C1")]  # a zero budget, one overspent already
    assert over_budget(0.0, spent, what="the 4K final") is None
    over = over_budget(0.01, spent[1:], what="the 4K final")
    assert over is not None and "$0.00 of <#C1>'s $1 is left" in over.reason
    assert (
        limits(workspace_usd=None, workspace_spent=9, channel="C1", channel_usd=None, channel_spent=9) == []
    )


def test_what_is_asked_in_words() -> None:
    assert [what_costs("1K", 1), what_costs("1K", 3), what_costs("2K", 1), what_costs("4K", 1)] == [
        "this variant",
        "these 3 variants",
        "the 2K review",
        "the 4K final",
    ]


ROWS = [
    SpendRow("C1", "UANN", "1K", 4, 0.212),
    SpendRow("C1", "UANN", "2K", 1, 0.212),
    SpendRow("C1", "UBOB", "1K", 2, 0.106),
    SpendRow("C2", "UBOB", "4K", 1, 0.419),
]


def test_the_report_adds_up_by_channel_person_and_tier() -> None:
    report = spend_report(Month(2026, 11), ROWS, workspace_usd=10.0, channel_budgets={"C1": 1.0})
    assert report.total.usd == pytest.approx(0.949) and report.total.images == {"1K": 6, "2K": 1, "4K": 1}
    assert report.by_channel["C1"].usd == pytest.approx(0.53) and report.by_channel["C2"].images == {"4K": 1}
    assert report.by_person["UBOB"].usd == pytest.approx(0.525)
    lines = spend_lines(report)
    assert lines[0] == "*Spend in 2026-11* (estimated): $0.95 of $10 — 6 × 1K, 1 × 2K, 1 × 4K"
    assert "• <#C1>: $0.53 of $1 — 6 × 1K, 1 × 2K" in lines
    assert "• <#C2>: $0.42 — 1 × 4K" in lines
    assert "• <@UBOB>: $0.53 — 2 × 1K, 1 × 4K" in lines
    assert spend_lines(spend_report(Month(2026, 1), []))[-1] == "Nothing was generated that month."


def test_csv_records_are_one_line_per_channel_person_and_tier() -> None:
    records = csv_records(list(reversed(ROWS)), Month(2026, 11))
    assert [(r["channel_id"], r["user_id"], r["tier"]) for r in records] == [
        ("C1", "UANN", "1K"),
        ("C1", "UANN", "2K"),
        ("C1", "UBOB", "1K"),
        ("C2", "UBOB", "4K"),
    ]
    assert records[0] == {
        "month": "2026-11",
        "channel_id": "C1",
        "user_id": "UANN",
        "tier": "1K",
        "images": "4",
        "cost_estimate_usd": "0.2120",
    }
