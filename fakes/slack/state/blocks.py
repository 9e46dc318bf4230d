"""Block Kit validation as Slack does it: ``msg [json-pointer:/blocks/..]`` errors, block ids.

Every block goes through two sets of rules; a payload either refuses is refused (``invalid_blocks`` for
messages, ``invalid_arguments`` for views, as Slack answers):

1. **slack_sdk's models** (:mod:`.blockkit`: ``Block.parse``, ``validate_json()``, ``to_dict()``), the floor.
   They cover: required fields (``alt_text``, a section's text or fields), lengths (section text 3000,
   fields 10, header 150, button text 75 and value 2000, ``alt_text`` 2000, ``image_url`` 3000, labels 2000,
   ``block_id`` 255), element counts (actions 25, context 10, select options 100), button ``style``, and
   unknown block and element types. Views: ``slack_sdk.models.views.View`` (type, title/submit/close 24,
   1 to 100 blocks, ``private_metadata`` 3000, ``callback_id`` 255, no submit/close on a home tab).
2. **The rules below**: the common checks again, with a precise json-pointer, and what the models do not
   check (or check more loosely):

   - empty texts, and the text object's ``type`` (a header must be ``plain_text``);
   - an ``actions``/``context`` block with no elements;
   - context texts over 3000 characters, ``markdown`` blocks over 12000;
   - ``image``: exactly one of ``image_url`` (http(s)) or ``slack_file``, and a ``slack_file`` has exactly
     one of ``id`` or ``url``. The installed slack_sdk's (3.48) ``ImageBlock`` and ``ImageElement``
     accept ``slack_file`` but check neither it nor that a source is given;
   - a ``slack_file`` must name a file that exists and whose scan finished (``invalid slack file``, what
     Slack answers right after an upload), of an image type Slack shows (png, jpeg, gif);
   - ``block_id`` unique within the message, and non-empty;
   - at most 50 blocks per message, 100 per view (``MAX_MESSAGE_BLOCKS``/``MAX_VIEW_BLOCKS``);
   - views (:mod:`.views`): ``submit`` required with input blocks, ``external_id`` 255, the expected type.

Where both apply to one block, only the first set that fails is reported: the rules below give the more
precise json-pointer, so they speak first and the models add only what they alone found.
Message-level limits (``text`` 40,000 characters, ``no_text``) are in :mod:`.messages`.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from typing import Any

from fakes.slack.state.blockkit import block_errors
from fakes.slack.state.records import JSON, FileRecord, SlackError

MAX_SECTION_TEXT = 3_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SLACK_FILE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)


class BlockValidator:
    """Checks a blocks array roughly the way Slack does; collects ``msg [json-pointer:/blocks/..]`` errors."""

    def __init__(
        self, resolve_file: Callable[[str | None, str | None], FileRecord | None], root: str
    ) -> None:
        self.resolve_file = resolve_file
        self.root = root
        self.errors: list[str] = []

    def err(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def text_object(
        self, value: Any, pointer: str, *, max_len: int, plain_only: bool = False, required: bool = True
    ) -> None:
        if value is None:
            if required:
                self.err("missing required field: text", pointer)
            return
        if not isinstance(value, dict):
            self.err("must be a text object", pointer)
            return
        kind = value.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.err(f"must be one of {'|'.join(allowed)}", f"{pointer}/type")
        text = value.get("text")
        if not isinstance(text, str) or not text:
            self.err("must be a non-empty string", f"{pointer}/text")
        elif len(text) > max_len:
            self.err(f"must be less than {max_len + 1} characters", f"{pointer}/text")

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.err("must be an object with a type", pointer)
            return
        if element["type"] == "button":
            self.text_object(element.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
            value = element.get("value")
            if value is not None and (not isinstance(value, str) or len(value) > 2000):
                self.err("must be a string of at most 2000 characters", f"{pointer}/value")
            style = element.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.err("must be one of primary|danger", f"{pointer}/style")
        action_id = element.get("action_id")
        if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
            self.err("must be a string of at most 255 characters", f"{pointer}/action_id")

    def image(self, block: JSON, pointer: str) -> None:
        alt = block.get("alt_text")
        if not isinstance(alt, str) or not alt:
            self.err("missing required field: alt_text", pointer)
        elif len(alt) > 2000:
            self.err("must be less than 2001 characters", f"{pointer}/alt_text")
        has_url = "image_url" in block
        has_file = "slack_file" in block
        if has_url == has_file:
            self.err("must provide exactly one of image_url or slack_file", pointer)
            return
        if has_url:
            url = block["image_url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 3000:
                self.err("invalid image_url", f"{pointer}/image_url")
            return
        ref = block["slack_file"]
        if not isinstance(ref, dict) or (("id" in ref) == ("url" in ref)):
            self.err("slack_file must have exactly one of id or url", f"{pointer}/slack_file")
            return
        file_id = ref.get("id")
        url = ref.get("url")
        found = self.resolve_file(
            file_id if isinstance(file_id, str) else None, url if isinstance(url, str) else None
        )
        if found is None or not found.scanned:
            self.err("invalid slack file", f"{pointer}/slack_file")
        elif found.mimetype not in SLACK_FILE_IMAGE_TYPES:
            self.err(f"unsupported file type {found.mimetype}", f"{pointer}/slack_file")

    def block(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        before = len(self.errors)
        self.hand_written(block, pointer, block_ids)
        if len(self.errors) == before:
            self.errors.extend(block_errors(block, pointer))

    def hand_written(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.err("must be an object with a type", pointer)
            return
        kind = block["type"]
        if kind not in KNOWN_BLOCK_TYPES:
            self.err(f"unsupported type: {kind}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > 255:
                self.err("must be a string of 1 to 255 characters", f"{pointer}/block_id")
            elif block_id in block_ids:
                self.err(f"duplicate block_id {block_id}", f"{pointer}/block_id")
            else:
                block_ids.add(block_id)
        if kind == "section":
            fields = block.get("fields")
            if block.get("text") is None and not fields:
                self.err("must provide text or fields", pointer)
            self.text_object(block.get("text"), f"{pointer}/text", max_len=MAX_SECTION_TEXT, required=False)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.err("must be a list of at most 10 items", f"{pointer}/fields")
                else:
                    for i, item in enumerate(fields):
                        self.text_object(item, f"{pointer}/fields/{i}", max_len=2000)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{pointer}/accessory")
        elif kind == "header":
            self.text_object(block.get("text"), f"{pointer}/text", max_len=150, plain_only=True)
        elif kind == "image":
            self.image(block, pointer)
        elif kind in ("actions", "context"):
            limit = 25 if kind == "actions" else 10
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > limit:
                self.err(f"must be a list of 1 to {limit} items", f"{pointer}/elements")
                return
            for i, element in enumerate(elements):
                sub = f"{pointer}/elements/{i}"
                if kind == "context" and isinstance(element, dict) and element.get("type") == "image":
                    self.image(element, sub)
                elif (
                    kind == "context"
                    and isinstance(element, dict)
                    and element.get("type")
                    in (
                        "plain_text",
                        "mrkdwn",
                    )
                ):
                    self.text_object(element, sub, max_len=MAX_SECTION_TEXT)
                else:
                    self.element(element, sub)
        elif kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or len(text) > 12_000:
                self.err("must be a string of at most 12000 characters", f"{pointer}/text")
        elif kind == "input":
            self.text_object(block.get("label"), f"{pointer}/label", max_len=2000, plain_only=True)
            self.element(block.get("element"), f"{pointer}/element")

    def blocks(self, blocks: Any, max_blocks: int) -> None:
        if not isinstance(blocks, list):
            self.err("must be an array", self.root)
            return
        if len(blocks) > max_blocks:
            self.err(f"no more than {max_blocks} items allowed", self.root)
        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            self.block(block, f"{self.root}/{i}", block_ids)


def with_block_ids(blocks: list[JSON] | None) -> list[JSON] | None:
    """A deep copy in which every block has a ``block_id`` (Slack generates one when the app gave none)."""
    if blocks is None:
        return None
    copied = copy.deepcopy(blocks)
    for block in copied:
        if isinstance(block, dict) and "block_id" not in block:
            block["block_id"] = secrets.token_urlsafe(4).replace("-", "a").replace("_", "b")[:5]
    return copied


def validate_blocks(
    blocks: Any,
    resolve_file: Callable[[str | None, str | None], FileRecord | None],
    *,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    root: str = "/blocks",
) -> None:
    """SlackError("invalid_blocks", *errors) unless ``blocks`` is a valid blocks array."""
    validator = BlockValidator(resolve_file, root)
    validator.blocks(blocks, max_blocks)
    if validator.errors:
        raise SlackError("invalid_blocks", *validator.errors)
