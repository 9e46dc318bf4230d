"""Image providers behind one interface. ``local`` (the default) works offline with no key."""

from __future__ import annotations

from bot.config import Settings
from bot.imaging import ImagingPool
from bot.providers.base import ImageProvider
from bot.providers.local import LocalProvider


class ProviderNotAvailable(RuntimeError):
    """The configured provider cannot be built (a developer or operator error, raised at start-up)."""


def build_provider(settings: Settings, pool: ImagingPool | None = None) -> ImageProvider:
    if settings.provider == "local":
        return LocalProvider(pool)
    raise ProviderNotAvailable(
        f"DRAFTBOT_PROVIDER={settings.provider} is not available in this build; use DRAFTBOT_PROVIDER=local."
    )
