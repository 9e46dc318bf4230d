"""The Slack publisher: every Web API call draftbot makes about a draft, in one place.

Images are uploaded privately with the files v2 flow, then shown with an image block in a thread
message of our own, so the message's ``ts`` is known and reactions on it map to the variant. Each
message carries metadata naming what it shows; a retried job looks for it before posting again,
because Slack's ``chat.postMessage`` has no idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.errors import SLACK, Outage, SlackError, Transient
from bot.faces import Face
from bot.publisher import DraftCard, ImageCard, MessageRef, ReminderCard, ThreadMessage
from bot.slack_workspaces import OneWorkspace, Workspaces

log = logging.getLogger(__name__)


class FileNotReady(SlackError, Transient):
    """Slack had not finished processing an upload in time; the job will try again."""


class PostOutcomeUnknown(SlackError, Outage):
    """``chat.postMessage`` timed out or lost its connection: Slack may still post the message.

    The job runner retries it (it is :class:`Transient`), but no sooner than ``retry_after``, so that a
    message still on its way is in the thread by the time the retry looks for it by its metadata; posting
    again at once would race it and show the image twice.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, dependency=SLACK, retry_after=retry_after)


# How long a post whose answer was lost may still take to appear in a thread, at least (after a timeout: at
# least the client's timeout too, since the request itself may still be on its way).
UNKNOWN_OUTCOME_WAIT = 5.0


