"""In a real browser (Debian's chromium, through Playwright): a person attaches an image to a message on
the playground page, then runs the app's message shortcut on it from the message's "More actions" menu.
The fake Slack's page only: the app is a recorder, so what reaches it is checked as Slack would send it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import async_playwright, expect

from fakes.asgi import serve_asgi
from fakes.slack import serve_fake_slack
from fakes.slack.page import install_playground
from tests.fakes.test_person_files import SECRET, Recorder

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("DRAFTBOT_CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = Path(CHROMIUM).exists()
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


async def test_attach_an_image_and_run_the_shortcut_on_it(tmp_path: Path) -> None:
    if not HAVE_CHROMIUM:
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM}")
    image = tmp_path / "packshot.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (20, 90, 200)).save(buffer, format="PNG")
    image.write_bytes(buffer.getvalue())

    async with serve_fake_slack(subscribed_events={"message"}) as fake, async_playwright() as pw:
        install_playground(fake)
        recorder = Recorder()
        async with serve_asgi(recorder.app) as origin:
            fake.connect_app(f"{origin}/slack/events", SECRET)
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                await page.goto(f"{fake.origin}/")
                await page.get_by_test_id("attach").set_input_files(str(image))
                await expect(page.get_by_test_id("attach-name")).to_contain_text("packshot.png")
                await page.get_by_test_id("composer").fill("our reference")
                await page.get_by_test_id("send").click()

                message = (
                    page.get_by_test_id("messages").get_by_test_id("message").filter(has_text="our reference")
                )
                await expect(message.locator("img").first).to_be_visible(timeout=10_000)
                await expect(page.get_by_test_id("attach-chip")).to_be_hidden()

                await message.hover()
                await message.get_by_test_id("message-actions").click()
                shortcut = page.get_by_test_id("message-actions-menu").get_by_test_id("shortcut")
                await expect(shortcut).to_have_text("Draft from this image" + "draftbot")
                await shortcut.click()
                await expect(page.get_by_test_id("message-actions-menu")).to_have_count(0)

                for _ in range(100):
                    if recorder.of_type("message_action"):
                        break
                    await page.wait_for_timeout(50)
            finally:
                await browser.close()

    [payload] = recorder.of_type("message_action")
    assert payload["callback_id"] == "draft_from_image"
    [file] = payload["message"]["files"]
    assert (file["name"], file["mimetype"]) == ("packshot.png", "image/png")
    assert fake.state.files[file["id"]].content == image.read_bytes()
    assert recorder.rejected == 0
