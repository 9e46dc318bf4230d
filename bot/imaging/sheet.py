"""Contact sheets: the variants side by side, each with a numbered badge; and a pair side by side, each
with a caption under it (a 1K beside the 2K or 4K that drifted from it)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from bot.destinations import ImageFormat
from bot.imaging.decode import decode, normalize_mode
from bot.imaging.encode import encode
from bot.imaging.fit import thumbnail
from bot.tiers import Tier

_SHEET_BACKGROUND = (38, 38, 40)
_CHECKER = ((200, 200, 200), (230, 230, 230))
_CAPTION_INK = (226, 226, 230)


def contact_sheet(
    images: Sequence[Image.Image],
    *,
    columns: int | None = None,
    cell_long_edge: int = 512,
    labels: Sequence[str] | None = None,
) -> Image.Image:
    """The variants side by side in a grid, each with a numbered badge, on a neutral background (RGB)."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    if labels is None:
        labels = [str(i) for i in range(1, len(images) + 1)]
    if len(labels) != len(images):
        raise ValueError(f"{len(labels)} labels for {len(images)} images")
    if cell_long_edge < 32:
        raise ValueError("cell_long_edge must be at least 32")
    thumbs = [thumbnail(img, cell_long_edge) for img in images]
    cell_w = max(t.width for t in thumbs)
    cell_h = max(t.height for t in thumbs)
    if columns is None:
        columns = _pick_columns(len(thumbs), cell_w, cell_h)
    columns = max(1, min(columns, len(thumbs)))
    rows = math.ceil(len(thumbs) / columns)
    gutter = max(8, cell_long_edge // 20)
    sheet = Image.new(
        "RGB",
        (columns * cell_w + (columns + 1) * gutter, rows * cell_h + (rows + 1) * gutter),
        _SHEET_BACKGROUND,
    )
    badge_h = max(22, round(cell_long_edge * 0.1))
    for i, (thumb, label) in enumerate(zip(thumbs, labels, strict=True)):
        row, col = divmod(i, columns)
        x = gutter + col * (cell_w + gutter) + (cell_w - thumb.width) // 2
        y = gutter + row * (cell_h + gutter) + (cell_h - thumb.height) // 2
        _paste(sheet, thumb, x, y, max(8, cell_long_edge // 32))
        badge = _badge(label, badge_h)
        inset = max(4, badge_h // 3)
        sheet.paste(badge, (x + inset, y + inset), badge)
    return sheet


def side_by_side_image(
    left: Image.Image, right: Image.Image, *, labels: tuple[str, str], width: int = 1024
) -> Image.Image:
    """``left`` and ``right`` each fitted into its half of a ``width``-wide sheet (RGB), top-aligned, with
    its caption under it."""
    if width < 128:
        raise ValueError("width must be at least 128")
    gutter = max(8, width // 64)
    cell_w = (width - 3 * gutter) // 2
    cell_h = round(cell_w * 16 / 9)  # a 9:16 fills its half's width; a wide one its height stays short
    fitted = [_fit_within(img, cell_w, cell_h) for img in (left, right)]
    row_h = max(img.height for img in fitted)
    text_size = max(11, width // 70)
    font = ImageFont.load_default(size=text_size)
    caption_h = round(text_size * 1.9)
    sheet = Image.new("RGB", (width, gutter + row_h + caption_h + gutter // 2), _SHEET_BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, (img, label) in enumerate(zip(fitted, labels, strict=True)):
        x0 = gutter + i * (cell_w + gutter)
        _paste(sheet, img, x0 + (cell_w - img.width) // 2, gutter, max(8, width // 64))
        text = _shortened(label, font, cell_w)
        draw.text(
            (x0 + cell_w / 2, gutter + row_h + caption_h / 2), text, font=font, fill=_CAPTION_INK, anchor="mm"
        )
    return sheet


def side_by_side(
    left: bytes,
    right: bytes,
    *,
    labels: tuple[str, str],
    max_pixels: int,
    width: int = 1024,
    ceiling_bytes: int = Tier.EXPLORE.jpeg_ceiling_bytes,
) -> bytes:
    """:func:`side_by_side_image` of two images' bytes, as a JPEG under ``ceiling_bytes``. CPU work: run
    it in the :class:`~bot.imaging.ImagingPool`."""
    half = width // 2
    images = [decode(data, max_pixels=max_pixels, at_least=half) for data in (left, right)]
    sheet = side_by_side_image(images[0], images[1], labels=labels, width=width)
    return encode(sheet, ImageFormat.JPEG, ceiling_bytes=ceiling_bytes).data


def _fit_within(img: Image.Image, width: int, height: int) -> Image.Image:
    """``img`` scaled (up or down) to the largest size inside ``width`` × ``height``, same ratio."""
    scale = min(width / img.width, height / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    img = normalize_mode(img)
    return img if size == img.size else img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _shortened(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """``text``, cut with an ellipsis until it fits ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _paste(sheet: Image.Image, img: Image.Image, x: int, y: int, square: int) -> None:
    """``img`` onto the sheet at (x, y); transparency shows as a checkerboard."""
    if img.mode == "RGBA":
        sheet.paste(_checkerboard(img.size, square), (x, y))
        sheet.paste(img, (x, y), img)
    else:
        sheet.paste(img, (x, y))


def _pick_columns(count: int, cell_w: int, cell_h: int) -> int:
    """The column count whose sheet is closest to 16:10 (wide, like a Slack message), with few blank cells."""

    def score(cols: int) -> float:
        rows = math.ceil(count / cols)
        return abs(math.log((cols * cell_w) / (rows * cell_h) / 1.6)) + 0.25 * (rows * cols - count)

    return min(range(1, count + 1), key=score)


def _checkerboard(size: tuple[int, int], square: int) -> Image.Image:
    small = Image.new("RGB", (math.ceil(size[0] / square), math.ceil(size[1] / square)), _CHECKER[0])
    draw = ImageDraw.Draw(small)
    for yy in range(small.height):
        for xx in range(yy % 2, small.width, 2):
            draw.point((xx, yy), fill=_CHECKER[1])
    return small.resize((small.width * square, small.height * square), Image.Resampling.NEAREST).crop(
        (0, 0, *size)
    )


_SUPERSAMPLE = 4  # ImageDraw does not anti-alias: draw 4× larger and reduce


def _badge(label: str, height: int) -> Image.Image:
    """A white pill (a circle for one character) with the label in dark text, anti-aliased."""
    ss = _SUPERSAMPLE
    h = height * ss
    font = ImageFont.load_default(size=round(h * 0.58))
    text_w = font.getlength(label)
    w = max(h, math.ceil(text_w + h * 0.7))
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    ring = max(1, round(h * 0.06))
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 2, fill=(20, 20, 22, 210))
    draw.rounded_rectangle((ring, ring, w - 1 - ring, h - 1 - ring), radius=h // 2 - ring, fill="white")
    draw.text(
        (w / 2, h / 2),
        label,
        font=font,
        fill=(20, 20, 22, 255),
        anchor="mm",
        stroke_width=max(1, h // 100),  # a touch of weight: the default font has no bold
        stroke_fill=(20, 20, 22, 255),
    )
    return img.reduce(ss)
