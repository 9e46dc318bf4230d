"""Clean finals: the headline-safe guide and the preview label are an overlay on previews, never in the file.

The local renderer draws clean at every tier; :func:`bot.imaging.draw_guides` adds the guides to a copy,
and changes nothing outside the guides' own pixels.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageFilter, ImageStat

from bot import imaging
from bot.destinations import SCREEN_DPI, ImageFormat, SafeZone
from bot.imaging import GuideLayout
from bot.providers.local import compose, preview_label, render
from bot.tiers import Ratio, Size, Tier, local_size

PROMPT = "matte black and gold headphones launch, dramatic light"
MAX_PIXELS = 64_000_000
ZONED = [SafeZone.TOP, SafeZone.BOTTOM, SafeZone.LEFT, SafeZone.CENTER]


@pytest.mark.parametrize("zone", list(SafeZone))
@pytest.mark.parametrize("aspect", [1 / 3, 9 / 16, 4 / 5, 1.0, 1.19, 1.2, 16 / 9, 21 / 9, 3.0])
def test_the_overlay_and_the_renderer_agree_on_the_zone(zone: SafeZone, aspect: float) -> None:
    for transparent in (False, True):
        assert imaging.headline_zone(zone, aspect) == compose(PROMPT, 3, aspect, zone, transparent).zone


def _changed(a: Image.Image, b: Image.Image) -> Image.Image:
    """1 bit per pixel: where ``a`` and ``b`` differ in any channel."""
    bands = ImageChops.difference(a.convert("RGBA"), b.convert("RGBA")).split()
    most = bands[0]
    for band in bands[1:]:
        most = ImageChops.lighter(most, band)
    return most.point(lambda v: 255 if v else 0)


def _guide_mask(layout: GuideLayout) -> Image.Image:
    """Where the guides may touch: a band around the outline, the caption's and the label's text boxes."""
    mask = Image.new("L", (layout.size.width, layout.size.height), 0)
    draw = ImageDraw.Draw(mask)
    reach = layout.line_width + 1  # a line of width w straddles its path; anti-aliasing adds a pixel
    if layout.outline is not None:
        x0, y0, x1, y1 = layout.outline
        draw.rectangle((x0 - reach, y0 - reach, x1 + reach, y1 + reach), fill=255)
        draw.rectangle((x0 + reach, y0 + reach, x1 - reach, y1 - reach), fill=0)
    for text in (layout.caption, layout.label):
        if text is not None:
            bx0, by0, bx1, by1 = text.box
            draw.rectangle((bx0 - 1, by0 - 1, bx1 + 1, by1 + 1), fill=255)
    return mask


def _count(mask: Image.Image) -> int:
    return round(ImageStat.Stat(mask).sum[0] / 255)


def _strong_edges(img: Image.Image) -> Image.Image:
    edges = img.convert("L").filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 40 else 0)
    w, h = edges.size
    inner = edges.crop((1, 1, w - 1, h - 1))
    edges = Image.new("L", (w, h), 0)
    edges.paste(inner, (1, 1))
    return edges


def _assert_guides_only_where_they_belong(clean: Image.Image, zone: SafeZone, label: str | None) -> None:
    guided = imaging.draw_guides(clean, zone, label=label)
    assert guided.size == clean.size and guided.mode == clean.mode
    layout = imaging.guide_layout(Size(*clean.size), zone, label=label)
    allowed = _guide_mask(layout)
    changed = _changed(clean, guided)
    assert _count(changed) > 0
    # nothing changes outside the guides
    assert _count(ImageChops.subtract(changed, allowed)) == 0
    # and each part is drawn: the outline, its caption and the label
    assert layout.outline is not None and layout.caption is not None
    parts = [layout.caption.box] + ([layout.label.box] if layout.label is not None and label else [])
    for box in parts:
        assert _count(changed.crop(box)) > 10, box
    ring = allowed.copy()  # the outline's band alone
    for box in parts:
        ImageDraw.Draw(ring).rectangle(box, fill=0)
    assert _count(ImageChops.multiply(changed, ring)) > 0.05 * _count(ring)  # dashes along all of it
    # the clean image has no guide pixels: nothing sharp where the outline goes, where the preview has it
    assert _count(ImageChops.multiply(_strong_edges(clean), ring)) == 0
    assert _count(ImageChops.multiply(_strong_edges(guided), ring)) > 0


@pytest.mark.parametrize(
    ("ratio", "zone"),
    [
        (Ratio(9, 16), SafeZone.TOP),
        (Ratio(9, 16), SafeZone.BOTTOM),
        (Ratio(16, 9), SafeZone.LEFT),
        (Ratio(21, 9), SafeZone.CENTER),
        (Ratio(1, 1), SafeZone.CENTER),
    ],
)
def test_a_preview_differs_from_the_clean_render_only_in_its_guides(ratio: Ratio, zone: SafeZone) -> None:
    clean = render(PROMPT, 7, local_size(ratio, Tier.EXPLORE), safe_zone=zone)
    _assert_guides_only_where_they_belong(clean, zone, preview_label(7))


def test_the_4k_final_has_no_guide_pixels() -> None:
    size = local_size(Ratio(9, 16), Tier.FINAL)
    final = render(PROMPT, 7, size, safe_zone=SafeZone.TOP)
    _assert_guides_only_where_they_belong(final, SafeZone.TOP, preview_label(7))
    # the 4K is the 1K drawn sharper, and neither carries the guides: the 1K's own guides are an overlay
    explore = render(PROMPT, 7, local_size(Ratio(9, 16), Tier.EXPLORE), safe_zone=SafeZone.TOP)
    preview = imaging.draw_guides(explore, SafeZone.TOP, label=preview_label(7))
    downscaled = final.resize(explore.size, Image.Resampling.LANCZOS)
    assert _mean_difference(downscaled, explore) < _mean_difference(downscaled, preview)


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def test_no_zone_and_no_label_is_the_image_itself() -> None:
    clean = render(PROMPT, 2, Size(320, 320), safe_zone=SafeZone.NONE)
    same = imaging.draw_guides(clean, SafeZone.NONE, label=None)
    assert same is not clean and same.tobytes() == clean.tobytes()
    labelled = imaging.draw_guides(clean, SafeZone.NONE, label="seed 2")
    layout = imaging.guide_layout(Size(320, 320), SafeZone.NONE, label="seed 2")
    assert layout.outline is None and layout.label is not None
    assert _count(ImageChops.subtract(_changed(clean, labelled), _guide_mask(layout))) == 0


@pytest.mark.parametrize(("background", "light_ink"), [((12, 12, 16), True), ((240, 238, 230), False)])
def test_the_ink_reads_on_the_picture(background: tuple[int, int, int], light_ink: bool) -> None:
    plain = Image.new("RGB", (600, 400), background)
    guided = imaging.draw_guides(plain, SafeZone.TOP, label="seed 1")
    mean_changed = ImageStat.Stat(guided.convert("L"), _changed(plain, guided)).mean[0]
    base = ImageStat.Stat(plain.convert("L")).mean[0]
    assert (mean_changed > base) is light_ink


def test_over_transparency_the_outline_is_drawn_and_the_label_left_out() -> None:
    size = local_size(Ratio(9, 16), Tier.EXPLORE)
    cutout = render(PROMPT, 4, size, safe_zone=SafeZone.TOP, transparent=True)
    assert cutout.mode == "RGBA"
    guided = imaging.draw_guides(cutout, SafeZone.TOP, label=preview_label(4))
    assert guided.mode == "RGBA"
    layout = imaging.guide_layout(size, SafeZone.TOP, label=preview_label(4), transparent=True)
    assert layout.outline is not None and layout.label is None
    changed = _changed(cutout, guided)
    assert _count(changed) > 0 and _count(ImageChops.subtract(changed, _guide_mask(layout))) == 0
    # the cut-out's own pixels are untouched: outside the guides, alpha is what it was
    outside = ImageChops.invert(_guide_mask(layout))
    alpha_diff = ImageChops.difference(cutout.getchannel("A"), guided.getchannel("A"))
    assert _count(ImageChops.multiply(alpha_diff.point(lambda v: 255 if v else 0), outside)) == 0


def test_preview_with_guides_from_bytes() -> None:
    size = local_size(Ratio(16, 9), Tier.EXPLORE)
    clean = render(PROMPT, 5, size, safe_zone=SafeZone.LEFT)
    buf = io.BytesIO()
    clean.save(buf, "PNG")
    preview = imaging.preview_with_guides(
        buf.getvalue(),
        safe_zone=SafeZone.LEFT,
        label=preview_label(5),
        fmt=ImageFormat.JPEG,
        ceiling_bytes=Tier.EXPLORE.jpeg_ceiling_bytes,
        max_pixels=MAX_PIXELS,
    )
    assert preview.format is ImageFormat.JPEG and preview.size == size
    assert len(preview.data) <= Tier.EXPLORE.jpeg_ceiling_bytes
    with Image.open(io.BytesIO(preview.data)) as out:
        assert out.info["dpi"] == (SCREEN_DPI, SCREEN_DPI)
        icc = out.info["icc_profile"]
        expected = imaging.draw_guides(clean, SafeZone.LEFT, label=preview_label(5))
        assert _mean_difference(out, expected) < 2  # the guided picture, through JPEG
    assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))


def test_zone_pixels() -> None:
    assert imaging.zone_pixels(SafeZone.TOP, Size(1000, 500)) == (0, 0, 1000, 150)
    assert imaging.zone_pixels(SafeZone.LEFT, Size(1000, 500)) == (0, 0, 420, 500)
    assert imaging.zone_pixels(SafeZone.NONE, Size(1000, 500)) is None


@pytest.mark.parametrize("zone", ZONED)
def test_the_zone_pixels_are_clean_in_a_render(zone: SafeZone) -> None:
    """The whole zone, not only inside a drawn outline: nothing sharp at all."""
    size = local_size(Ratio(4, 5), Tier.EXPLORE)
    for seed in (1, 2, 3):
        box = imaging.zone_pixels(zone, size)
        assert box is not None
        edges = _strong_edges(render(PROMPT, seed, size, safe_zone=zone)).crop(box)
        assert _count(edges) == 0, (zone, seed)
