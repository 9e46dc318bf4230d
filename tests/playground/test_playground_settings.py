"""The channel settings form in a real browser: the playground's user pickers choose approvers, a bad value
comes back beside its field, and what is saved is the channel's (alice is the playground's admin)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from bot.config import Settings
from bot.playground.run import running_playground
from storage.models import ChannelSettings
from tests.playground.test_playground_browser import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM, LONG

pytestmark = pytest.mark.browser


async def test_the_settings_form_picks_approvers_and_shows_errors_beside_fields(tmp_path: Path) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM}")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    async with running_playground(settings, port=0) as playground, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(playground.url)
            await page.get_by_test_id("composer").fill("/draft settings")
            await page.get_by_test_id("send").click()
            modal = page.get_by_test_id("modal")
            await expect(modal).to_contain_text("Channel settings", timeout=LONG)
            approvers = modal.locator("select[data-type=multi_users_select]").first
            await expect(approvers.locator("option")).to_have_text(["Alice", "Bob", "Carol"])
            await approvers.select_option(["U0BOB", "U0CAROL"])
            needed = modal.locator(".bk-input").filter(has_text="Approvals the 4K needs").locator("input")
            await needed.fill("abc")
            await page.get_by_test_id("modal-submit").click()
            await expect(modal).to_contain_text("A whole number of approvals", timeout=LONG)
            await needed.fill("2")
            await page.get_by_test_id("modal-submit").click()
            await expect(modal).to_have_count(0, timeout=LONG)
            async with playground.runtime.sessions() as session:
                saved = await session.scalar(select(ChannelSettings))
            assert saved is not None and saved.approvers == ["U0BOB", "U0CAROL"]
            assert saved.required_approvals == 2
        finally:
            await browser.close()
