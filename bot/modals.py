"""Block Kit forms (modals): the `/draft` form (also with a reference image) and Edit prompt. Pure
functions, no API calls."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks import (
    CHANGES_MODAL,
    DRAFT_MODAL,
    EDIT_MODAL,
    REJECT_MODAL,
    clip,
    context,
    escape,
    plain,
)
from bot.command import MAX_PROMPT_CHARS, MAX_VARIANTS, MIN_VARIANTS
from bot.destinations import CATALOG, Destination
from bot.drafts.uploads import StoredReference
from bot.publisher import DraftCard
from bot.reviews import ReviewRef
from bot.tiers import Size


def draft_modal(
    channel_id: str,
    *,
    default_variants: int = 4,
    reference: StoredReference | None = None,
    destination: Destination | None = None,
) -> dict[str, Any]:
    """`/draft` with no text opens this form; Draft from this image opens it with the image shown.
    ``destination``: the channel's default, chosen to begin with."""
    destinations = [
        {"text": {"type": "plain_text", "text": clip(f"{d.name} ({d.ratio})", 75)}, "value": d.key}
        for d in CATALOG
    ]
    select: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": destinations}
    chosen = next((o for o in destinations if destination and o["value"] == destination.key), None)
    if chosen is not None:
        select["initial_option"] = chosen
    return _form(
        DRAFT_MODAL,
        form_metadata(channel_id, reference),
        title="Draft from this image" if reference else "New draft",
        submit="Draft it",
        blocks=[
            *(_reference_blocks(reference) if reference else []),
            _prompt_input(
                placeholder={"type": "plain_text", "text": "a matte black water bottle, dramatic side light"}
            ),
            {
                "type": "input",
                "block_id": "destination",
                "label": {"type": "plain_text", "text": "Where will it be used?"},
                "element": select,
            },
            _count_select("Variants", default_variants),
            context("Long copy renders badly: leave a headline-safe area and add the words later."),
        ],
    )


def edit_modal(card: DraftCard) -> dict[str, Any]:
    """Edit prompt: the latest prompt and round size, for a new round in the same thread."""
    size = card.rounds[-1].size if card.rounds else card.n_variants
    return _form(
        EDIT_MODAL,
        str(card.draft_id),
        title=f"Edit draft #{card.draft_id}",
        submit="Start the round",
        blocks=[
            _prompt_input(initial_value=card.prompt[:MAX_PROMPT_CHARS]),
            _count_select("Variants in this round", size),
            context(
                f"For *{escape(card.destination)}* ({card.ratio}), in the same thread; the votes cast so far "
                "stay. Another destination is a new `/draft`."
            ),
        ],
    )


MAX_FEEDBACK_CHARS = 1000
# The choices of the Reject form: end the draft, or vote again on the 1K variants.
REJECT_ENDS, REJECT_REVOTES = "end", "vote"


def review_metadata(draft_id: int, pressed: ReviewRef | None) -> str:
    """What a review form carries back: the draft and the review it was opened on (``12:3.2``)."""
    return f"{draft_id}:{pressed[0]}.{pressed[1]}" if pressed else str(draft_id)


def request_changes_modal(card: DraftCard, pressed: ReviewRef | None) -> dict[str, Any]:
    """Request changes: the feedback that becomes the next review version's edit instruction."""
    shown = f"v{pressed[1]}" if pressed else "the review"
    return _form(
        CHANGES_MODAL,
        review_metadata(card.draft_id, pressed),
        title="Request changes",
        submit="Make the next version",
        blocks=[
            _text_input(
                "feedback",
                f"What should change in {shown}?",
                placeholder="warmer background, bottle a little larger, keep the empty top",
            ),
            context(
                f"The next version is made from {shown} of draft #{card.draft_id} with your words as the "
                "edit: what you don't mention stays as it is. It is posted in the thread beside this one."
            ),
        ],
    )


