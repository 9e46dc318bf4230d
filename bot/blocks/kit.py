"""The pieces every Block Kit builder uses: the action and callback ids, Slack's limits, and user text made
safe (:func:`escape`, :func:`plain`) in sections, contexts and buttons."""

from __future__ import annotations

import re
from typing import Any

Block = dict[str, Any]


# action_ids and callback_ids: the contract between these builders and handlers/.
UPGRADE = "draft_upgrade"


CHOOSE_TIED = "draft_choose_tied"


APPROVE = "draft_approve"


REJECT = "draft_reject"


REQUEST_CHANGES = "draft_request_changes"


ALSO_AS = "draft_also_as"


RETRY = "draft_retry"


CANCEL = "draft_cancel"


MORE_LIKE_THIS = "draft_more_like_this"


NEW_ROUND = "draft_new_round"


EDIT_PROMPT = "draft_edit_prompt"


DRAFT_FROM_IMAGE = "draft_from_image"  # the message shortcut


DRAFT_MODAL = "draft_modal"  # the callback ids of bot/modals.py's forms


EDIT_MODAL = "draft_edit_modal"


CHANGES_MODAL = "draft_changes_modal"
SETTINGS_OPEN = "draft_settings_open"  # opens the channel settings form (value: the channel id)
SETTINGS_MODAL = "draft_settings_modal"


REJECT_MODAL = "draft_reject_modal"


# Slack message metadata that names what a message shows, so a retried job can find its own post.
DRAFT_EVENT = "draftbot_draft"


IMAGE_EVENT = "draftbot_image"


LOSS_EVENT = "draftbot_loss"  # the notice of a lost image


REMINDER_EVENT = "draftbot_reminder"  # the reminder that a 2K review waits for a decision


SECTION_LIMIT = 3000  # characters of text in one section block


ACTIONS_LIMIT = 25  # elements in one actions block


ALT_TEXT_LIMIT = 2000


def escape(text: str) -> str:
    """Slack's three control characters, so user text is shown, never interpreted."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack's markup only: <!special>, <@user>, <#channel>, <scheme:link>, each with an optional |label.
_MARKUP = re.compile(r"<([!@#]|(?=[a-z][a-z0-9+.-]*:))([^<>|\s]+)(?:\|([^<>]*))?>", re.IGNORECASE)


def plain(text: str) -> str:
    """User text for plain-text fields (alt text): Slack markup spelled out in words, no control syntax.

    ``<!channel>`` → ``@channel``, ``<@U1>`` → ``@U1``, ``<#C1|general>`` → ``#general``,
    ``<url|label>`` → ``label``; any other angle bracket becomes a look-alike.
    """

    def words(match: re.Match[str]) -> str:
        sigil, target, label = match[1], match[2], match[3]
        shown = label or target
        return {"!": "@", "@": "@", "#": "#"}.get(sigil, "") + shown.lstrip("!@#")

    return _MARKUP.sub(words, text).replace("<", "‹").replace(">", "›")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str) -> str:
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, SECTION_LIMIT)} for t in texts],
    }


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}
    button["value"] = value
    if style:
        button["style"] = style
    return button


def vote_count(count: int) -> str:
    return f"{count} vote{'s' if count != 1 else ''}"


def and_list(items: tuple[int, ...] | list[int] | list[str]) -> str:
    items = [str(n) for n in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def quoted(text: str) -> str:
    return f"“{escape(clip(text, 500))}”"


def and_people(users: tuple[str, ...]) -> str:
    return and_list([f"<@{u}>" for u in users])


def text_blocks(text: str) -> list[Block]:
    """Long text as sections within Slack's per-block limit, split at paragraph breaks."""
    blocks: list[Block] = []
    chunk = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{chunk}\n\n{paragraph}" if chunk else paragraph
        if len(candidate) > SECTION_LIMIT and chunk:
            blocks.append(section(chunk))
            candidate = paragraph
        chunk = candidate
    if chunk:
        blocks.append(section(chunk))
    return blocks
