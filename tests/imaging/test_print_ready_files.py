"""Finals are print-ready: an embedded sRGB profile and the destination's DPI, JPEG under the ceiling."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, ImageDraw

from bot import imaging
from bot.destinations import CATALOG, PRINT_DPI, SCREEN_DPI, ImageFormat, by_key, dpi_for, lookup
from bot.tiers import Ratio, Size, Tier, local_size


def _profile_description(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as img:
        icc = img.info.get("icc_profile")
    assert icc, "no ICC profile embedded"
    return str(ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))).strip()


def _dpi(data: bytes) -> tuple[float, float]:
    with Image.open(io.BytesIO(data)) as img:
        dpi = img.info["dpi"]
    return float(dpi[0]), float(dpi[1])


def _scene(size: Size, mode: str = "RGB") -> Image.Image:
    w, h = size.width, size.height
    img = Image.new(mode, (w, h), (40, 90, 160, 255) if mode == "RGBA" else (40, 90, 160))
    ImageDraw.Draw(img).ellipse((w // 4, h // 4, w // 2, h // 2), "gold")
    return img


@pytest.mark.parametrize("dpi", [SCREEN_DPI, PRINT_DPI])
def test_jpeg_carries_srgb_and_the_dpi_asked(dpi: int) -> None:
    encoded = imaging.encode(_scene(Size(640, 360)), ImageFormat.JPEG, ceiling_bytes=400_000, dpi=dpi)
    assert _profile_description(encoded.data) == "sRGB built-in"
    assert _dpi(encoded.data) == (dpi, dpi)


@pytest.mark.parametrize("dpi", [SCREEN_DPI, PRINT_DPI])
def test_png_carries_srgb_and_the_dpi_asked(dpi: int) -> None:
    img = _scene(Size(256, 256), "RGBA")
    img.putpixel((0, 0), (0, 0, 0, 0))
    encoded = imaging.encode(img, ImageFormat.PNG, ceiling_bytes=1, dpi=dpi)
    assert _profile_description(encoded.data) == "sRGB built-in"
    # PNG stores pixels per metre: 300 dpi reads back as 299.9994
    assert _dpi(encoded.data) == pytest.approx((dpi, dpi), abs=0.01)
    with Image.open(io.BytesIO(encoded.data)) as out:
        assert out.mode == "RGBA" and out.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_the_default_is_screen_dpi() -> None:
    encoded = imaging.encode(_scene(Size(64, 64)), ImageFormat.JPEG, ceiling_bytes=100_000)
    assert _dpi(encoded.data) == (SCREEN_DPI, SCREEN_DPI)


def test_the_profile_counts_against_the_ceiling() -> None:
    """The ceiling is exact with the profile in: the chosen quality fits, the next one up does not."""
    size = local_size(Ratio(16, 9), Tier.FINAL)
    noisy = Image.merge("RGB", [Image.effect_noise((size.width, size.height), s) for s in (60, 40, 70)])
    ceiling = Tier.FINAL.jpeg_ceiling_bytes
    encoded = imaging.encode(noisy, ImageFormat.JPEG, ceiling_bytes=ceiling, dpi=PRINT_DPI)
    assert encoded.quality is not None and encoded.quality < imaging.JPEG_MAX_QUALITY
    assert len(encoded.data) <= ceiling
    assert encoded.data == imaging.jpeg_bytes(noisy, encoded.quality, dpi=PRINT_DPI)
    next_up = imaging.jpeg_bytes(noisy, encoded.quality + 1, dpi=PRINT_DPI)
    assert next_up is None or len(next_up) > ceiling
    assert _profile_description(encoded.data) == "sRGB built-in"


def test_a_ceiling_only_the_profile_breaks_is_refused() -> None:
    img = Image.new("RGB", (64, 64), (128, 128, 128))
    bare = io.BytesIO()
    img.save(bare, "JPEG", quality=imaging.JPEG_MIN_QUALITY, optimize=True)
    with pytest.raises(ValueError, match="ceiling is unrealistic"):
        imaging.encode(img, ImageFormat.JPEG, ceiling_bytes=len(bare.getvalue()) + 10)


def test_print_and_poster_destinations_are_300_dpi_the_rest_72() -> None:
    for dest in CATALOG:
        assert dest.dpi == (PRINT_DPI if dest.key in ("print", "poster") else SCREEN_DPI), dest.key
        assert dpi_for(dest.key) == dest.dpi and by_key(dest.key) is dest
    assert lookup("art print") is by_key("print")
    assert dpi_for(None) == SCREEN_DPI  # a custom ratio
    assert dpi_for("no-such-destination") == SCREEN_DPI and by_key(None) is None
