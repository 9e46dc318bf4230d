"""What the local renderer takes from a reference image: its palette and its coarse layout.

It cannot see *what* is in a picture, only where colour and light sit: the dominant colours (Pillow's
median-cut quantizer on a thumbnail), the background (the colour that owns the border), the subject's
bounding region (what is not background), a coarse grid of colour masses (the bright and dark zones) and
where the light comes from. That is enough for a draft "from" a reference to keep its palette and its
composition. Everything is read from a small thumbnail, so it costs a few milliseconds at any input size,
and it depends on the bytes alone: the same reference always reads the same.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import Counter
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.providers.local.palette import RGB, colour_distance, luma

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

# A reference is refused before decoding above this many pixels (a decompression bomb is not a picture).
MAX_REFERENCE_PIXELS = 100_000_000
ANALYSIS_SIDE = 64  # the thumbnail everything is read from, long edge in pixels
GRID = 8  # the colour masses: GRID × GRID cells over the reference's frame
COLOURS = 6  # dominant colours kept
_BACKGROUND_LIKE = 0.22  # colours this close to the background count as background
_GROUND_SHARE = 0.15  # a colour on this share of the border is part of the ground, not the subject
_MIN_SUBJECT_SHARE = 0.02  # less than this of the picture off-background: no subject to speak of
_TRIM = 0.04  # the subject's region leaves out this share of its stray pixels on each side
_PAPER = (244, 243, 239)  # transparent areas are read as if on paper


class UnreadableReference(ValueError):
    """The reference bytes are not an image the local renderer can read."""


@dataclass(frozen=True)
class ReferenceLook:
    """A reference image reduced to what the local renderer draws with."""

    aspect: float  # width / height of the reference
    colours: tuple[RGB, ...]  # the dominant colours, most pixels first
    shares: tuple[float, ...]  # each colour's share of the picture
    background: RGB
    subject_colour: RGB
    subject: Box  # the subject's bounding region, as fractions of width and height
    masses: tuple[tuple[RGB, ...], ...]  # the ground (subject left out): GRID rows of GRID colours
    light: tuple[float, float]  # unit vector from the centre towards the bright masses
    token: str  # a digest of the bytes: seeds the renderer's choices, so two references differ


def read_reference(data: bytes) -> ReferenceLook:
    """Read ``data`` (PNG, JPEG, WEBP, ...) into a :class:`ReferenceLook`; :class:`UnreadableReference`
    if it is not an image or is too large to decode."""
    small, aspect = _thumbnail(data)
    w, h = small.size
    quantized = small.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT)
    flat = quantized.getpalette() or []
    indices = list(quantized.tobytes())  # one palette index per pixel
    counts = Counter(indices)
    palette = {i: (flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]) for i in counts}
    ranked = [i for i, _ in counts.most_common()]
    total = len(indices)

    border = [indices[y * w + x] for y in range(h) for x in range(w) if x in (0, w - 1) or y in (0, h - 1)]
    on_border = Counter(border)
    background_index = on_border.most_common(1)[0][0]
    background = palette[background_index]
    # the ground: every colour that owns a good part of the border (a sky band, a floor) and its shades
    grounds = [palette[i] for i, n in on_border.items() if n >= _GROUND_SHARE * len(border)]
    backgroundish = {
        i for i in ranked if any(colour_distance(palette[i], g) <= _BACKGROUND_LIKE for g in grounds)
    }
    mask = [i not in backgroundish for i in indices]
    subject_count = sum(mask)
    if subject_count < _MIN_SUBJECT_SHARE * total:
        subject: Box = (0.3, 0.3, 0.7, 0.7)  # a plain picture: a centred subject, as a designer would
        others = [i for i in ranked if i != background_index]
        subject_colour = palette[others[0]] if others else background
    else:
        columns = [sum(mask[y * w + x] for y in range(h)) for x in range(w)]
        rows = [sum(mask[y * w : (y + 1) * w]) for y in range(h)]
        x0, x1 = _span(columns)
        y0, y1 = _span(rows)
        subject = (x0 / w, y0 / h, x1 / w, y1 / h)
        inside = Counter(i for i, m in zip(indices, mask, strict=True) if m)
        subject_colour = palette[inside.most_common(1)[0][0]]

    # the masses are the ground's alone: the subject is drawn as a shape, not as a blurred ghost of itself
    ground = small
    if subject_count >= _MIN_SUBJECT_SHARE * total:
        pixels = bytearray(small.tobytes())
        for k, m in enumerate(mask):
            if m:
                pixels[3 * k : 3 * k + 3] = bytes(background)
        ground = Image.frombytes("RGB", small.size, bytes(pixels))
    grid = ground.resize((GRID, GRID), Image.Resampling.BOX)
    raw = grid.tobytes()
    cells: list[RGB] = [(raw[k], raw[k + 1], raw[k + 2]) for k in range(0, len(raw), 3)]
    masses = tuple(tuple(cells[r * GRID : (r + 1) * GRID]) for r in range(GRID))
    return ReferenceLook(
        aspect=aspect,
        colours=tuple(palette[i] for i in ranked),
        shares=tuple(counts[i] / total for i in ranked),
        background=background,
        subject_colour=subject_colour,
        subject=subject,
        masses=masses,
        light=_light(cells),
        token=hashlib.sha256(data).hexdigest()[:16],
    )


def _thumbnail(data: bytes) -> tuple[Image.Image, float]:
    """A small RGB copy (EXIF rotation applied, transparency on paper) and the reference's own shape."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > MAX_REFERENCE_PIXELS:
                raise UnreadableReference(f"the reference image is too large ({width}×{height})")
            if opened.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # turned by 90°
                width, height = height, width
            opened.draft("RGB", (ANALYSIS_SIDE * 2, ANALYSIS_SIDE * 2))  # JPEG: decode a fraction of it
            img: Image.Image = ImageOps.exif_transpose(opened)
        img.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.Resampling.BOX)
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, _PAPER)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat, width / height
        return img.convert("RGB"), width / height
    except UnreadableReference:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UnreadableReference("the reference is not an image the local renderer can read") from None


def _span(counts: list[int]) -> tuple[int, int]:
    """The index range holding all but :data:`_TRIM` of the mass at either end (end exclusive)."""
    total = sum(counts)
    low, high = _TRIM * total, (1 - _TRIM) * total
    seen, start, end = 0, 0, len(counts)
    for i, n in enumerate(counts):
        if seen <= low < seen + n:
            start = i
        if seen < high <= seen + n:
            end = i + 1
            break
        seen += n
    return start, max(end, start + 1)


def _light(cells: list[RGB]) -> tuple[float, float]:
    """From the centre towards where the picture is brightest (luma-weighted, above its mean)."""
    lumas = [luma(c) for c in cells]
    mean = sum(lumas) / len(lumas)
    dx = dy = 0.0
    for k, value in enumerate(lumas):
        weight = max(0.0, value - mean)
        dx += weight * ((k % GRID + 0.5) / GRID - 0.5)
        dy += weight * ((k // GRID + 0.5) / GRID - 0.5)
    length = math.hypot(dx, dy)
    if length < 1e-3:  # evenly lit: from above, as light usually is
        return (0.0, -1.0)
    return (dx / length, dy / length)
