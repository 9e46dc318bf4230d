"""Making one image: the provider (under its concurrency slots and per-minute pace), then imaging in the
pool, then the blob store, then the stored variant and its GENERATION audit event.

Nothing here posts to Slack or decides what a failure means for the draft: a refusal is handed back.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import imaging
from bot.audit import SYSTEM, AuditKind, record_for
from bot.destinations import ImageFormat, SafeZone
from bot.errors import PermanentFailure
from bot.providers.base import BadOutput as ProviderBadOutput
from bot.providers.base import GenerationRequest, ImageProvider, Reference, Refused
from bot.providers.limits import PerMinute
from bot.tiers import Ratio, Size, Tier
from bot.workflow import VariantState
from storage import queries
from storage.blobs import BlobNotFound, BlobStore
from storage.models import Draft, Variant


@dataclass(frozen=True)
class Prepared:
    encoded: imaging.EncodedImage
    fit: imaging.FitReport


def prepare(data: bytes, target: Size, fmt: ImageFormat, tier: Tier, *, max_pixels: int) -> Prepared:
    """Decode, fit to the exact target, encode under the tier's ceiling. CPU work: runs in the pool."""
    try:
        img = imaging.decode(data, max_pixels=max_pixels)
    except imaging.BadImage as err:
        raise ProviderBadOutput(f"the provider returned an unusable image: {err}") from err
    fitted, report = imaging.fit(img, target)
    return Prepared(imaging.encode(fitted, fmt, ceiling_bytes=tier.jpeg_ceiling_bytes), report)


class Maker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        provider: ImageProvider,
        blobs: BlobStore,
        pool: imaging.ImagingPool,
        *,
        provider_concurrency: int,
        images_per_minute: int = 0,
        max_pixels: int,
    ) -> None:
        self.sessions = sessions
        self.provider = provider
        self.blobs = blobs
        self.pool = pool
        self.max_pixels = max_pixels
        self._provider_slots = asyncio.Semaphore(provider_concurrency)
        self._pace = PerMinute(images_per_minute)

    async def make(
        self, draft: Draft, variant: Variant, source: Variant | None, origin: Variant | None = None
    ) -> Refused | None:
        """Make the pending ``variant`` and store it as generated; the provider's refusal if it refused.

        ``source``: the image it is made from: for a 1K variant one to explore from (More like this), for a
        2K/4K the image it upgrades. ``origin``: for an upgrade of a winner that was itself made from an
        image, that image (so a renderer that draws rather than edits can draw the winner again)."""
        tier = Tier(variant.tier)
        starts = "this variant is made from" if tier is Tier.EXPLORE else "this upgrade starts from"
        references = (await self.reference(source, starts=starts),) if source is not None else ()
        if not references and tier is Tier.EXPLORE and draft.reference_key:  # Draft from this image
            references = (await self.own_reference(draft),)
        upgrade_source = (
            await self.reference(origin, starts="the winner was made from") if origin is not None else None
        )
        ratio = Ratio.parse(draft.ratio)
        fmt = ImageFormat(draft.output_format)
        request = GenerationRequest(
            prompt=variant.prompt or draft.prompt,  # a later round may have edited it
            ratio=ratio,
            tier=tier,
            seed=variant.seed,
            size=self.provider.target_size(ratio, tier),
            references=references,
            reference_use="explore" if tier is Tier.EXPLORE else "upgrade",
            upgrade_source=upgrade_source,
            transparent=fmt is ImageFormat.PNG,
            safe_zone=SafeZone(draft.safe_zone),
        )
        try:
            async with self._provider_slots:
                await self._pace.wait_turn()
                started = time.monotonic()  # the provider's time, not the wait for a slot
                output = await self.provider.generate(request)
                latency_ms = round((time.monotonic() - started) * 1000)
        except Refused as refusal:
            return refusal
        prepared = await self.pool.run(
            prepare, output.data, request.size, fmt, tier, max_pixels=self.max_pixels
        )
        encoded, fit = prepared.encoded, prepared.fit
        key = await self.blobs.put(encoded.data, content_type=encoded.content_type)
        fit_note = None if fit.action == "none" else fit.describe()
        notes = [*output.notes, *([fit_note] if fit_note else [])]
        async with self.sessions.begin() as session:
            # Taken in turn with announcing the draft: either the parent is there for the poster to see
            # next, or announcing sees this image made and asks for its post (bot.generation.posting).
            await queries.lock_draft(session, draft.team_id, draft.id)
            stored = await queries.set_variant(
                session,
                variant.id,
                VariantState.PENDING,
                status=VariantState.GENERATED,
                provider=output.provider,
                model=output.model,
                width=encoded.size.width,
                height=encoded.size.height,
                bytes=len(encoded.data),
                blob_key=key,
                sha256=encoded.sha256,
                content_type=encoded.content_type,
                cost_estimate_usd=output.cost_estimate_usd,
                latency_ms=latency_ms,
                fit_note="; ".join(notes) or None,
            )
            if stored:
                record_for(
                    session,
                    draft,
                    AuditKind.GENERATION,
                    SYSTEM,
                    tier=tier,
                    number=variant.number,
                    provider=output.provider,
                    model=output.model,
                    seed=variant.seed,
                    requested=str(request.size),
                    width=encoded.size.width,
                    height=encoded.size.height,
                    bytes=len(encoded.data),
                    sha256=encoded.sha256,
                    quality=encoded.quality,
                    latency_ms=latency_ms,
                    cost_estimate_usd=output.cost_estimate_usd,
                    # what a person calls the image it started from, not its database id
                    **({"source": f"{source.tier} #{source.number}"} if source is not None else {}),
                    request_id=output.request_id,
                    notes=notes,
                )
        return None

    async def own_reference(self, draft: Draft) -> Reference:
        """The team's own image the draft was started from (stored and checked when it was fetched)."""
        try:
            data = await self.blobs.get(str(draft.reference_key))
        except BlobNotFound:
            raise PermanentFailure(
                "the reference image this draft was started from is missing from the image store; "
                "use Draft from this image on the message again"
            ) from None
        return Reference(data, draft.reference_type) if draft.reference_type else Reference.of(data)

    async def reference(self, source: Variant, *, starts: str = "this upgrade starts from") -> Reference:
        """The stored image an upgrade starts from, checked before any provider sees it. A missing,
        damaged or unreadable file can't get better by trying again: the upgrade fails at once, saying why."""
        what = f"the {source.tier} image {source.number} {starts}"
        again = "start a new `/draft` to make it again"
        if not source.blob_key:
            raise PermanentFailure(f"{what} is missing")
        try:
            data = await self.blobs.get(source.blob_key)
        except BlobNotFound:
            raise PermanentFailure(f"{what} is missing from the image store; {again}") from None
        if source.sha256 and hashlib.sha256(data).hexdigest() != source.sha256:
            damaged = "is damaged (its stored file no longer matches its checksum)"
            raise PermanentFailure(f"{what} {damaged}; {again}")
        try:
            await self.pool.run(imaging.decode, data, max_pixels=self.max_pixels)
        except imaging.BadImage:  # its message speaks to someone uploading a file; this one is ours
            raise PermanentFailure(f"{what} can't be read as an image any more; {again}") from None
        return Reference(data, source.content_type) if source.content_type else Reference.of(data)