class SlackPublisher:
    def __init__(
        self,
        workspaces: Workspaces | AsyncWebClient,
        *,
        vote_emoji: str = "+1",
        approve_emoji: str = "white_check_mark",
        file_ready_timeout: float = 20.0,
    ) -> None:
        # A bare client: one workspace (the tests and benchmarks that build a publisher by hand).
        self.workspaces = OneWorkspace(workspaces) if isinstance(workspaces, AsyncWebClient) else workspaces
        self.vote_emoji = vote_emoji
        self.approve_emoji = approve_emoji
        self.file_ready_timeout = file_ready_timeout

    # --- the parent --------------------------------------------------------------------------------

    async def _client(self, draft: DraftCard) -> AsyncWebClient:
        return await self.workspaces.client(draft.team_id)

    async def post_parent(self, card: DraftCard, *, retry: bool = False) -> MessageRef:
        client = await self._client(card)
        if retry and (found := await self._find_parent(client, card)):
            return found
        response = await self._post_new(
            client,
            channel=card.channel_id,
            text=blocks.parent_text(card),
            blocks=blocks.parent_blocks(card, vote_emoji=self.vote_emoji),
            metadata=blocks.draft_metadata(card.draft_id),
            unfurl_links=False,
            unfurl_media=False,
        )
        return MessageRef(str(response["channel"]), str(response["ts"]))

    async def update_parent(self, card: DraftCard) -> None:
        parent = _parent(card)
        await (await self._client(card)).chat_update(
            channel=parent.channel,
            ts=parent.ts,
            text=blocks.parent_text(card),
            blocks=blocks.parent_blocks(card, vote_emoji=self.vote_emoji),
        )

    async def _find_parent(self, client: AsyncWebClient, card: DraftCard) -> MessageRef | None:
        response = await client.conversations_history(
            channel=card.channel_id, limit=50, include_all_metadata=True
        )
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            if _names(message, blocks.DRAFT_EVENT, draft_id=card.draft_id):
                return MessageRef(card.channel_id, str(message["ts"]))
        return None

    # --- images ------------------------------------------------------------------------------------

    async def post_image(
        self, draft: DraftCard, image: ImageCard, data: bytes, face: Face, *, retry: bool = False
    ) -> MessageRef:
        parent = _parent(draft)
        client = await self._client(draft)
        if retry and (found := await self._find_in_thread(client, parent, blocks.image_metadata(image))):
            return found
        upload = await client.files_upload_v2(
            content=data,
            filename=image.filename,
            title=blocks.image_title(image),
            alt_txt=blocks.image_title(image),
            request_file_info=False,
        )
        file_id = str(upload["file"]["id"])
        await self._wait_until_processed(client, file_id)
        response = await self._post_image_message(
            client,
            channel=parent.channel,
            thread_ts=parent.ts,
            text=f"{blocks.image_title(image)} ({image.tier}, {image.size})",
            blocks=self._image_blocks(draft, image, file_id, face),
            metadata=blocks.image_metadata(image),
        )
        return MessageRef(parent.channel, str(response["ts"]), file_id)

    async def upload_sheet(self, draft: DraftCard, round_number: int, data: bytes) -> str:
        title = f"Draft {draft.draft_id}, round {round_number} at a glance"
        filename = f"draft-{draft.draft_id}-round-{round_number}-sheet.jpg"
        return await self._upload_private(await self._client(draft), data, filename, title)

    async def upload_compare(self, draft: DraftCard, image: ImageCard, data: bytes) -> str:
        title = f"{blocks.image_title(image)}, side by side"
        stem = image.filename.rsplit(".", 1)[0]
        return await self._upload_private(await self._client(draft), data, f"{stem}-side-by-side.jpg", title)

    async def _upload_private(self, client: AsyncWebClient, data: bytes, filename: str, title: str) -> str:
        """A file shown in our messages' image blocks, shared nowhere by itself."""
        upload = await client.files_upload_v2(
            content=data, filename=filename, title=title, alt_txt=title, request_file_info=False
        )
        file_id = str(upload["file"]["id"])
        await self._wait_until_processed(client, file_id)
        return file_id

    async def _wait_until_processed(self, client: AsyncWebClient, file_id: str) -> None:
        """Slack scans uploads before they can be shown; an image block that is too early is refused.
        It documents no "ready" flag, so wait until files.info reports a mimetype."""
        delay, waited = 0.05, 0.0
        while waited < self.file_ready_timeout:
            info = await client.files_info(file=file_id)
            if info["file"].get("mimetype"):
                return
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)
        raise FileNotReady(f"Slack was still processing file {file_id} after {self.file_ready_timeout:.0f}s")

    async def _post_image_message(self, client: AsyncWebClient, **kwargs: Any) -> Any:
        for attempt in range(4):
            try:
                return await self._post_new(client, **kwargs)
            except SlackApiError as err:
                # The file can still be settling right after files.info says it is ready.
                if err.response.get("error") != "invalid_blocks" or attempt == 3:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _post_new(self, client: AsyncWebClient, **kwargs: Any) -> Any:
        """chat.postMessage for a message a retry finds by its metadata (there is no idempotency key).

        The client never retries this call itself (:mod:`bot.slack_client`): after a dropped connection, a
        timeout or a 5xx the message may exist, so the job's retry looks for it before posting again."""
        try:
            return await client.chat_postMessage(**kwargs)
        except TimeoutError as err:  # the request may still be on its way: wait as long as we waited
            raise self._unknown_outcome(
                "no answer in time", max(UNKNOWN_OUTCOME_WAIT, client.timeout)
            ) from err
        except aiohttp.ClientError as err:
            raise self._unknown_outcome(type(err).__name__, UNKNOWN_OUTCOME_WAIT) from err
        except SlackApiError as err:
            if err.response.status_code >= 500:
                raise self._unknown_outcome(f"HTTP {err.response.status_code}", UNKNOWN_OUTCOME_WAIT) from err
            raise

    @staticmethod
    def _unknown_outcome(what: str, wait: float) -> PostOutcomeUnknown:
        return PostOutcomeUnknown(
            f"no clear answer to chat.postMessage ({what}); it may still be posted, "
            f"so looking for it in {wait:.0f}s before posting again",
            retry_after=wait,
        )

    async def invite_votes(self, draft: DraftCard, ref: MessageRef) -> None:
        """The bot's own :+1: makes voting one click; it never counts as a vote."""
        client = await self._client(draft)
        try:
            await client.reactions_add(channel=ref.channel, timestamp=ref.ts, name=self.vote_emoji)
        except SlackApiError as err:
            if err.response.get("error") != "already_reacted":
                log.warning("could not add the vote reaction to %s: %s", ref.ts, err.response.get("error"))

    def _image_blocks(self, draft: DraftCard, image: ImageCard, file_id: str, face: Face) -> list[Any]:
        return blocks.image_blocks(
            draft, image, file_id, face, vote_emoji=self.vote_emoji, approve_emoji=self.approve_emoji
        )

    async def _find_in_thread(
        self, client: AsyncWebClient, parent: MessageRef, metadata: dict[str, Any]
    ) -> MessageRef | None:
        """Our message in the thread that carries ``metadata`` (a post whose answer was lost)."""
        cursor: str | None = None
        while True:
            response = await client.conversations_replies(
                channel=parent.channel, ts=parent.ts, include_all_metadata=True, limit=200, cursor=cursor
            )
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                if _names(message, metadata["event_type"], **metadata["event_payload"]):
                    return MessageRef(parent.channel, str(message["ts"]), _file_id(message))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or not cursor:
                return None

    # --- thread messages ---------------------------------------------------------------------------

    async def post_loss(
        self, draft: DraftCard, message: ThreadMessage, face: Face, *, retry: bool = False
    ) -> MessageRef:
        parent = _parent(draft)
        metadata = blocks.loss_metadata(message, draft.draft_id)
        client = await self._client(draft)
        if retry and (found := await self._find_in_thread(client, parent, metadata)):
            return found
        response = await self._post_new(
            client,
            channel=parent.channel,
            thread_ts=parent.ts,
            text=blocks.loss_text(message, face),
            blocks=blocks.loss_blocks(draft, message, face),
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )
        return MessageRef(parent.channel, str(response["ts"]))

    async def update_message(self, draft: DraftCard, message: ThreadMessage, face: Face) -> None:
        if message.ref is None:
            raise ValueError(f"{message.tier} #{message.number} of draft {draft.draft_id} is not posted")
        if message.image is None:
            text, shown = blocks.loss_text(message, face), blocks.loss_blocks(draft, message, face)
        elif message.ref.file_id:
            text = f"{blocks.image_title(message.image)} ({message.image.tier}, {message.image.size})"
            shown = self._image_blocks(draft, message.image, message.ref.file_id, face)
        else:
            return  # an image message without its file: nothing we could show again
        try:
            await (await self._client(draft)).chat_update(
                channel=message.ref.channel, ts=message.ref.ts, text=text, blocks=shown
            )
        except SlackApiError as err:
            if err.response.get("error") not in ("message_not_found", "cant_update_message"):
                raise
            log.info("message %s is gone from Slack; not updating it", message.ref.ts)

    async def ask_tie_break(self, draft: DraftCard, tied: tuple[int, ...], votes: int) -> None:
        parent = _parent(draft)
        await (await self._client(draft)).chat_postMessage(
            channel=parent.channel, thread_ts=parent.ts, text=blocks.tie_text(draft, tied, votes)
        )

    async def post_reminder(
        self, draft: DraftCard, reminder: ReminderCard, *, retry: bool = False
    ) -> MessageRef:
        parent = _parent(draft)
        metadata = blocks.reminder_metadata(draft.draft_id, reminder)
        client = await self._client(draft)
        if retry and (found := await self._find_in_thread(client, parent, metadata)):
            return found
        response = await self._post_new(
            client,
            channel=parent.channel,
            thread_ts=parent.ts,
            text=blocks.reminder_text(draft, reminder),
            blocks=blocks.reminder_blocks(draft, reminder),
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )
        return MessageRef(parent.channel, str(response["ts"]))

    async def tell_user(self, draft: DraftCard, user: str, text: str) -> None:
        """``text`` is mrkdwn we composed (it may mention people by id); it is not escaped here."""
        await (await self._client(draft)).chat_postEphemeral(
            channel=draft.channel_id,
            user=user,
            text=text,
            thread_ts=draft.parent.ts if draft.parent else None,
        )


def _parent(card: DraftCard) -> MessageRef:
    if card.parent is None:
        raise ValueError(f"draft {card.draft_id} has no parent message yet")
    return card.parent


def _names(message: dict[str, Any], event_type: str, **payload: object) -> bool:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != event_type:
        return False
    found = {"version": 1, **(metadata.get("event_payload") or {})}  # posted before versions: the first
    return all(found.get(key) == value for key, value in payload.items())


def _file_id(message: dict[str, Any]) -> str | None:
    for block in message.get("blocks") or []:
        if block.get("type") == "image" and "slack_file" in block:
            return str(block["slack_file"].get("id"))
    return None
