"""OpenAI's error answers as draftbot's typed errors, with anything key-shaped removed from the text.

Changes when OpenAI's error bodies or status codes change. Retrying is the job runner's work; this only
classifies (see :mod:`bot.providers.http`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import httpx

from bot.providers.base import ModelNotFound, ProviderError, RateLimited, Refused, Unavailable
from bot.providers.http import retry_after, too_long_to_wait

PROVIDER = "openai"
_MESSAGE_CHARS = 300  # OpenAI's messages are quoted, truncated to this

_KEY_LIKE = re.compile(r"\b(?:sk|sess|org)-[A-Za-z0-9_*\-]{6,}")
_TAG = re.compile(r"<[^>]*>")
_WAIT_IN_MESSAGE = re.compile(r"try again (?:in|after) (\d+(?:\.\d+)?)\s*(ms|s\b|sec|second)", re.IGNORECASE)


def error_for(response: httpx.Response, *, model: str, key: str) -> ProviderError:
    """The typed error for an unsuccessful answer about ``model``; every text from the body is redacted
    (``key`` and anything key-shaped) before use."""
    status = response.status_code
    parsed = _ErrorInfo.parse(response)
    info = replace(
        parsed,
        message=redact(parsed.message, key),
        code=redact(parsed.code, key),
        type=redact(parsed.type, key),
        categories=redact(parsed.categories, key),
        stage=redact(parsed.stage, key),
    )
    message = info.message or f"HTTP {status} with no error message"
    provider = PROVIDER

    if info.code in ("moderation_blocked", "content_policy_violation") or info.type == (
        "content_policy_violation"
    ):
        return Refused(message, provider=provider, category=info.categories, stage=info.stage)
    if status == 401:
        return ProviderError("OpenAI refused the API key (check OPENAI_API_KEY)", provider=provider)
    if status == 403:
        return ProviderError(
            "OpenAI refused the API key (check OPENAI_API_KEY, and that its organization may use "
            f"{model!r}{_code_suffix(info.code)})",
            provider=provider,
        )
    if status == 404:
        hint = "" if info.is_openai else " (the answer was not OpenAI's: check OPENAI_BASE_URL too)"
        return ModelNotFound(
            f"OpenAI does not know the model {model!r}; set OPENAI_IMAGE_MODEL to a current one{hint}",
            provider=provider,
        )
    if status == 429 and info.code in ("insufficient_quota", "billing_hard_limit_reached"):
        return ProviderError(
            f"OpenAI says the account is out of credit or quota (check billing): {message}",
            provider=provider,
        )
    wait = retry_after(response.headers)
    if wait is None:
        wait = _wait_from_message(info.message)
    error: ProviderError
    if status in (408, 409, 429):
        error = RateLimited(
            f"OpenAI is rate limiting us (HTTP {status}): {message}", provider=provider, retry_after=wait
        )
    elif status >= 500:
        error = Unavailable(
            f"OpenAI is unavailable (HTTP {status}): {message}", provider=provider, retry_after=wait
        )
    else:
        return ProviderError(
            f"OpenAI rejected the request (HTTP {status}{_code_suffix(info.code)}): {message}",
            provider=provider,
        )
    if response.headers.get("x-should-retry", "").strip().lower() == "false":
        return ProviderError(f"{error.message} (OpenAI asked not to retry)", provider=provider)
    return too_long_to_wait(error)


def redact(text: str, key: str) -> str:
    """OpenAI's messages can quote a (masked) key, e.g. for a wrong one: never pass one on."""
    if key:
        text = text.replace(key, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


@dataclass(frozen=True)
class _ErrorInfo:
    message: str
    code: str = ""
    type: str = ""
    categories: str = ""
    stage: str = ""
    is_openai: bool = False  # the body had OpenAI's {"error": {...}} shape

    @classmethod
    def parse(cls, response: httpx.Response) -> _ErrorInfo:
        """OpenAI's ``{"error": {"message", "type", "param", "code"}}``; proxies send HTML, text, nothing."""
        body = json_object(response)
        error = body.get("error") if body is not None else None
        if isinstance(error, dict):
            details = error.get("moderation_details")
            details = details if isinstance(details, dict) else {}
            raw_categories = details.get("categories")
            categories = (
                [str(c) for c in raw_categories if isinstance(c, str | int)]
                if isinstance(raw_categories, list)
                else []
            )
            return cls(
                message=_clip(_text(error.get("message"))),
                code=_text(error.get("code")),
                type=_text(error.get("type")),
                categories=", ".join(categories),
                stage=_text(details.get("moderation_stage")),
                is_openai=True,
            )
        if isinstance(error, str):  # some gateways flatten it
            return cls(message=_clip(error))
        return cls(message=_clip(_plain_text(response)))


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    return body if isinstance(body, dict) else None


def _plain_text(response: httpx.Response) -> str:
    """A non-JSON error body as one short line: HTML pages (a proxy's 502) lose their tags."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    if "<" in text and ">" in text:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title[1] if title else _TAG.sub(" ", text)
    return " ".join(text.split())


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1].rstrip() + "…"


def _code_suffix(code: str) -> str:
    return f", {code}" if code else ""


def _wait_from_message(message: str) -> float | None:
    """429 messages say e.g. "Please try again in 20s" or "try again after 51.84 seconds"."""
    match = _WAIT_IN_MESSAGE.search(message)
    if not match:
        return None
    value = float(match[1])
    return value / 1000 if match[2].lower() == "ms" else value
