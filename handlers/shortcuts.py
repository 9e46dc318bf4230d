"""The message shortcut "Draft from this image": the `/draft` form, with the message's image shown as the
reference the first round is made from.

Slack's trigger lasts 3 s and fetching a large file may take longer, so the form opens at once saying the
image is on its way, and is updated to the form (or to why the file can't be used) when it is fetched.
Whatever goes wrong is said privately too; nothing is drafted until the form is submitted.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks, modals
from bot.drafts import Uploads
from bot.errors import DraftbotError
from bot.slack_files import UnusableFile, image_in_message
from handlers.shared import NOTHING_DRAFTED, as_dict, slack_id

log = logging.getLogger(__name__)

FETCHING = "Fetching the image…"
NO_TIME = "The form could not open in time; use the shortcut again."


def register(app: AsyncApp, uploads: Uploads, *, default_variants: int) -> None:
    @app.shortcut(blocks.DRAFT_FROM_IMAGE)
    async def draft_from_image(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        answer = await _open(uploads, body, client, default_variants)
        if answer:
            try:
                await respond(text=answer, response_type="ephemeral", replace_original=False)
            except Exception as err:  # no response_url in the payload: the form said it already
                log.warning("could not answer a Draft from this image: %s", err)


async def _open(
    uploads: Uploads, body: dict[str, Any], client: AsyncWebClient, default_variants: int
) -> str | None:
    """Open the form and fill it; what to tell the person privately, or None when the form is ready."""
    channel = slack_id(as_dict(body.get("channel")).get("id"))
    trigger = body.get("trigger_id")
    if not channel or not isinstance(trigger, str):
        return NOTHING_DRAFTED
    try:
        ref = image_in_message(body)
    except UnusableFile as err:
        return err.message
    try:
        opened = await client.views_open(trigger_id=trigger, view=modals.notice_modal(FETCHING))
    except SlackApiError as err:
        log.warning("could not open the Draft from this image form: %s", err.response.get("error"))
        return NO_TIME
    view_id = str(as_dict(opened.get("view")).get("id"))
    try:
        stored = await uploads.fetch(client, ref)
        form = modals.draft_modal(channel, default_variants=default_variants, reference=stored)
        answer = None
    except UnusableFile as err:
        form, answer = modals.notice_modal(err.message), err.message
    except DraftbotError as err:  # Slack away, or misconfigured: nothing drafted, and said so
        log.warning("could not fetch a file for Draft from this image: %s", err)
        text = "I couldn't fetch that image from Slack just now; try the shortcut again in a moment."
        form, answer = modals.notice_modal(text), text
    try:
        await client.views_update(view_id=view_id, view=form)
    except SlackApiError as err:  # closed by the person meanwhile, or Slack away
        log.info("could not show the Draft from this image form: %s", err.response.get("error"))
    return answer
