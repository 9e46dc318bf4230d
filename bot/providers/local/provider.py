"""The offline :class:`~bot.providers.base.ImageProvider`: free, deterministic abstract drafts."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.providers.base import GeneratedImage, GenerationRequest, ImageProvider, Unavailable
from bot.providers.local.paint import render_bytes
from bot.tiers import Ratio, Size, Tier, local_size

if TYPE_CHECKING:
    from bot.imaging import ImagingPool


class LocalProvider:
    """The offline :class:`~bot.providers.base.ImageProvider`: free, deterministic abstract drafts."""

    name = "local"
    model = "draftbot-local-1"

    def __init__(self, pool: ImagingPool | None = None) -> None:
        self._pool = pool

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return local_size(ratio, tier)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        args = (request.prompt, request.seed, request.size)
        zone, transparent = request.safe_zone, request.transparent
        try:
            if self._pool is not None:
                data = await self._pool.run(render_bytes, *args, safe_zone=zone, transparent=transparent)
            else:
                data = await asyncio.to_thread(render_bytes, *args, safe_zone=zone, transparent=transparent)
        except MemoryError:  # a busy machine, not a bad request: worth another try later
            raise Unavailable("not enough memory to draw the draft right now", provider=self.name) from None
        notes = ["an abstract layout draft by the offline local renderer, not a generative model"]
        if request.references:
            notes.append(
                "redrawn from the same prompt and seed (the local renderer needs no reference image)"
            )
        return GeneratedImage(
            data=data,
            provider=self.name,
            model=self.model,
            cost_estimate_usd=0.0,
            notes=tuple(notes),
        )

    async def aclose(self) -> None:
        return None


if TYPE_CHECKING:
    _protocol_check: ImageProvider = LocalProvider()
