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
from bot.channel_settings import with_brand_notes
from bot.destinations import SCREEN_DPI, ImageFormat, SafeZone, by_key, dpi_for
from bot.errors import PermanentFailure
from bot.generation.lineage import Lineage
from bot.metrics import Metrics
from bot.providers import Providers
from bot.providers.base import BadOutput as ProviderBadOutput
from bot.providers.base import GenerationRequest, Reference, ReferenceUse, Refused
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
    preview: imaging.EncodedImage | None = None  # the 1K as posted in Slack, with its guides


@dataclass(frozen=True)
class Guides:
    """What a 1K preview draws over the clean image: the headline-safe zone and the provider's label."""

    safe_zone: SafeZone
    label: str | None


def prepare(
    data: bytes,
    target: Size,
    fmt: ImageFormat,
    tier: Tier,
    *,
    max_pixels: int,
    dpi: int = SCREEN_DPI,
    guides: Guides | None = None,
) -> Prepared:
    """Decode, fit to the exact target, encode under the tier's ceiling (sRGB, at ``dpi``); with
    ``guides``, also the preview drawn over the fitted image (not decoded again from the encoding). CPU
    work: runs in the pool, as one task."""
    try:
        img = imaging.decode(data, max_pixels=max_pixels)
    except imaging.BadImage as err:
        raise ProviderBadOutput(f"the provider returned an unusable image: {err}") from err
    fitted, report = imaging.fit(img, target)
    del img  # a 4K's decoded source is 33 MB: let it go before the encoder's buffers are taken
    encoded = imaging.encode(fitted, fmt, ceiling_bytes=tier.jpeg_ceiling_bytes, dpi=dpi)
    preview = None
    if guides is not None:
        guided = imaging.draw_guides(fitted, guides.safe_zone, label=guides.label)
        preview = imaging.encode(guided, fmt, ceiling_bytes=Tier.EXPLORE.jpeg_ceiling_bytes, dpi=SCREEN_DPI)
    return Prepared(encoded, report, preview)


def reference_use(variant: Variant, source: Variant | None) -> ReferenceUse:
    """What the image ``variant`` is made from is for: explore from it (1K), revise it (a review version
    made with feedback), reshape it (a final in another shape) or upgrade it (the rest)."""
    if variant.tier == Tier.EXPLORE:
        return "explore"
    if variant.feedback and source is not None and source.tier == variant.tier:
        return "revise"
    if variant.ratio and source is not None and source.tier == Tier.FINAL:
        return "reshape"
    return "upgrade"


_STARTS: dict[ReferenceUse, str] = {
    "explore": "this variant is made from",
    "upgrade": "this upgrade starts from",
    "revise": "this review version revises",
    "reshape": "this shape is made from",
}


