"""Block Kit as slack_sdk's own models see it, for tests: what they say about a message or a view we send.

Independent of the fake Slack's validator (:mod:`fakes.slack.state.blocks`), so the fake is not checking
itself. Stricter than Slack where that is cheap and right for us: every key we send must survive the
models' ``to_dict()`` round trip (a key they drop is one they do not know: a typo, or a field Slack
ignores), and a message with blocks must have a ``text`` fallback (slack_sdk warns without one; it is what
notifications and screen readers show).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Message-level limits (docs: chat.postMessage, Block Kit "blocks"); the models check only inside a block.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_CHARS = 40_000

_SHAPE_ERRORS = (SlackObjectFormationError, TypeError, ValueError, AttributeError, KeyError)


def differences(sent: Any, kept: Any, pointer: str) -> Iterator[str]:
    """Where the models' ``to_dict()`` (``kept``) differs from what we sent."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        for key in sent.keys() | kept.keys():
            if key not in kept:
                yield f"{pointer}/{key} was dropped by the model"
            elif key not in sent:
                yield f"{pointer}/{key} was added by the model"
            else:
                yield from differences(sent[key], kept[key], f"{pointer}/{key}")
    elif isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        for i, (a, b) in enumerate(zip(sent, kept, strict=True)):
            yield from differences(a, b, f"{pointer}/{i}")
    elif sent != kept:
        yield f"{pointer} is {kept!r} in the model, {sent!r} as sent"


def block_problems(blocks: Any, where: str = "/blocks") -> list[str]:
    """Each block parsed, validated and round-tripped by slack_sdk's models; ``[]`` when all is well."""
    if not isinstance(blocks, list):
        return [f"{where}: not a list of blocks"]
    problems: list[str] = []
    for i, block in enumerate(blocks):
        pointer = f"{where}/{i}"
        try:
            model = Block.parse(block)
            if model is None:
                problems.append(f"{pointer}: slack_sdk does not know the block {block!r}")
                continue
            model.validate_json()
            kept = model.to_dict()
        except _SHAPE_ERRORS as exc:
            problems.append(f"{pointer}: {type(exc).__name__}: {exc}")
            continue
        problems.extend(differences(block, kept, pointer))
    return problems


def message_problems(payload: dict[str, Any]) -> list[str]:
    """A message as chat.postMessage/chat.update/chat.postEphemeral, a response_url or an ack sends it."""
    problems: list[str] = []
    text = payload.get("text")
    blocks = payload.get("blocks")
    if text is not None and not isinstance(text, str):
        problems.append(f"text is a {type(text).__name__}")
    elif text and len(text) > MAX_TEXT_CHARS:
        problems.append(f"text has {len(text):,} characters; Slack allows {MAX_TEXT_CHARS:,}")
    if blocks is None:
        if not text and not payload.get("attachments") and not payload.get("delete_original"):
            problems.append("neither text nor blocks")
        return problems
    if not text:
        problems.append("blocks without a text fallback")
    if isinstance(blocks, list) and len(blocks) > MAX_MESSAGE_BLOCKS:
        problems.append(f"{len(blocks)} blocks; a message may have {MAX_MESSAGE_BLOCKS}")
    return problems + block_problems(blocks)


def view_problems(view: Any) -> list[str]:
    """A modal or Home tab: slack_sdk's ``View`` (type, title, submit, close, 1 to 100 blocks, metadata...)
    plus every block as :func:`block_problems` sees it."""
    if not isinstance(view, dict):
        return ["the view is not an object"]
    problems: list[str] = []
    try:
        model = View(**view)
        model.validate_json()
        kept = {k: v for k, v in model.to_dict().items() if k != "blocks"}
    except _SHAPE_ERRORS as exc:
        return [f"/view: {type(exc).__name__}: {exc}"]
    problems.extend(differences({k: v for k, v in view.items() if k != "blocks"}, kept, "/view"))
    blocks = view.get("blocks")
    if isinstance(blocks, list) and len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(f"{len(blocks)} blocks; a view may have {MAX_VIEW_BLOCKS}")
    return problems + block_problems(blocks, "/view/blocks")