def reject_modal(card: DraftCard, pressed: ReviewRef | None) -> dict[str, Any]:
    """Reject, with a reason (required), and what happens next: the draft ends or goes back to voting."""
    options = [
        _option("End the draft", REJECT_ENDS, "No 4K is made; the reason is posted in the thread."),
        _option(
            "Back to voting",
            REJECT_REVOTES,
            "Vote again on the 1K variants; the votes cast stay.",
        ),
    ]
    return _form(
        REJECT_MODAL,
        review_metadata(card.draft_id, pressed),
        title="Reject the review",
        submit="Reject",
        blocks=[
            _text_input(
                "reason", "Why is it rejected?", placeholder="the bottle reads as plastic, not steel"
            ),
            {
                "type": "input",
                "block_id": "next",
                "label": {"type": "plain_text", "text": "Then"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": options,
                    "initial_option": options[0],
                },
            },
        ],
    )


def _form(
    callback_id: str, metadata: str, *, title: str, submit: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """A form: its callback id, what it carries back, its title (24 characters at most) and submit label."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _text_input(block_id: str, label: str, *, placeholder: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": True,
            "max_length": MAX_FEEDBACK_CHARS,
            "placeholder": {"type": "plain_text", "text": placeholder},
        },
    }


def _option(text: str, value: str, description: str) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": text},
        "value": value,
        "description": {"type": "plain_text", "text": description},
    }


def _prompt_input(**shown: Any) -> dict[str, Any]:
    """The prompt field (``placeholder=`` or ``initial_value=``); its errors show beside it."""
    element = {"type": "plain_text_input", "action_id": "value", "multiline": True}
    return {
        "type": "input",
        "block_id": "prompt",
        "label": {"type": "plain_text", "text": "Prompt"},
        "element": {**element, "max_length": MAX_PROMPT_CHARS, **shown},
    }


def _count_select(label: str, initial: int) -> dict[str, Any]:
    counts = [
        {"text": {"type": "plain_text", "text": str(n)}, "value": str(n)}
        for n in range(MIN_VARIANTS, MAX_VARIANTS + 1)
    ]
    chosen = counts[min(max(initial, MIN_VARIANTS), MAX_VARIANTS) - MIN_VARIANTS]
    return {
        "type": "input",
        "block_id": "variants",
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": counts,
            "initial_option": chosen,
        },
    }


def _reference_blocks(reference: StoredReference) -> list[dict[str, Any]]:
    return [
        {
            "type": "image",
            "slack_file": {"id": reference.file_id},
            "alt_text": clip(f"The reference: {plain(reference.name) or 'your image'}", 2000),
        },
        context(
            f"The variants are made from this image ({reference.size.width}×{reference.size.height}) "
            "and keep its structure: silhouette, shapes and layout. The destination decides the ratio."
        ),
    ]


def form_metadata(channel_id: str, reference: StoredReference | None) -> str:
    """What the form carries back on submission: the channel, and the stored reference if any."""
    if reference is None:
        return channel_id
    return json.dumps(
        {
            "channel": channel_id,
            "key": reference.key,
            "type": reference.content_type,
            "file": reference.file_id,
            "name": reference.name[:200],
            "size": [reference.size.width, reference.size.height],
        }
    )


def read_form_metadata(metadata: object) -> tuple[str, StoredReference | None] | None:
    """The channel (and reference) a submitted form is for; None when it is not ours."""
    if not isinstance(metadata, str) or not metadata:
        return None
    if not metadata.startswith("{"):
        return metadata, None
    try:
        data = json.loads(metadata)
        width, height = data["size"]
        reference = StoredReference(
            str(data["key"]),
            str(data["type"]),
            str(data["file"]),
            str(data["name"]),
            Size(int(width), int(height)),
        )
        return str(data["channel"]), reference
    except (ValueError, KeyError, TypeError):
        return None


def notice_modal(text: str) -> dict[str, Any]:
    """A form-shaped message while the image is fetched, or why it can't be used (nothing to submit)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Draft from this image"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": clip(escape(text), 3000)}}],
    }
