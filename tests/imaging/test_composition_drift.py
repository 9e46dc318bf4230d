"""Composition drift: a 2K or 4K redrawn from its 1K measures near 0, another composition far over the
threshold."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from bot import imaging
from bot.config import Settings
from bot.destinations import ImageFormat, SafeZone
from bot.imaging import BadImage
from bot.providers.local import render, render_bytes
from bot.tiers import Ratio, Size, Tier, local_size

PROMPT = "matte black and gold headphones launch, dramatic light"
MAX_PIXELS = 64_000_000
THRESHOLD = Settings.model_fields["drift_threshold"].default
CASES = [
    (Ratio(9, 16), SafeZone.TOP),
    (Ratio(16, 9), SafeZone.LEFT),
    (Ratio(1, 1), SafeZone.BOTTOM),
    (Ratio(21, 9), SafeZone.CENTER),
    (Ratio(3, 2), SafeZone.NONE),
]


def drift(a: bytes, b: bytes) -> float:
    return imaging.composition_drift(a, b, max_pixels=MAX_PIXELS)


def encoded(img: Image.Image, tier: Tier) -> bytes:
    return imaging.encode(img, ImageFormat.JPEG, ceiling_bytes=tier.jpeg_ceiling_bytes).data


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_the_default_threshold_is_the_one_calibrated_here() -> None:
    assert THRESHOLD == 0.25


@pytest.mark.parametrize(("ratio", "zone"), CASES)
def test_an_upgrade_of_the_same_composition_barely_drifts(ratio: Ratio, zone: SafeZone) -> None:
    winner = render_bytes(PROMPT, 5, local_size(ratio, Tier.EXPLORE), safe_zone=zone)
    for tier in (Tier.REVIEW, Tier.FINAL):
        upgrade = encoded(render(PROMPT, 5, local_size(ratio, tier), safe_zone=zone), tier)
        measured = drift(winner, upgrade)
        print(f"{ratio} {zone} 1K→{tier}: {measured:.4f}")
        assert measured < 0.02


@pytest.mark.parametrize(("ratio", "zone"), CASES)
def test_another_composition_drifts_far_over_the_threshold(ratio: Ratio, zone: SafeZone) -> None:
    size = local_size(ratio, Tier.EXPLORE)
    winner = render_bytes(PROMPT, 5, size, safe_zone=zone)
    review = local_size(ratio, Tier.REVIEW)
    others = {f"seed {seed}": render_bytes(PROMPT, seed, review, safe_zone=zone) for seed in (6, 7, 8, 9)} | {
        "another prompt": render_bytes("a soft pastel spring picnic", 5, review, safe_zone=zone)
    }
    for what, other in others.items():
        measured = drift(winner, other)
        print(f"{ratio} {zone} {what}: {measured:.4f}")
        assert measured > 1.4 * THRESHOLD, what


def test_jpeg_noise_is_not_drift() -> None:
    """Down to the lowest quality :func:`bot.imaging.encode` ever picks; smooth gradients band the most."""
    clean = render(PROMPT, 5, local_size(Ratio(16, 9), Tier.EXPLORE), safe_zone=SafeZone.LEFT)
    for quality in (imaging.JPEG_MIN_QUALITY, 75, imaging.JPEG_MAX_QUALITY):
        rough = io.BytesIO()
        clean.save(rough, "JPEG", quality=quality)
        measured = drift(png(clean), rough.getvalue())
        print(f"JPEG quality {quality}: {measured:.4f}")
        assert measured < 0.03
    assert drift(png(clean), png(clean)) == pytest.approx(0.0, abs=1e-9)


def test_exposure_and_small_nudges_stay_under_the_threshold() -> None:
    """What an editing provider does to a faithful upgrade: relight it, shift it a little, add texture."""
    one = render(PROMPT, 5, local_size(Ratio(9, 16), Tier.EXPLORE), safe_zone=SafeZone.TOP)
    w, h = one.size
    brighter = one.point(lambda v: min(255, round(v * 1.3)))
    nudged = one.crop((round(w * 0.02), 0, w, h)).resize(one.size)
    grain = Image.blend(one, Image.effect_noise(one.size, 40).convert("RGB"), 0.25)
    for what, img in {"brighter": brighter, "shifted 2%": nudged, "grain": grain}.items():
        measured = drift(png(one), png(img))
        print(f"{what}: {measured:.4f}")
        assert measured < THRESHOLD / 3, what


def test_drift_is_between_0_and_1() -> None:
    one = render(PROMPT, 5, Size(320, 320), safe_zone=SafeZone.NONE)
    assert drift(png(one), png(ImageOps.invert(one))) == pytest.approx(1.0, abs=0.05)
    flat = Image.new("RGB", (320, 320), (90, 90, 90))
    assert 0.0 <= drift(png(flat), png(one)) <= 1.0
    assert drift(png(flat), png(flat)) == pytest.approx(0.0, abs=1e-9)


def test_another_shape_is_compared_by_its_centre() -> None:
    wide = render(PROMPT, 5, local_size(Ratio(16, 9), Tier.EXPLORE), safe_zone=SafeZone.LEFT)
    letterboxed, _ = imaging.fit(wide, Size(1024, 1024), mode="contain")  # the same picture, bars added
    assert drift(png(wide), png(letterboxed)) < 0.05
    other = render(PROMPT, 9, Size(1024, 1024), safe_zone=SafeZone.LEFT)
    assert drift(png(wide), png(other)) > THRESHOLD


def test_transparent_images_are_compared_on_white() -> None:
    size = Size(512, 512)
    cutout = render(PROMPT, 3, size, safe_zone=SafeZone.NONE, transparent=True)
    bigger = render(PROMPT, 3, Size(1024, 1024), safe_zone=SafeZone.NONE, transparent=True)
    assert drift(png(cutout), png(bigger)) < 0.02
    assert drift(png(cutout), png(render(PROMPT, 4, size, safe_zone=SafeZone.NONE, transparent=True))) > 0.3


def test_unreadable_bytes_are_a_bad_image() -> None:
    with pytest.raises(BadImage):
        drift(b"not an image", png(Image.new("RGB", (64, 64))))
