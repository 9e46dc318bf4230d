"""Block Kit builders: pure functions from cards to Slack message and view payloads. No API calls.

Every piece of user text goes through :func:`escape`, so a prompt containing ``<!channel>`` or
``<@U123>`` is shown as text and never becomes a live mention.
"""

from __future__ import annotations

import re
from typing import Any

from bot.command import MAX_PROMPT_CHARS, MAX_VARIANTS, MIN_VARIANTS
from bot.destinations import CATALOG
from bot.publisher import DraftCard, ImageCard
from bot.tiers import Tier
from bot.workflow import DraftStatus

Block = dict[str, Any]

# action_ids and callback_ids: the contract between these builders and handlers/.
UPGRADE = "draft_upgrade"
CHOOSE_TIED = "draft_choose_tied"
APPROVE = "draft_approve"
REJECT = "draft_reject"
RETRY = "draft_retry"
DRAFT_MODAL = "draft_modal"

# Slack message metadata that names what a message shows, so a retried job can find its own post.
DRAFT_EVENT = "draftbot_draft"
IMAGE_EVENT = "draftbot_image"

SECTION_LIMIT = 3000  # characters of text in one section block
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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}}


def _context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _clip(t, SECTION_LIMIT)} for t in texts],
    }


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}
    button["value"] = value
    if style:
        button["style"] = style
    return button


_STATUS = {
    DraftStatus.GENERATING: ":hourglass_flowing_sand: Generating",
    DraftStatus.VOTING: ":ballot_box_with_ballot: Voting: react with :+1: on your favourite",
    DraftStatus.REVIEWING: ":mag: In review at 2K",
    DraftStatus.APPROVED: ":white_check_mark: Approved, making the 4K final",
    DraftStatus.FINAL: ":tada: Final at 4K",
    DraftStatus.REJECTED: ":x: Rejected",
    DraftStatus.FAILED: ":warning: Failed",
    DraftStatus.CANCELLED: ":no_entry_sign: Cancelled",
}


def parent_text(card: DraftCard) -> str:
    """The notification / fallback text of the parent message."""
    return f"Draft #{card.draft_id} for {escape(card.destination)} ({card.ratio}): {_STATUS[card.status]}"


def parent_blocks(card: DraftCard, *, vote_emoji: str = "+1") -> list[Block]:
    status = _STATUS[card.status].replace(":+1:", f":{vote_emoji}:")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Draft #{card.draft_id}"}},
        _section(_quote(_clip(card.prompt, 2800))),
        _context(
            f"*{escape(card.destination)}* · {card.ratio} · requested by <@{card.requester}>",
        ),
    ]
    line = f"*{status}*"
    if card.status in (DraftStatus.GENERATING, DraftStatus.VOTING) or card.unavailable:
        line += f" · {card.progress}"
    blocks.append(_section(line))
    if any(card.tally.values()) or card.status is DraftStatus.VOTING:
        tally = "   ".join(f"*{n}*: {count}" for n, count in card.tally.items())
        blocks.append(_context(f"Votes · {tally}"))
    if card.winner is not None and card.status is not DraftStatus.VOTING:
        blocks.append(_context(f":trophy: Winner: variant {card.winner}"))
    if card.failure_reason and card.status is DraftStatus.FAILED:
        blocks.append(_context(f":warning: {escape(card.failure_reason)}"))
    for hint in card.hints:
        blocks.append(_context(f":bulb: {escape(hint)}"))
    if card.status is DraftStatus.FAILED:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"draft-{card.draft_id}-retry",
                "elements": [_button("Retry", RETRY, str(card.draft_id))],
            }
        )
    if card.status is DraftStatus.VOTING:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"draft-{card.draft_id}-upgrade",
                "elements": [_button("Upgrade winner to 2K", UPGRADE, str(card.draft_id), "primary")],
            }
        )
    return blocks


def image_metadata(image: ImageCard) -> dict[str, Any]:
    return {
        "event_type": IMAGE_EVENT,
        "event_payload": {"draft_id": image.draft_id, "tier": str(image.tier), "number": image.number},
    }


def draft_metadata(draft_id: int) -> dict[str, Any]:
    return {"event_type": DRAFT_EVENT, "event_payload": {"draft_id": draft_id}}


