"""Contact sheets: the variants side by side, each with a numbered badge."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from bot.imaging.fit import thumbnail

_SHEET_BACKGROUND = (38, 38, 40)
_CHECKER = ((200, 200, 200), (230, 230, 230))


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
        if thumb.mode == "RGBA":
            sheet.paste(_checkerboard(thumb.size, max(8, cell_long_edge // 32)), (x, y))
            sheet.paste(thumb, (x, y), thumb)
        else:
            sheet.paste(thumb, (x, y))
        badge = _badge(label, badge_h)
        inset = max(4, badge_h // 3)
        sheet.paste(badge, (x + inset, y + inset), badge)
    return sheet


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
