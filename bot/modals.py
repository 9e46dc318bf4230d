"""Block Kit forms (modals): the `/draft` form and Edit prompt. Pure functions, no API calls."""

from __future__ import annotations

from typing import Any

from bot.blocks import DRAFT_MODAL, EDIT_MODAL, clip, context, escape
from bot.command import MAX_PROMPT_CHARS, MAX_VARIANTS, MIN_VARIANTS
from bot.destinations import CATALOG
from bot.publisher import DraftCard


def draft_modal(channel_id: str, *, default_variants: int = 4) -> dict[str, Any]:
    """`/draft` with no text opens this form."""
    destinations = [
        {"text": {"type": "plain_text", "text": clip(f"{d.name} ({d.ratio})", 75)}, "value": d.key}
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
            context("Long copy renders badly: leave a headline-safe area and add the words later."),
        ],
    }


def edit_modal(card: DraftCard) -> dict[str, Any]:
    """Edit prompt: the latest prompt and round size, for a new round in the same thread."""
    size = card.rounds[-1].size if card.rounds else card.n_variants
    counts = [
        {"text": {"type": "plain_text", "text": str(n)}, "value": str(n)}
        for n in range(MIN_VARIANTS, MAX_VARIANTS + 1)
    ]
    return {
        "type": "modal",
        "callback_id": EDIT_MODAL,
        "private_metadata": str(card.draft_id),
        "title": {"type": "plain_text", "text": f"Edit draft #{card.draft_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Start the round"},
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
                    "initial_value": card.prompt[:MAX_PROMPT_CHARS],
                },
            },
            {
                "type": "input",
                "block_id": "variants",
                "label": {"type": "plain_text", "text": "Variants in this round"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": counts,
                    "initial_option": counts[min(max(size, MIN_VARIANTS), MAX_VARIANTS) - MIN_VARIANTS],
                },
            },
            context(
                f"For *{escape(card.destination)}* ({card.ratio}), in the same thread; the votes cast so far "
                "stay. Another destination is a new `/draft`."
            ),
        ],
    }