def image_title(image: ImageCard) -> str:
    return {
        Tier.EXPLORE: f"Variant {image.number}",
        Tier.REVIEW: f"2K review of variant {image.number}",
        Tier.FINAL: f"4K final of variant {image.number}",
    }[image.tier]


def image_blocks(
    draft: DraftCard, image: ImageCard, file_id: str, *, vote_emoji: str = "+1", approve_emoji: str = ""
) -> list[Block]:
    kb = max(1, round(image.bytes / 1024))
    facts = f"{image.tier} · {image.size.width}×{image.size.height} · {kb:,} KB · seed {image.seed}"
    blocks: list[Block] = [_section(f"*{image_title(image)}* · {facts}")]
    blocks.append(
        {
            "type": "image",
            "slack_file": {"id": file_id},
            "alt_text": _clip(f"{image_title(image)}: {plain(draft.prompt)}", ALT_TEXT_LIMIT),
        }
    )
    notes = [escape(note) for note in image.notes]
    if image.tier is Tier.EXPLORE:
        blocks.append(_context(f"React with :{vote_emoji}: to vote for variant {image.number}.", *notes[:1]))
    elif image.tier is Tier.REVIEW:
        react = f" (or react with :{approve_emoji}:)" if approve_emoji else ""
        blocks.append(_context(f"Approvers: approve this review to make the 4K final{react}.", *notes[:1]))
        blocks.append(
            {
                "type": "actions",
                "block_id": f"draft-{draft.draft_id}-review",
                "elements": [
                    _button("Approve for 4K", APPROVE, str(draft.draft_id), "primary"),
                    _button("Reject", REJECT, str(draft.draft_id), "danger"),
                ],
            }
        )
    else:
        blocks.append(_context(f"Made with {escape(image.provider)} ({escape(image.model)}).", *notes[:1]))
    return blocks


def tie_blocks(draft: DraftCard, tied: tuple[int, ...], votes: int) -> list[Block]:
    numbers = ", ".join(str(n) for n in tied[:-1]) + f" and {tied[-1]}"
    each = f"{votes} vote{'s' if votes != 1 else ''} each" if votes else "no votes yet"
    return [
        _section(f"<@{draft.requester}> variants {numbers} are tied ({each}). Which one goes to 2K?"),
        {
            "type": "actions",
            "block_id": f"draft-{draft.draft_id}-tie",
            "elements": [_button(f"Variant {n}", CHOOSE_TIED, f"{draft.draft_id}:{n}") for n in tied[:25]],
        },
    ]


def text_blocks(text: str) -> list[Block]:
    """Long text as sections within Slack's per-block limit, split at paragraph breaks."""
    blocks: list[Block] = []
    chunk = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{chunk}\n\n{paragraph}" if chunk else paragraph
        if len(candidate) > SECTION_LIMIT and chunk:
            blocks.append(_section(chunk))
            candidate = paragraph
        chunk = candidate
    if chunk:
        blocks.append(_section(chunk))
    return blocks


def draft_modal(channel_id: str, *, default_variants: int = 4) -> dict[str, Any]:
    """`/draft` with no text opens this form."""
    destinations = [
        {"text": {"type": "plain_text", "text": _clip(f"{d.name} ({d.ratio})", 75)}, "value": d.key}
        for d in CATALOG
    ]
    counts = [
        {"text": {"type": "plain_text", "text": str(n)}, "value": str(n)}
        for n in range(MIN_VARIANTS, MAX_VARIANTS + 1)
    ]
    return {
        "type": "modal",
        "callback_id": DRAFT_MODAL,
        "private_metadata": channel_id,
        "title": {"type": "plain_text", "text": "New draft"},
        "submit": {"type": "plain_text", "text": "Draft it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "prompt",
                "label": {"type": "plain_text", "text": "Prompt"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": MAX_PROMPT_CHARS,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "a matte black water bottle, dramatic side light, empty title area",
                    },
                },
            },
            {
                "type": "input",
                "block_id": "destination",
                "label": {"type": "plain_text", "text": "Where will it be used?"},
                "element": {"type": "static_select", "action_id": "value", "options": destinations},
            },
            {
                "type": "input",
                "block_id": "variants",
                "label": {"type": "plain_text", "text": "Variants"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": counts,
                    "initial_option": counts[default_variants - MIN_VARIANTS],
                },
            },
            _context("Long copy renders badly: leave a headline-safe area and add the words later."),
        ],
    }
