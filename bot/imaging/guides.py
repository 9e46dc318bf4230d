"""Preview guides: the headline-safe outline and a corner label drawn over a copy of a clean image.

Guides belong on previews only (the 1K in Slack, a "with guides" preview): the files a draft delivers
stay clean, whichever provider drew them. The zone comes from the destination's :class:`SafeZone` and the
image's own aspect (:mod:`bot.imaging.zones`), so the outline sits where the local renderer kept space.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageStat

from bot.destinations import SCREEN_DPI, ImageFormat, SafeZone
from bot.imaging.decode import decode, has_alpha
from bot.imaging.encode import EncodedImage, encode
from bot.imaging.zones import guide_outline, headline_zone
from bot.tiers import Size

CAPTION = "headline-safe"
_LIGHT_INK = (244, 242, 236)  # on dark pictures
_DARK_INK = (28, 28, 30)  # on light ones
_NEUTRAL_INK = (128, 128, 132)  # over transparency: visible on a light or a dark Slack
_OUTLINE_ALPHA, _CAPTION_ALPHA, _LABEL_ALPHA = 110, 140, 150

PixelBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class PlacedText:
    text: str
    xy: tuple[float, float]  # where it is anchored
    anchor: str  # Pillow's text anchor
    box: PixelBox  # the pixels it covers


@dataclass(frozen=True)
class GuideLayout:
    """Where the guides go on an image of ``size``, in pixels; None for a part that is not drawn."""

    size: Size
    outline: PixelBox | None  # the dashed rectangle's corners
    line_width: int
    caption: PlacedText | None  # inside the outline's top-left corner
    label: PlacedText | None  # in a corner away from the zone


def _font(size: Size, share: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # type scales with the area, so a 21:9 strip gets readable type and a 9:16 none too big
    return ImageFont.load_default(size=max(8, round(share * math.sqrt(size.pixels))))


_CAPTION_SIZE, _LABEL_SIZE = 0.018, 0.017  # shares of sqrt(pixels)


def _place(size: Size, share: float, text: str, xy: tuple[float, float], anchor: str) -> PlacedText:
    left, top, right, bottom = _font(size, share).getbbox(text, anchor=anchor)
    x, y = xy
    box = (math.floor(x + left), math.floor(y + top), math.ceil(x + right), math.ceil(y + bottom))
    return PlacedText(text, xy, anchor, box)


def guide_layout(
    size: Size, safe_zone: SafeZone, *, label: str | None, transparent: bool = False
) -> GuideLayout:
    """The guides' places: the outline and caption where ``safe_zone`` has a zone; the label (never over
    transparency, where it would become part of the cut-out) bottom right, or top right for a bottom zone."""
    text_unit = math.sqrt(size.pixels)
    aspect = size.width / size.height
    zone = headline_zone(safe_zone, aspect)
    outline = caption = placed_label = None
    if zone is not None:
        h = size.height
        x0, y0, x1, y1 = guide_outline(zone, aspect)
        outline = (round(x0 * h), round(y0 * h), round(x1 * h), round(y1 * h))
        pad = 0.014 * text_unit
        caption = _place(size, _CAPTION_SIZE, CAPTION, (outline[0] + pad, outline[1] + pad), "la")
    if label and not transparent:
        margin = 0.022 * text_unit
        at_top = safe_zone is SafeZone.BOTTOM
        xy = (size.width - margin, margin if at_top else size.height - margin)
        placed_label = _place(size, _LABEL_SIZE, label, xy, "rt" if at_top else "rb")
    return GuideLayout(size, outline, max(1, round(0.0016 * text_unit)), caption, placed_label)


def _is_transparent(img: Image.Image) -> bool:
    if not has_alpha(img):
        return False
    low, _ = ImageStat.Stat(img.convert("RGBA").getchannel("A")).extrema[0]
    return bool(low < 255)


def _ink(img: Image.Image, box: PixelBox, transparent: bool) -> tuple[int, int, int]:
    """Light ink on a dark area, dark ink on a light one."""
    if transparent:
        return _NEUTRAL_INK
    mean = ImageStat.Stat(img.crop(box).convert("L")).mean[0]
    return _LIGHT_INK if mean < 128 else _DARK_INK


def _dashes(
    draw: ImageDraw.ImageDraw, box: PixelBox, text_unit: float, width: int, fill: tuple[int, ...]
) -> None:
    dash, gap = 0.014 * text_unit, 0.01 * text_unit
    x0, y0, x1, y1 = box
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    for (ax, ay), (bx, by) in itertools.pairwise(corners):
        length = math.hypot(bx - ax, by - ay)
        if length == 0:
            continue
        steps = max(1, round(length / (dash + gap)))
        step = length / steps  # whole dashes per side, so the corners look the same
        for i in range(steps):
            t0, t1 = i * step / length, (i * step + step * dash / (dash + gap)) / length
            draw.line(
                (ax + (bx - ax) * t0, ay + (by - ay) * t0, ax + (bx - ax) * t1, ay + (by - ay) * t1),
                fill=fill,
                width=width,
            )


def _text(
    draw: ImageDraw.ImageDraw, size: Size, share: float, placed: PlacedText, fill: tuple[int, ...]
) -> None:
    draw.text(placed.xy, placed.text, font=_font(size, share), fill=fill, anchor=placed.anchor)


def draw_guides(img: Image.Image, safe_zone: SafeZone, *, label: str | None = None) -> Image.Image:
    """A copy of ``img`` with the dashed headline-safe outline and its caption, and ``label`` in a corner.

    Same mode as ``img`` (RGB or RGBA); ``img`` itself is left clean. Over transparency the outline is
    drawn in a neutral grey and the label is left out.
    """
    size = Size(*img.size)
    transparent = _is_transparent(img)
    layout = guide_layout(size, safe_zone, label=label, transparent=transparent)
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    text_unit = math.sqrt(size.pixels)
    if layout.outline is not None:
        ink = _ink(img, layout.outline, transparent)
        _dashes(draw, layout.outline, text_unit, layout.line_width, (*ink, _OUTLINE_ALPHA))
        if layout.caption is not None:
            _text(draw, size, _CAPTION_SIZE, layout.caption, (*ink, _CAPTION_ALPHA))
    if layout.label is not None:
        _text(
            draw, size, _LABEL_SIZE, layout.label, (*_ink(img, layout.label.box, transparent), _LABEL_ALPHA)
        )
    out = Image.alpha_composite(img.convert("RGBA"), overlay)
    return out if img.mode == "RGBA" else out.convert(img.mode)


def preview_with_guides(
    data: bytes,
    *,
    safe_zone: SafeZone,
    label: str | None,
    fmt: ImageFormat,
    ceiling_bytes: int,
    max_pixels: int,
) -> EncodedImage:
    """The preview of a clean image (its bytes): :func:`draw_guides`, encoded like a delivered file (screen
    DPI). CPU work: run it in the :class:`~bot.imaging.ImagingPool`."""
    guided = draw_guides(decode(data, max_pixels=max_pixels), safe_zone, label=label)
    return encode(guided, fmt, ceiling_bytes=ceiling_bytes, dpi=SCREEN_DPI)
