"""The one small interface every image source speaks, and the errors it may raise.

A provider turns a prompt into image bytes plus the facts we audit. It never decides sizes on trust:
callers decode, measure and fit what comes back (see :mod:`bot.imaging`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.destinations import SafeZone
from bot.errors import ConfigurationError, DraftbotError, Transient
from bot.imaging import sniff
from bot.tiers import Ratio, Size, Tier

# The content type of bytes whose format no one knows; providers treat it as "not an image we take".
UNKNOWN_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Reference:
    """An image a provider works from (the winner, when upgrading) and its MIME type, e.g. ``image/png``.

    The caller says what it is (the stored variant's ``content_type``); providers trust that rather than
    sniffing the bytes again.
    """

    data: bytes = field(repr=False)
    content_type: str

    @classmethod
    def of(cls, data: bytes) -> Reference:
        """``data`` with its type read from the bytes (:func:`bot.imaging.sniff`)."""
        return cls(data, sniff(data) or UNKNOWN_CONTENT_TYPE)


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    ratio: Ratio
    tier: Tier
    seed: int
    size: Size  # the exact target; the provider may return something else and we fit it
    references: tuple[Reference, ...] = ()  # the winner, when upgrading
    transparent: bool = False
    safe_zone: SafeZone = SafeZone.TOP


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    provider: str
    model: str
    cost_estimate_usd: float = 0.0
    request_id: str | None = None
    # Honest notes for the audit trail, e.g. "generated at 3840x2160 (model maximum), upscaled locally".
    notes: tuple[str, ...] = ()
    usage: dict[str, int] = field(default_factory=dict)


class ImageProvider(Protocol):
    name: str
    model: str

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        """The exact pixel size this provider delivers (after our fitting) for ``ratio`` at ``tier``."""
        ...

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        """Make one image. Raises a :class:`ProviderError` subclass on failure."""
        ...

    async def aclose(self) -> None: ...


class ProviderError(DraftbotError):
    """Base of provider failures; the job runner tries again by type (:class:`Transient`)."""

    def __init__(self, message: str, *, provider: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.retry_after = retry_after


class Refused(ProviderError):
    """Moderation or safety refused the prompt or the output. Never retried; the user is told why."""

    def __init__(self, message: str, *, provider: str = "", category: str = "", stage: str = "") -> None:
        super().__init__(message, provider=provider)
        self.category = category
        self.stage = stage


class RateLimited(ProviderError, Transient):
    """429 or a quota that refills: wait ``retry_after`` and try again."""


class Unavailable(ProviderError, Transient):
    """5xx, overloaded, timeouts, connection errors."""


class ModelNotFound(ProviderError, ConfigurationError):
    """The configured model is unknown or retired: a configuration error, not worth a retry."""


class BadOutput(ProviderError, Transient):
    """No image, an undecodable one, or one far from the asked shape."""
