"""The offline :class:`~bot.providers.base.ImageProvider`: free, deterministic abstract drafts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from bot.providers.base import (
    GeneratedImage,
    GenerationRequest,
    ImageProvider,
    ProviderError,
    Unavailable,
    reference_note,
    reference_size,
)
from bot.providers.local.paint import preview_label, render_bytes
from bot.providers.local.redraw import redraw_bytes
from bot.providers.local.reference import UnreadableReference
from bot.tiers import Ratio, Size, Tier, local_size

if TYPE_CHECKING:
    from bot.imaging import ImagingPool

P = ParamSpec("P")
T = TypeVar("T")


class LocalProvider:
    """The offline :class:`~bot.providers.base.ImageProvider`: free, deterministic abstract drafts."""

    name = "local"
    model = "draftbot-local-1"

    def __init__(self, pool: ImagingPool | None = None) -> None:
        self._pool = pool

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return local_size(ratio, tier)

    def estimate_usd(self, ratio: Ratio, tier: Tier, quality: str | None = None) -> float:
        return 0.0  # drawn here, on this machine

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        try:
            data, changes = await self._draw(request)
        except MemoryError:  # a busy machine, not a bad request: worth another try later
            raise Unavailable("not enough memory to draw the draft right now", provider=self.name) from None
        except UnreadableReference as err:
            raise ProviderError(str(err), provider=self.name) from None
        return GeneratedImage(
            data=data,
            provider=self.name,
            model=self.model,
            cost_estimate_usd=0.0,
            notes=(*_notes(request), *changes),
            preview_label=preview_label(request.seed),  # what it is, on the preview only
        )

    async def _draw(self, request: GenerationRequest) -> tuple[bytes, tuple[str, ...]]:
        """The image, and what the feedback changed in it. Exploring: the reference's palette and layout.
        Otherwise (upgrade, revise, reshape) the same picture again, i.e. the same prompt and seed, and the
        reference the image was drafted from, if it was; with every change request in ``feedback``."""
        look = request.references[0] if request.explores else request.upgrade_source
        reference = look.data if look is not None else None
        args = (request.prompt, request.seed, request.size)
        zone, transparent = request.safe_zone, request.transparent
        if request.feedback:
            return await self._run(
                redraw_bytes,
                *args,
                feedback=request.feedback,
                safe_zone=zone,
                transparent=transparent,
                reference=reference,
            )
        image = await self._run(
            render_bytes, *args, safe_zone=zone, transparent=transparent, reference=reference
        )
        return image, ()

    async def _run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._pool is not None:
            return await self._pool.run(fn, *args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def aclose(self) -> None:
        return None


def _notes(request: GenerationRequest) -> list[str]:
    notes = ["an abstract layout draft by the offline local renderer, not a generative model"]
    same = "prompt, seed and source reference" if request.upgrade_source is not None else "prompt and seed"
    if request.explores:
        notes.append("palette and layout taken from the reference image (its colours, masses and subject)")
        size = reference_size(request.references[0])
        note = reference_note(size, request.ratio) if size is not None else None
        if note is not None:
            notes.append(note)
    elif request.reference_use == "revise":
        notes.append(
            f"redrawn from the same {same} as the review with the feedback applied "
            "(the local renderer draws; it does not edit)"
        )
    elif request.reference_use == "reshape":
        notes.append(
            f"redrawn for {request.ratio} from the same {same} as the approved final; "
            "the layout adapts to the new frame"
        )
    elif request.references and request.upgrade_source is not None:
        notes.append("redrawn from the same prompt, seed and source reference as the winner")
    elif request.references:
        notes.append("redrawn from the same prompt and seed (the local renderer needs no reference image)")
    return notes


if TYPE_CHECKING:
    _protocol_check: ImageProvider = LocalProvider()
