"""Composition drift: a 2K or 4K redrawn from its 1K measures near 0, another composition far over the
threshold; and the side-by-side a drifted upgrade is shown with."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

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


# --- the side-by-side --------------------------------------------------------------------------------


def _mean(img: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(img.crop(box)).mean)


def test_side_by_side_puts_each_image_in_its_half_with_a_caption() -> None:
    red = Image.new("RGB", (1024, 1820), (200, 30, 30))  # 9:16-ish
    blue = Image.new("RGB", (4096, 2304), (30, 30, 200))  # 16:9
    data = imaging.side_by_side(
        encoded(red, Tier.EXPLORE),
        encoded(blue, Tier.FINAL),
        labels=("#2 · 1K", "4K final"),
        max_pixels=MAX_PIXELS,
    )
    assert imaging.sniff(data) == "image/jpeg" and len(data) <= Tier.EXPLORE.jpeg_ceiling_bytes
    sheet = Image.open(io.BytesIO(data)).convert("RGB")
    assert sheet.width == 1024
    half = sheet.width // 2
    gutter = 1024 // 64
    left = _mean(sheet, (gutter + 20, gutter + 20, half - 20, gutter + 200))
    right = _mean(sheet, (half + 40, gutter + 20, sheet.width - 40, gutter + 200))
    assert left[0] > 150 > left[2] and right[2] > 150 > right[0]
    # the tall one sets the height; the wide one fills its half's width and stays short
    cell_w = (1024 - 3 * gutter) // 2
    assert sheet.height > cell_w * 1.7
    assert _mean(sheet, (half + 40, gutter + 300, sheet.width - 40, gutter + 400))[2] < 100
    # a light caption under each, on the dark background
    caption_band = (0, sheet.height - 30, sheet.width, sheet.height)
    band = sheet.crop(caption_band).convert("L")
    assert ImageStat.Stat(band).extrema[0][1] > 180
    lefts, rights = band.crop((0, 0, half, band.height)), band.crop((half, 0, sheet.width, band.height))
    assert ImageStat.Stat(lefts).extrema[0][1] > 180 and ImageStat.Stat(rights).extrema[0][1] > 180


def test_side_by_side_shows_transparency_on_a_checkerboard_and_shortens_long_captions() -> None:
    clear = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    sheet = imaging.side_by_side_image(clear, clear, labels=("a" * 400, "b"), width=640)
    assert sheet.mode == "RGB" and sheet.width == 640
    cell = sheet.crop((20, 20, 200, 200)).convert("L")
    assert ImageStat.Stat(cell).extrema[0] == (200, 230)  # the checkerboard's two greys
    same = imaging.side_by_side_image(clear, clear, labels=("short", "b"), width=640)
    assert ImageChops.difference(sheet, same).getbbox() is not None  # the long caption is drawn, cut
    with pytest.raises(ValueError):
        imaging.side_by_side_image(clear, clear, labels=("a", "b"), width=100)
