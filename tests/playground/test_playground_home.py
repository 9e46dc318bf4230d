"""The playground's Home tab in a real browser: opening it sends app_home_opened and shows what the bot
published (its links open the thread); the approver sees the review waiting and approves it from there
(the 4K final is made), while the requester's Home lists it among their drafts, not as waiting for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from bot.config import Settings
from bot.playground.run import running_playground
from tests.playground.test_playground_browser import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM, LONG, act_as
from tests.playground.test_playground_review import button, upgraded_to_review

pytestmark = pytest.mark.browser


async def open_home(page: Page) -> Locator:
    await page.get_by_test_id("home-link").click()
    home = page.get_by_test_id("home")
    await expect(home).to_be_visible(timeout=LONG)
    return home


async def test_approving_from_the_home_tab_in_a_browser(tmp_path: Path) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM}")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        approvers=frozenset({"U0CAROL"}),
        allow_self_approval=False,
        home_debounce_seconds=0.2,
    )
    async with running_playground(settings, port=0) as playground, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            brief = "a walnut desk lamp for feed post --n 2"
            _, thread = await upgraded_to_review(page, playground.url, brief, {"bob": 1})
            review = thread.get_by_test_id("message").filter(has_text="2K review of variant 1")
            await expect(review.get_by_test_id("variant-image")).to_have_count(1, timeout=LONG)

            # Alice's Home: her draft, in review, but nothing for her to approve.
            home = await open_home(page)
            await expect(home).to_contain_text("Your drafts")
            await expect(home).to_contain_text("walnut desk lamp", timeout=LONG)
            await expect(home).to_contain_text("in 2K review", timeout=LONG)
            await expect(home).to_contain_text("Nothing waits for you")
            await expect(button(home, "draft_approve")).to_have_count(0)

            # Carol, the approver: the review waits for her; she approves it from her Home.
            await act_as(page, "carol")
            home = page.get_by_test_id("home")
            approve = button(home, "draft_approve")
            await expect(approve).to_have_count(1, timeout=LONG)
            await expect(home).to_contain_text("Review v1 to approve")
            await approve.click()
            await expect(home).to_contain_text("Recent finals in your channels", timeout=LONG)
            await expect(approve).to_have_count(0, timeout=LONG)  # refreshed by itself: nothing waits now

            # The 4K final is in the thread, as if she had pressed Approve there.
            await page.get_by_test_id("channel-link").filter(has_text="general").click()
            parent = page.get_by_test_id("messages").get_by_test_id("message").filter(has_text="Draft #1")
            await parent.get_by_test_id("open-thread").first.click(timeout=LONG)
            final = (
                page.get_by_test_id("thread")
                .get_by_test_id("message")
                .filter(has_text="4K final of variant 1")
            )
            await expect(final.get_by_test_id("variant-image").first).to_be_visible(timeout=LONG)

            # Alice's Home shows it among the finals in her channels, approved by Carol.
            await act_as(page, "alice")
            home = await open_home(page)
            await expect(home).to_contain_text("approved by @carol", timeout=LONG)
            await page.screenshot(path=str(tmp_path / "home.png"))

            # Its link (chat.getPermalink) opens the draft's thread.
            await home.get_by_role("link", name="#1").first.click()
            await expect(page.get_by_test_id("home")).to_have_count(0)
            await expect(page.get_by_test_id("thread")).to_contain_text("4K final of variant 1", timeout=LONG)
        finally:
            await browser.close()
