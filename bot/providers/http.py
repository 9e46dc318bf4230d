"""What the HTTP providers share: one httpx client shape, retry hints, and transport errors as types.

Retrying is the job runner's work (durable, with backoff); providers only say whether and when.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx

from bot.providers.base import BadOutput, ProviderError, Unavailable

# A retry hint longer than this is not a hint but a quota for the day: give up and say so.
MAX_RETRY_AFTER_SECONDS = 120.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*s\s*$")


def build_http_client(base_url: str, *, timeout: float, headers: Mapping[str, str]) -> httpx.AsyncClient:
    """A client for one provider. Image generation takes tens of seconds: httpx's 5 s default is far too
    short for reading, while connecting should fail fast. Proxies from the environment are honoured."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        headers=dict(headers),
        timeout=httpx.Timeout(timeout, connect=10.0),
    )


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds; HTTP dates are ignored)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


def parse_duration(value: object) -> float | None:
    """Google's protobuf Duration in JSON, e.g. ``"53s"`` or ``"0.5s"``."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return float(match[1])
    return None


def decode_base64_image(data: object, *, provider: str) -> bytes:
    if not isinstance(data, str) or not data:
        raise BadOutput("the response carried no image data", provider=provider)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:
        raise BadOutput(f"the image data is not valid base64 ({err})", provider=provider) from None


@asynccontextmanager
async def transport_errors(provider: str) -> AsyncIterator[None]:
    """Timeouts and dropped connections become :class:`Unavailable` (retried); the URL and headers,
    which may carry a key, are never part of the message."""
    try:
        yield
    except httpx.TimeoutException:
        raise Unavailable(f"{provider} did not answer in time", provider=provider) from None
    except httpx.TransportError as err:
        raise Unavailable(f"could not reach {provider} ({type(err).__name__})", provider=provider) from None


def too_long_to_wait(error: ProviderError) -> ProviderError:
    """A rate limit whose hint is past :data:`MAX_RETRY_AFTER_SECONDS` is not retried."""
    if error.retry_after is not None and error.retry_after > MAX_RETRY_AFTER_SECONDS:
        final = ProviderError(
            f"{error.message} (asked to wait {error.retry_after:.0f}s: the quota is used up)",
            provider=error.provider,
        )
        return final
    return error
