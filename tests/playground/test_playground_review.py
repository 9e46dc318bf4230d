"""The studio review in a real browser: Request changes makes review v2 (shown beside v1), v1 then offers
nothing; an approver approves v2; the 4K final's Also as… menu makes it in another shape. And the Reject
form's radio buttons: "Back to voting" reopens voting, with the reason on the parent and the variant."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from bot.config import Settings
from bot.playground.run import running_playground
from tests.playground.test_playground_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HAVE_CHROMIUM,
    LONG,
    act_as,
    variants_in,
    vote,
)

pytestmark = pytest.mark.browser

# Buttons that must be gone once the draft has moved past them.
DECIDED = ("draft_approve", "draft_reject", "draft_request_changes", "draft_upgrade", "draft_choose_tied")


def button(where: Locator, action_id: str) -> Locator:
    return where.locator(f"[data-testid=block-button][data-action-id={action_id}]")


async def upgraded_to_review(
    page: Page, url: str, brief: str, votes: dict[str, int]
) -> tuple[Locator, Locator]:
    """Alice drafts ``brief``; ``votes`` are cast; she upgrades the winner. (The parent, the thread.)"""
    await page.goto(f"{url}/")
    await act_as(page, "alice")
    await page.get_by_test_id("composer").fill(f"/draft {brief}")
    await page.get_by_test_id("send").click()
    parent = page.get_by_test_id("messages").get_by_test_id("message").filter(has_text="Draft #1")
    await parent.get_by_test_id("open-thread").first.click(timeout=LONG)
    thread = page.get_by_test_id("thread")
    await expect(variants_in(thread)).to_have_count(int(brief.rsplit(" ", 1)[1]), timeout=LONG)
    for person, number in votes.items():
        await act_as(page, person)
        await vote(thread, number)
    await act_as(page, "alice")
    await expect(parent).to_contain_text(f"#{number}: 1", timeout=LONG)
    await button(parent, "draft_upgrade").click()
    return parent, thread


async def test_request_changes_approve_and_also_as_in_a_browser(tmp_path: Path) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM}")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", approvers=frozenset({"U0CAROL"}))  # type: ignore[call-arg]
    async with running_playground(settings, port=0) as playground, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            brief = "a matte black water bottle for feed post --n 2"
            parent, thread = await upgraded_to_review(page, playground.url, brief, {"bob": 1})
            messages = thread.get_by_test_id("message")
            v1 = messages.filter(has_text="2K review of variant 1")
            await expect(v1.get_by_test_id("variant-image")).to_have_count(1, timeout=LONG)

            # Alice, the requester, asks for changes: v2 arrives, with v1 beside it.
            await button(v1, "draft_request_changes").click()
            modal = page.get_by_test_id("modal")
            await expect(modal).to_have_attribute("data-callback-id", "draft_changes_modal", timeout=LONG)
            await modal.locator("textarea").fill("warmer background, bottle a little larger")
            await page.get_by_test_id("modal-submit").click()
            await expect(modal).to_have_count(0, timeout=LONG)
            v2 = messages.filter(has_text="2K review v2 of variant 1")
            await expect(v2.get_by_test_id("variant-image")).to_have_count(
                2, timeout=LONG
            )  # v2, side by side
            await expect(v2).to_contain_text("warmer background, bottle a little larger")
            await expect(v2).to_contain_text("Side by side: v1 beside v2")
            await expect(v1).to_contain_text("Changes requested by @alice: v2 is below", timeout=LONG)
            await expect(v1.get_by_test_id("block-button")).to_have_count(0)
            await expect(parent).to_contain_text("In review at 2K · v2")

            # Carol, the approver, approves v2; the 4K final arrives with Also as….
            await act_as(page, "carol")
            await button(v2, "draft_approve").click()
            final = messages.filter(has_text=re.compile(r"4K final of variant 1 ·"))
            await expect(final.get_by_test_id("variant-image").first).to_be_visible(timeout=LONG)
            await expect(v2).to_contain_text("Approved by @carol", timeout=LONG)
            menu = final.locator("[data-testid=block-select][data-action-id=draft_also_as]")
            await expect(menu.locator("option", has_text="16:9 · wide website hero")).to_have_count(1)

            # Alice asks for it as a website hero: made at 4K in 16:9, and no longer offered.
            await act_as(page, "alice")
            await menu.select_option(label="16:9 · wide website hero")
            shaped = messages.filter(has_text="4K final of variant 1 as wide website hero")
            await expect(shaped.get_by_test_id("variant-image")).to_have_count(1, timeout=LONG)
            await expect(shaped).to_contain_text("4096×2304")
            await expect(menu.locator("option", has_text="wide website hero")).to_have_count(0, timeout=LONG)

            for where in (page.get_by_test_id("messages"), thread):
                for action_id in DECIDED:
                    await expect(button(where, action_id)).to_have_count(0, timeout=LONG)
            await page.screenshot(path=str(tmp_path / "review.png"))
        finally:
            await browser.close()


async def test_reject_back_to_voting_with_the_radio_buttons_in_a_browser(tmp_path: Path) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM}")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    async with running_playground(settings, port=0) as playground, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            brief = "a red ceramic mug on oak for feed post --n 2"
            parent, thread = await upgraded_to_review(page, playground.url, brief, {"bob": 2})
            review = thread.get_by_test_id("message").filter(has_text="2K review of variant 2")
            await expect(review.get_by_test_id("variant-image")).to_have_count(1, timeout=LONG)

            await act_as(page, "bob")
            await button(review, "draft_reject").click()
            modal = page.get_by_test_id("modal")
            await expect(modal).to_have_attribute("data-callback-id", "draft_reject_modal", timeout=LONG)
            await expect(modal.locator("input[type=radio]:checked")).to_have_value("end")  # initial_option
            await expect(modal).to_contain_text("Vote again on the 1K variants")  # the option's description
            await modal.locator("textarea").fill("the mug reads as plastic")
            await modal.get_by_text("Back to voting", exact=True).click()
            await page.get_by_test_id("modal-submit").click()
            await expect(modal).to_have_count(0, timeout=LONG)

            await expect(review).to_contain_text("The draft went back to voting", timeout=LONG)
            await expect(parent).to_contain_text(
                "Variant 2's 2K review was rejected by @bob: “the mug reads as plastic”. "
                "Voting is open again; the upgrade takes the most-voted of the others.",
                timeout=LONG,
            )
            variant = thread.get_by_test_id("message").filter(has_text=re.compile(r"Variant 2 · 1K"))
            await expect(variant).to_contain_text("Its 2K review was rejected by @bob", timeout=LONG)
            await expect(button(parent, "draft_upgrade")).to_have_count(1)
            await expect(review.get_by_test_id("block-button")).to_have_count(0)
        finally:
            await browser.close()
