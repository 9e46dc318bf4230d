"""Finals a team can publish, end to end through the service: the 1K preview in Slack carries the
headline-safe guide, the stored files never do; finals are sRGB at the destination's DPI; and a 2K or 4K
whose composition drifted from its 1K says so (with the side-by-side), while a faithful one does not."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from PIL import Image, ImageCms

from bot import imaging
from bot.config import Settings
from bot.destinations import SafeZone
from bot.drafts import Done
from bot.providers.base import GeneratedImage, GenerationRequest
from bot.providers.local import LocalProvider, render
from bot.publisher import RecordingPublisher
from bot.runtime import Runtime, build_runtime
from bot.tiers import Tier
from storage import queries
from tests.conftest import FakeClock, drain, provided
from tests.services.test_service_flow import REQ, TEAM, new_draft


class DriftingProvider(LocalProvider):
    """The local renderer, but its 2K and 4K are another composition (another seed): a model that drifted."""

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        if request.tier is Tier.EXPLORE:
            return await super().generate(request)
        return await super().generate(replace(request, seed=request.seed + 7919, references=()))


async def to_final(runtime: Runtime, clock: FakeClock, text: str) -> int:
    draft_id = await new_draft(runtime, text)
    await drain(runtime, clock)
    decisions = runtime.drafts.decisions
    assert isinstance(await decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ), Done)
    await drain(runtime, clock)
    assert isinstance(await decisions.approve(team_id=TEAM, draft_id=draft_id, user="UAPP"), Done)
    await drain(runtime, clock)
    return draft_id


async def stored(runtime: Runtime, draft_id: int, tier: Tier) -> tuple[bytes, bytes | None, float | None]:
    """The stored file, the preview posted (if it differs) and the measured drift of the draft's image."""
    async with runtime.sessions() as session:
        [image] = await queries.variants_of(session, TEAM, draft_id, tier)
    preview = await runtime.blobs.get(image.preview_key) if image.preview_key else None
    return await runtime.blobs.get(str(image.blob_key)), preview, image.drift


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


async def test_the_guides_are_on_the_preview_only_and_the_final_is_print_ready(
    runtime: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id = await to_final(runtime, clock, "a jazz night in a rainy city for poster --n 1 --seed 11")
    one_k, preview, _ = await stored(runtime, draft_id, Tier.EXPLORE)
    assert preview is not None and publisher.images[(draft_id, Tier.EXPLORE, 1)][1] == preview
    assert preview != one_k  # Slack shows the guides; the reference for the 2K stays clean

    final, no_preview, drift = await stored(runtime, draft_id, Tier.FINAL)
    assert no_preview is None and publisher.images[(draft_id, Tier.FINAL, 1)][1] == final
    img = Image.open(io.BytesIO(final))
    assert img.info["dpi"] == (300, 300)  # a poster: print resolution
    profile = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(profile)
    # The final against the renderer's own drawing with and without guides: no guide pixels in it.
    clean = render("a jazz night in a rainy city", 11, imaging.measure(final)[0], safe_zone=SafeZone.TOP)
    guided = imaging.draw_guides(clean, SafeZone.TOP, label="draftbot · draft preview · seed 11")
    pixels = [np.asarray(i.convert("RGB"), dtype=np.int16) for i in (decoded(final), clean, guided)]
    shown, without, with_guides = pixels
    guide = np.abs(with_guides - without).max(axis=2) > 24  # where the guides would be
    assert guide.sum() > 1000
    to_clean = np.abs(shown - without).max(axis=2)[guide].mean()
    to_guided = np.abs(shown - with_guides).max(axis=2)[guide].mean()
    assert to_clean * 4 < to_guided, (to_clean, to_guided)
    assert drift is not None and drift < 0.25  # faithful: not flagged
    assert not publisher.compares


async def test_a_drifted_review_and_final_are_flagged_with_the_side_by_side(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    runtime = await build_runtime(
        settings, publisher=publisher, clock=clock, provider=provided(DriftingProvider())
    )
    try:
        draft_id = await to_final(runtime, clock, "a matte black water bottle for feed post --n 1")
        for tier in (Tier.REVIEW, Tier.FINAL):
            _, _, drift = await stored(runtime, draft_id, tier)
            assert drift is not None and drift > 0.25
            card, _ = publisher.images[(draft_id, tier, 1)]
            assert card.drifted and card.compare_label == f"1K #1 beside the {tier}"
            assert (draft_id, tier, 1, 1) in publisher.compares
    finally:
        await runtime.aclose()
