"""Gemini's answers as draftbot's typed errors: HTTP errors, safety blocks in a 200, RetryInfo and quotas.

Changes when Google's error bodies or safety signals change. Safety blocks arrive as HTTP 200
(``promptFeedback.blockReason`` or a safety ``finishReason``) and become :class:`Refused`. Google's own
messages are scrubbed of the API key before they are passed on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Final

import httpx

from bot.providers.base import ModelNotFound, ProviderError, RateLimited, Refused, Unavailable
from bot.providers.gemini.wire import as_list, as_obj, as_str, sentence, shorten
from bot.providers.http import parse_duration, retry_after, too_long_to_wait

log = logging.getLogger("bot.providers.gemini")

PROVIDER = "gemini"

BLOCK_REASONS: Final = frozenset({"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"})
SAFETY_FINISH_REASONS: Final = frozenset(
    {
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
    }
)
_OVERLOADED_STATUSES: Final = frozenset(
    {"UNAVAILABLE", "INTERNAL", "MODEL_CAPACITY_EXHAUSTED", "DEADLINE_EXCEEDED"}
)


def scrub(text: str, key: str) -> str:
    """Google's text with the key blanked out, should it ever echo it."""
    return text.replace(key, "[redacted]")


def blocked_prompt(feedback: Mapping[str, object], *, key: str) -> Refused | None:
    """The refusal a ``promptFeedback`` carries (an answer with no candidates), if it says one."""
    reason = as_str(feedback.get("blockReason"))
    if not reason or reason == "BLOCKED_REASON_UNSPECIFIED":
        return None
    detail = as_str(feedback.get("blockReasonMessage"))
    message = sentence(shorten(scrub(detail, key))) if detail else "Gemini blocked the prompt."
    if reason not in BLOCK_REASONS:
        log.warning("gemini blocked a prompt with an unknown blockReason %r", reason)
    return Refused(message, provider=PROVIDER, category=reason, stage="input")


def withheld_image(finish: str, said: str, *, key: str) -> Refused | None:
    """The refusal for a candidate without an image whose ``finishReason`` is a safety one."""
    if finish not in SAFETY_FINISH_REASONS:
        return None
    message = sentence(shorten(scrub(said, key))) if said else "Gemini's safety filters withheld the image."
    return Refused(message, provider=PROVIDER, category=finish, stage="output")


def error_for(
    response: httpx.Response, body: dict[str, object] | None = None, *, model: str, key: str
) -> ProviderError:
    """The typed error for an answer that is not a success (``body``: an error already parsed from it)."""
    code = response.status_code
    if body is None:
        try:
            payload: object = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, list) and payload:  # some endpoints wrap the error in a list
            payload = payload[0]
        body = as_obj(payload)
    error = as_obj(body.get("error"))
    if code == 200 and isinstance(wrapped := error.get("code"), int):
        code = wrapped
    status = as_str(error.get("status"))
    details = [as_obj(d) for d in as_list(error.get("details"))]
    google = shorten(scrub(as_str(error.get("message")), key))
    if not google:
        kind = response.headers.get("content-type", "").split(";")[0] or "no"
        google = f"HTTP {code} with {kind} body" if response.content else f"HTTP {code} with an empty body"
    label = f"{status}: {google}" if status else google
    reasons = {as_str(d.get("reason")) for d in details}
    hint = retry_info(details)
    if hint is None:
        hint = retry_after(response.headers)

    if code == 404 or status == "NOT_FOUND":
        elsewhere = "" if error else " (the 404 did not come from Gemini's API: check GEMINI_BASE_URL)"
        return ModelNotFound(
            f"Gemini does not know the model {model!r}; set GEMINI_IMAGE_MODEL to a current one" + elsewhere,
            provider=PROVIDER,
        )
    if (
        code in (401, 403)
        or status in ("UNAUTHENTICATED", "PERMISSION_DENIED")
        or "API_KEY_INVALID" in reasons
    ):
        return ProviderError(
            f"Gemini refused the API key (check GEMINI_API_KEY): {google}", provider=PROVIDER
        )
    overloaded = "MODEL_CAPACITY_EXHAUSTED" in reasons or status in _OVERLOADED_STATUSES
    if overloaded or code >= 500 or code == 408:
        return too_long_to_wait(
            Unavailable(f"Gemini is unavailable ({label})", provider=PROVIDER, retry_after=hint)
        )
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        if quota_used_up(details, google):
            return ProviderError(
                f"Gemini's quota for {model} is used up for the day or is 0 for this API key "
                f"(image models need billing enabled) ({label})",
                provider=PROVIDER,
            )
        limited = RateLimited(
            f"Gemini's rate limit was reached ({label})", provider=PROVIDER, retry_after=hint
        )
        return too_long_to_wait(limited)
    return ProviderError(f"Gemini rejected the request ({label})", provider=PROVIDER)


def quota_used_up(details: Sequence[Mapping[str, object]], message: str) -> bool:
    """A 429 no retry will fix: a quota of 0 (the free tier has no image quota) or a per-day cap."""
    if "limit: 0" in message:
        return True
    for detail in details:
        if not as_str(detail.get("@type")).endswith("google.rpc.QuotaFailure"):
            continue
        for raw in as_list(detail.get("violations")):
            violation = as_obj(raw)
            if str(violation.get("quotaValue")) == "0" or "PerDay" in as_str(violation.get("quotaId")):
                return True
    return False


def retry_info(details: Sequence[Mapping[str, object]]) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "53s"``), if there is one."""
    for detail in details:
        if as_str(detail.get("@type")).endswith("google.rpc.RetryInfo"):
            return parse_duration(detail.get("retryDelay"))
    return None
