"""Small JSON helpers for Gemini's answers: the wire is untrusted, so never assume a shape."""

from __future__ import annotations

# Google's error text is passed on, but short: it ends up in Slack notices and the audit trail.
MAX_MESSAGE_CHARS = 300


def as_obj(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def sentence(text: str) -> str:
    text = text.rstrip()
    return text if not text or text[-1] in ".!?…" else text + "."