class Maker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        providers: Providers,
        blobs: BlobStore,
        pool: imaging.ImagingPool,
        *,
        provider_concurrency: int,
        images_per_minute: int = 0,
        max_pixels: int,
        drift_threshold: float = 0.25,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics or Metrics()
        self.drift_threshold = drift_threshold
        self.providers = providers
        self.blobs = blobs
        self.pool = pool
        self.max_pixels = max_pixels
        self._provider_slots = asyncio.Semaphore(provider_concurrency)
        self._pace = PerMinute(images_per_minute)

    async def make(self, draft: Draft, variant: Variant, lineage: Lineage) -> Refused | None:
        """Make the pending ``variant`` and store it as generated; the provider's refusal if it refused.

        Its lineage's ``source`` is the image it is made from: for a 1K variant one to explore from (More
        like this), for a 2K/4K the image it upgrades (a review version: the one it revises; a final in
        another shape: the final). ``origin``: for an upgrade of a winner that was itself made from an
        image, that image (so a renderer that draws rather than edits can draw the winner again)."""
        tier = Tier(variant.tier)
        provider = self.providers.named(draft.provider)  # the channel's choice when it was drafted
        source, origin, feedback = lineage.source, lineage.origin, lineage.feedback
        use = reference_use(variant, source)
        starts = _STARTS[use]
        references = (await self.reference(source, starts=starts),) if source is not None else ()
        if not references and tier is Tier.EXPLORE and draft.reference_key:  # Draft from this image
            references = (await self.own_reference(draft),)
        upgrade_source = await self._origin(origin) if origin is not None else None
        ratio = Ratio.parse(variant.ratio or draft.ratio)  # a final in another shape has its own
        fmt = ImageFormat(draft.output_format)
        shape = by_key(variant.destination_key) if variant.destination_key else None
        request = GenerationRequest(
            # a later round may have edited it; the channel's brand notes go with every image
            prompt=with_brand_notes(variant.prompt or draft.prompt, draft.brand_notes),
            ratio=ratio,
            tier=tier,
            seed=variant.seed,
            size=provider.target_size(ratio, tier),
            references=references,
            reference_use=use,
            upgrade_source=upgrade_source,
            transparent=fmt is ImageFormat.PNG,
            safe_zone=shape.safe_zone if shape else SafeZone(draft.safe_zone),
            feedback=feedback,
            quality=draft.quality,
        )
        # The metrics' provider and tier: the provider's name (a small fixed set), never the draft's words.
        named, tier_label = provider.name, str(tier)
        try:
            async with self._provider_slots:
                await self._pace.wait_turn()
                started = time.monotonic()  # the provider's time, not the wait for a slot
                try:
                    output = await provider.generate(request)
                finally:
                    self.metrics.provider_call(named, tier_label, time.monotonic() - started)
                latency_ms = round((time.monotonic() - started) * 1000)
        except Refused as refusal:
            self.metrics.provider_outcome(named, tier_label, refusal)
            return refusal
        except Exception as err:
            self.metrics.provider_outcome(named, tier_label, err)
            raise
        dpi = dpi_for(variant.destination_key or draft.destination_key)
        try:
            guides = Guides(request.safe_zone, output.preview_label) if tier is Tier.EXPLORE else None
            prepared = await self.pool.run(
                prepare,
                output.data,
                request.size,
                fmt,
                tier,
                max_pixels=self.max_pixels,
                dpi=dpi,
                guides=guides,
            )
        except ProviderBadOutput as err:  # an answer, but not an image we can use
            self.metrics.provider_outcome(named, tier_label, err)
            raise
        self.metrics.provider_outcome(named, tier_label, None)
        encoded, fit = prepared.encoded, prepared.fit
        key = await self.blobs.put(encoded.data, content_type=encoded.content_type)
        shown = prepared.preview
        preview = await self.blobs.put(shown.data, content_type=shown.content_type) if shown else None
        drift = await self._drift(lineage, encoded.data) if use in ("upgrade", "revise") else None
        fit_note = None if fit.action == "none" else fit.describe()
        notes = [*output.notes, *([fit_note] if fit_note else [])]
        if use == "revise" and source is not None:
            compare: str | None = f"v{source.version} beside v{variant.version}"
        elif drift is not None and drift > self.drift_threshold and lineage.winner is not None:
            compare = f"1K #{lineage.winner.number} beside the {tier}"
        else:
            compare = None
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
                preview_key=preview,
                sha256=encoded.sha256,
                content_type=encoded.content_type,
                cost_estimate_usd=output.cost_estimate_usd,
                latency_ms=latency_ms,
                fit_note="; ".join(notes) or None,
                drift=drift,
                compare_label=compare,
            )
            if stored:
                record_for(
                    session,
                    draft,
                    AuditKind.GENERATION,
                    SYSTEM,
                    tier=tier,
                    number=variant.number,
                    version=variant.version,
                    reference_use=use,
                    **({"feedback": variant.feedback} if variant.feedback else {}),
                    **({"destination": variant.destination_name, "ratio": str(ratio)} if shape else {}),
                    provider=output.provider,
                    model=output.model,
                    seed=variant.seed,
                    requested=str(request.size),
                    width=encoded.size.width,
                    height=encoded.size.height,
                    bytes=len(encoded.data),
                    sha256=encoded.sha256,
                    quality=encoded.quality,
                    dpi=dpi,
                    **({"drift": round(drift, 4)} if drift is not None else {}),
                    latency_ms=latency_ms,
                    cost_estimate_usd=output.cost_estimate_usd,
                    # what a person calls the image it started from, not its database id
                    **({"source": f"{source.tier} #{source.number}"} if source is not None else {}),
                    request_id=output.request_id,
                    notes=notes,
                    **({"brand_notes": draft.brand_notes} if draft.brand_notes else {}),
                )
        if stored:  # committed: counted once, as the audit trail's generation event is
            self.metrics.image_made(output.provider, tier_label, output.cost_estimate_usd)
        return None

    async def _drift(self, lineage: Lineage, data: bytes) -> float | None:
        """How far ``data``'s composition moved from the 1K it descends from (None: no 1K to compare)."""
        winner = lineage.winner
        if winner is None or not winner.blob_key:
            return None
        try:
            before = await self.blobs.get(winner.blob_key)
        except BlobNotFound:
            return None  # nothing to compare with is no reason to lose the image
        return await self.pool.run(imaging.composition_drift, before, data, max_pixels=self.max_pixels)

    async def _origin(self, origin: Variant) -> Reference | None:
        """The image the winner was made from, a help to the upgrade but not needed: none when image
        retention deleted it (an old final made again in another shape)."""
        if origin.image_deleted_at is not None and not (
            origin.blob_key and await self.blobs.exists(origin.blob_key)
        ):
            return None
        return await self.reference(origin, starts="the winner was made from")

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
            if source.image_deleted_at is not None:  # bot.retention: the draft finished long ago
                gone = "was deleted after the draft finished, to save space (image retention)"
                raise PermanentFailure(f"{what} {gone}; {again}") from None
            raise PermanentFailure(f"{what} is missing from the image store; {again}") from None
        if source.sha256 and hashlib.sha256(data).hexdigest() != source.sha256:
            damaged = "is damaged (its stored file no longer matches its checksum)"
            raise PermanentFailure(f"{what} {damaged}; {again}")
        try:
            await self.pool.run(imaging.decode, data, max_pixels=self.max_pixels)
        except imaging.BadImage:  # its message speaks to someone uploading a file; this one is ours
            raise PermanentFailure(f"{what} can't be read as an image any more; {again}") from None
        return Reference(data, source.content_type) if source.content_type else Reference.of(data)
