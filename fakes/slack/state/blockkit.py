"""slack_sdk's own Block Kit models as a validator: what ``Block.parse``, ``View`` and their checks refuse.

The models are the floor (a payload they refuse is refused here); :mod:`.blocks` adds the rules they do not
know. Three things the models do not report by raising are turned into errors here:

- a block whose ``type`` they do not know (``Block.parse`` logs a warning and returns None);
- a constructor that cannot even be called (a missing required field such as an image's ``alt_text``, a
  text that is a number): ``TypeError``/``ValueError``/``AttributeError`` from the model;
- a component they silently drop (an element of an unknown ``type`` becomes ``None`` or disappears from
  ``to_dict()``); unknown plain properties are dropped too but not reported, as Slack's own handling of
  them is not documented here.

Messages keep slack_sdk's wording, name the model, and carry a json-pointer to the block (the models do
not say which nested field failed): ``text attribute cannot exceed 3000 characters (slack_sdk SectionBlock)
[json-pointer:/blocks/2]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# What a model constructor raises when a field has the wrong shape, besides its own formation error.
_SHAPE_ERRORS = (SlackObjectFormationError, TypeError, ValueError, AttributeError, KeyError)


def lost_components(sent: Any, kept: Any, pointer: str) -> Iterator[str]:
    """Pointers to typed components (dicts with a ``type``) in ``sent`` that ``kept`` (to_dict) lacks."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            if "type" in sent:
                yield pointer
            return
        for key, value in sent.items():
            yield from lost_components(value, kept.get(key), f"{pointer}/{key}")
    elif isinstance(sent, list):
        kept_list = kept if isinstance(kept, list) else []
        for i, value in enumerate(sent):
            yield from lost_components(value, kept_list[i] if i < len(kept_list) else None, f"{pointer}/{i}")


def _message(exc: BaseException, model: str) -> str:
    return f"{exc} (slack_sdk {model})"


def block_errors(block: Any, pointer: str) -> list[str]:
    """What slack_sdk's models say about one block: ``[]`` when they accept it."""
    if not isinstance(block, dict):
        return [f"must be an object (slack_sdk Block.parse) [json-pointer:{pointer}]"]
    model = "Block.parse"
    try:
        parsed = Block.parse(block)
        if parsed is None:
            kind = block.get("type")
            return [f"unsupported block type {kind!r} (slack_sdk Block.parse) [json-pointer:{pointer}]"]
        model = type(parsed).__name__
        parsed.validate_json()
        kept = parsed.to_dict()  # validates every nested component too
    except _SHAPE_ERRORS as exc:
        return [f"{_message(exc, model)} [json-pointer:{pointer}]"]
    return [
        f"unsupported component (slack_sdk {model} dropped it) [json-pointer:{lost}]"
        for lost in lost_components(block, kept, pointer)
    ]


def view_errors(view: dict[str, Any]) -> list[str]:
    """What slack_sdk's ``View`` says about a view's own fields.

    The blocks are left out: :func:`block_errors` checks each with its index, :mod:`.blocks` their count.
    So a view with no blocks passes, which ``View`` itself refuses ("between 1 and 100 blocks"): Slack's
    reference gives only the maximum, and the fake has always opened empty modals (UNCERTAIN which is right).
    """
    try:
        model = View(**{**view, "blocks": None})
        model.blocks = None  # type: ignore[assignment]  # (parse_all made it []): the count is checked elsewhere
        model.validate_json()
    except _SHAPE_ERRORS as exc:
        return [f"{_message(exc, 'View')} [json-pointer:/view]"]
    return []
