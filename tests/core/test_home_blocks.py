"""The App Home's builder, pure: never more than Slack's 100 blocks however much there is, the thread's
own buttons and values, and what is not shown counted ("and N more", pages)."""

from __future__ import annotations

from typing import Any

from bot import blocks
from bot.blocks.home import (
    DRAFTS_PER_PAGE,
    FINALS_SHOWN,
    HOME_PAGE,
    MAX_BLOCKS,
    WAITING_SHOWN,
    DraftLine,
    FinalLine,
    HomeItems,
    SpendLine,
    WaitingItem,
    home_view,
)
from tests.block_kit import view_problems

HOSTILE = "<!channel> <@U999> & *bold* " * 40


def busy_home(n: int = 300, page: int = 0) -> HomeItems:
    kinds = ("review", "tie", "upgrade")
    waiting = tuple(
        WaitingItem(
            kinds[i % 3],  # type: ignore[arg-type]
            i,
            HOSTILE,
            "mobile cover",
            "C0GENERAL",
            f"https://t.slack.com/archives/C0GENERAL/p{i}",
            review=(2, 3),
            tied=tuple(range(1, 33)),
        )
        for i in range(n)
    )
    start = page * DRAFTS_PER_PAGE
    drafts = tuple(
        DraftLine(i, HOSTILE, "slide", "voting", "C0GENERAL", None)
        for i in range(start, min(n, start + DRAFTS_PER_PAGE))
    )
    finals = tuple(
        FinalLine(i, HOSTILE, "poster", "C0GENERAL", "U0DAVE", f"F{i:08d}", None) for i in range(FINALS_SHOWN)
    )
    return HomeItems("U0ALICE", waiting, drafts, n, page, finals, n)


def texts(view: dict[str, Any]) -> str:
    return str(view["blocks"])


def test_three_hundred_drafts_fit_in_a_hundred_blocks_and_say_what_is_not_shown() -> None:
    view = home_view(busy_home(300))
    assert view["type"] == "home"
    assert len(view["blocks"]) <= MAX_BLOCKS  # type: ignore[arg-type]
    assert view_problems(view) == []
    shown = texts(view)
    assert f"and {300 - WAITING_SHOWN} more waiting" in shown
    assert f"and {300 - FINALS_SHOWN} more finals" in shown
    assert f"Drafts 1–{DRAFTS_PER_PAGE} of 300" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown  # prompts are text, never mentions


def test_pages_go_older_and_newer() -> None:
    first = home_view(busy_home(300, page=0))
    middle = home_view(busy_home(300, page=3))
    last = home_view(busy_home(300, page=14))
    pager = [e for b in middle["blocks"] if b.get("block_id") == "home-pages" for e in b["elements"]]  # type: ignore[attr-defined,union-attr]
    assert [(e["action_id"], e["value"]) for e in pager] == [(HOME_PAGE, "2"), (HOME_PAGE, "4")]
    assert "Older drafts" in texts(first) and "Newer drafts" not in texts(first)
    assert "Newer drafts" in texts(last) and "Older drafts" not in texts(last)
    assert "Drafts 281–300 of 300" in texts(last)


def test_the_buttons_are_the_threads_own() -> None:
    items = HomeItems(
        "U0DAVE",
        waiting=(
            WaitingItem("review", 7, "a lamp", "slide", "C1", review=(2, 3)),
            WaitingItem("tie", 8, "a boat", "slide", "C1", tied=(1, 3)),
            WaitingItem("upgrade", 9, "a cake", "slide", "C1"),
        ),
    )
    view = home_view(items)
    assert view_problems(view) == []
    pressed = [
        (e["action_id"], e["value"])
        for b in view["blocks"]  # type: ignore[attr-defined]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert pressed == [
        (blocks.APPROVE, "7:2.3"),
        (blocks.CHOOSE_TIED, "8:1"),
        (blocks.CHOOSE_TIED, "8:3"),
        (blocks.UPGRADE, "9"),
    ]


def test_an_empty_home_says_so() -> None:
    view = home_view(HomeItems("U0CAROL"))
    assert view_problems(view) == []
    shown = texts(view)
    assert "Nothing waits for you" in shown and "no drafts yet" in shown and "No finals yet" in shown


def test_the_spend_section_shows_each_channel_against_its_budget_or_is_left_out() -> None:
    lines = (SpendLine("C1", 0.42, 50.0, "8 × 1K, 1 × 2K"), SpendLine("C2", 1.5, None, "2 × 4K"))
    shown = str(home_view(HomeItems("U1", spend=lines))["blocks"])
    assert "<#C1>: $0.42 of $50" in shown and "8 × 1K, 1 × 2K" in shown and "<#C2>: $1.50 · 2 × 4K" in shown
    assert "Spend this month" not in str(home_view(HomeItems("U1"))["blocks"])
    assert "Nothing spent yet" in str(home_view(HomeItems("U1", spend=()))["blocks"])
    assert not view_problems(home_view(HomeItems("U1", spend=lines)))
