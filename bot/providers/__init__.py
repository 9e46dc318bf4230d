"""Image providers behind one interface. ``local`` (the default) works offline with no key."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import Settings
from bot.errors import ConfigurationError
from bot.imaging import ImagingPool
from bot.providers.base import ImageProvider
from bot.providers.local import LocalProvider
from bot.tiers import Ratio, Tier

log = logging.getLogger(__name__)

PROVIDERS = ("local", "openai", "gemini")


class ProviderNotConfigured(ConfigurationError):
    """The chosen provider lacks a setting it needs: stop at start-up with the setting's name."""


def build_provider(settings: Settings, pool: ImagingPool | None = None) -> ImageProvider:
    status = provider_status(settings, settings.provider)
    if not status.ready:
        raise ProviderNotConfigured(status.problem)
    if settings.provider == "openai":
        from bot.providers.openai import OpenAIProvider

        return OpenAIProvider(settings)
    if settings.provider == "gemini":
        from bot.providers.gemini import GeminiProvider

        return GeminiProvider(settings)
    return LocalProvider(pool)


@dataclass(frozen=True)
class Providers:
    """Every configured provider by name, and the workspace's choice (``DRAFTBOT_PROVIDER``)."""

    by_name: Mapping[str, ImageProvider]
    default: str

    def named(self, name: str | None) -> ImageProvider:
        """The provider a draft is made with: its snapshot's, else the workspace's. A channel's choice
        that is no longer configured (its key removed) falls back to the workspace's, said in the log."""
        if name and name in self.by_name:
            return self.by_name[name]
        if name:
            log.warning("provider %r is not configured any more: using %r", name, self.default)
        return self.by_name[self.default]

    async def aclose(self) -> None:
        for provider in self.by_name.values():
            await provider.aclose()

    def estimate_usd(self, name: str | None, quality: str | None, ratio: Ratio, tier: Tier) -> float:
        return self.named(name).estimate_usd(ratio, tier, quality)


def build_providers(settings: Settings, chosen: ImageProvider, pool: ImagingPool | None = None) -> Providers:
    """``chosen`` (the workspace's) and every other provider that can run: local always, OpenAI and
    Gemini when their key is set; a channel's settings pick among them."""
    found: dict[str, ImageProvider] = {chosen.name: chosen}
    for name in PROVIDERS:
        if name in found or not provider_status(settings, name).ready:
            continue
        try:
            found[name] = build_provider(settings.model_copy(update={"provider": name}), pool)
        except ConfigurationError as err:  # not the workspace's: a channel can't choose it, nothing stops
            log.warning("provider %s is not available to channels: %s", name, err)
    return Providers(found, chosen.name)


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    model: str
    base_url: str
    ready: bool
    problem: str = ""


def provider_status(settings: Settings, name: str) -> ProviderStatus:
    """What is configured for one provider, and whether it can run. Never includes a key."""
    if name == "openai":
        ready = settings.openai_api_key is not None and bool(settings.openai_api_key.get_secret_value())
        return ProviderStatus(
            name,
            settings.openai_model,
            settings.openai_base_url,
            ready,
            "" if ready else "DRAFTBOT_PROVIDER=openai needs OPENAI_API_KEY",
        )
    if name == "gemini":
        ready = settings.gemini_api_key is not None and bool(settings.gemini_api_key.get_secret_value())
        return ProviderStatus(
            name,
            settings.gemini_model,
            settings.gemini_base_url,
            ready,
            "" if ready else "DRAFTBOT_PROVIDER=gemini needs GEMINI_API_KEY",
        )
    return ProviderStatus("local", LocalProvider.model, "(offline)", True)


def describe_providers(settings: Settings) -> tuple[str, bool]:
    """The `draftbot providers` report, and whether the provider in use is ready."""
    lines = [f"provider in use: {settings.provider}  (DRAFTBOT_PROVIDER)"]
    for name in PROVIDERS:
        status = provider_status(settings, name)
        state = "ready" if status.ready else f"not ready: {status.problem.split(' needs ')[-1]} is not set"
        marker = "*" if name == settings.provider else " "
        lines.append(f" {marker} {name:<7} model {status.model:<22} {status.base_url:<52} {state}")
    limit = (
        f"{settings.images_per_minute} images/minute"
        if settings.images_per_minute
        else "no images/minute limit"
    )
    timeout = f"timeout {settings.provider_timeout_seconds:.0f} s"
    lines.append(f"calls at once: {settings.provider_concurrency}; {limit}; {timeout}")
    prices = ", ".join(f"{tier} ${usd:.3f}" for tier, usd in sorted(settings.prices.items()))
    lines.append(f"prices: {prices or 'built-in estimates (DRAFTBOT_PRICES overrides them)'}")
    return "\n".join(lines), provider_status(settings, settings.provider).ready
