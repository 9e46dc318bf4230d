"""A person in a real browser (Debian's chromium, driven by Playwright) runs the whole loop in the
playground: /draft, four variants, votes as two teammates, the 2K upgrade, approval, the 4K final,
and the audit view. It screenshots the finished thread every run; with DRAFTBOT_UPDATE_SCREENSHOT=1 that
screenshot becomes the README's (docs/playground.png)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from bot.config import Settings
from bot.playground.run import running_playground

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("DRAFTBOT_CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SCREENSHOT = Path(__file__).parents[2] / "docs" / "playground.png"
BRIEF = "a matte black water bottle, dramatic side light, empty title area for wide website hero"
CHROMIUM_ARGS = [  # as root in a sandbox, offline: no sandboxing, no GPU, no background networking
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LONG = 45_000  # ms: four renders on a busy 2-core machine


async def act_as(page: Page, name: str) -> None:
    switcher = page.get_by_test_id("user-switcher")
    value = await switcher.locator("option", has_text=name).first.get_attribute("value")
    assert value, name
    await switcher.select_option(value)


def variants_in(thread: Locator) -> Locator:
    """The 1K variant images in the thread (the parent at its top also shows each round's contact sheet)."""
    return thread.locator("img[data-testid=variant-image][data-tier^='1K']")


async def vote(thread: Locator, number: int) -> None:
    message = thread.get_by_test_id("message").filter(has_text=f"Variant {number} ·")
    await message.first.get_by_test_id("reaction").filter(has_text="👍").first.click()


async def test_the_whole_loop_in_a_browser(tmp_path: Path) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail(
            f"Debian's chromium is needed at {CHROMIUM}: `make test` installs it (apt-get install chromium)"
        )
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", approvers=frozenset({"U0CAROL"}))  # type: ignore[call-arg]
    async with running_playground(settings, port=0) as playground, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(f"{playground.url}/")

            # Alice asks for a draft.
            await act_as(page, "alice")
            await page.get_by_test_id("composer").fill(f"/draft {BRIEF}")
            await page.get_by_test_id("send").click()
            await expect(page.get_by_test_id("ephemeral").first).to_contain_text(
                "Drafting 4 variants", timeout=LONG
            )

            # The parent appears; its thread fills with four 16:9 variants.
            parent = page.get_by_test_id("messages").get_by_test_id("message").filter(has_text="Draft #1")
            await parent.get_by_test_id("open-thread").first.click(timeout=LONG)
            thread = page.get_by_test_id("thread")
            await expect(variants_in(thread)).to_have_count(4, timeout=LONG)

            # Alice explores further: More like this on variant 2 makes #5–#8 in the same thread.
            more = thread.get_by_test_id("message").filter(has_text="Variant 2 ·")
            await more.first.locator(
                "[data-testid=block-button][data-action-id=draft_more_like_this]"
            ).click()
            await expect(variants_in(thread)).to_have_count(8, timeout=LONG)
            await expect(thread.get_by_test_id("message").filter(has_text="round 2, from #2")).to_have_count(
                4, timeout=LONG
            )

            # Bob and Carol vote for variant 2 by clicking the 👍 on it.
            for teammate in ("bob", "carol"):
                await act_as(page, teammate)
                await vote(thread, 2)
            await expect(parent).to_contain_text(re.compile(r"\*?2\*?: 2|2: 2"), timeout=LONG)

            # Alice, the requester, upgrades the winner.
            await act_as(page, "alice")
            await expect(parent).to_contain_text("Voting", timeout=LONG)  # round 2 has settled
            await parent.locator("[data-testid=block-button][data-action-id=draft_upgrade]").click()
            review = thread.get_by_test_id("message").filter(has_text="2K review of variant")
            await expect(review).to_have_count(1, timeout=LONG)
            await expect(review.get_by_test_id("variant-image")).to_have_count(1, timeout=LONG)

            # Carol approves the review; the 4K final arrives and the parent says so.
            await act_as(page, "carol")
            await review.locator("[data-testid=block-button][data-action-id=draft_approve]").click()
            final = thread.get_by_test_id("message").filter(has_text="4K final of variant")
            await expect(final.get_by_test_id("variant-image")).to_have_count(1, timeout=LONG)
            await expect(parent).to_contain_text("Final at 4K", timeout=LONG)

            # Nothing offers a control the finished draft no longer allows; the review says who approved.
            await expect(review).to_contain_text("Approved by", timeout=LONG)
            for where in (page.get_by_test_id("messages"), thread):
                await expect(where.get_by_test_id("block-button")).to_have_count(0, timeout=LONG)
            await expect(parent).to_contain_text("Variant 2 went to 2K with 2 votes")

            await page.screenshot(path=str(tmp_path / "playground.png"))

            # Full size, with its measured pixel size.
            await final.get_by_test_id("variant-image").first.click()
            await expect(page.get_by_test_id("lightbox-size")).to_contain_text(
                re.compile(r"4096\s*[×x]\s*2304")
            )
            await page.keyboard.press("Escape")

            # The audit view lists the draft's trail, with who did what.
            await page.goto(f"{playground.url}/audit?draft=1")
            table = page.get_by_test_id("audit-table")
            await expect(table.get_by_test_id("audit-row").first).to_be_visible(timeout=LONG)
            for kind in ("command", "vote", "upgrade_requested", "approved", "final_posted"):
                await expect(table).to_contain_text(kind)
            await expect(page.get_by_test_id("audit-image").first).to_be_visible()
        finally:
            await browser.close()
    assert (tmp_path / "playground.png").stat().st_size > 10_000
    if os.environ.get("DRAFTBOT_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / "playground.png", SCREENSHOT)


async def test_draft_from_an_attached_image_in_a_browser(tmp_path: Path) -> None:
    """Alice attaches her own image; Bob uses Draft from this image on it, fills the form, and the
    variants arrive in a thread, made from her image."""
    if not HAVE_CHROMIUM:
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM}")
    from PIL import Image

    image = tmp_path / "packshot.png"
    Image.new("RGB", (800, 600), (190, 40, 30)).save(image)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    async with running_playground(settings, port=0) as playground, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(f"{playground.url}/")
            await act_as(page, "alice")
            await page.get_by_test_id("attach").set_input_files(str(image))
            await page.get_by_test_id("composer").fill("our packshot")
            await page.get_by_test_id("send").click()
            message = (
                page.get_by_test_id("messages").get_by_test_id("message").filter(has_text="our packshot")
            )
            await expect(message.locator("img").first).to_be_visible(timeout=LONG)

            await act_as(page, "bob")
            await message.first.hover()
            await message.first.get_by_test_id("message-actions").click()
            await page.get_by_test_id("message-actions-menu").get_by_test_id("shortcut").first.click()
            modal = page.get_by_test_id("modal")
            await expect(modal).to_have_attribute("data-callback-id", "draft_modal", timeout=LONG)
            await expect(modal).to_contain_text("800×600")
            await modal.locator("textarea").fill("the packshot on wet slate")
            await modal.locator("select[data-action-id=value]").first.select_option("story")
            await page.get_by_test_id("modal-submit").click()
            await expect(modal).to_have_count(0, timeout=LONG)

            parent = page.get_by_test_id("messages").get_by_test_id("message").filter(has_text="Draft #1")
            await parent.get_by_test_id("open-thread").first.click(timeout=LONG)
            thread = page.get_by_test_id("thread")
            await expect(variants_in(thread)).to_have_count(4, timeout=LONG)
            await expect(parent).to_contain_text("Reference is 4:3, drafting 9:16")
        finally:
            await browser.close()
