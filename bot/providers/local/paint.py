"""The local renderer's drawing: a composition painted with Pillow at exactly the asked size.

The picture is clean at every tier: the headline-safe guide and the preview label are overlays drawn on
previews only (:mod:`bot.imaging.guides`), never into the files a draft delivers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

from bot.destinations import SafeZone
from bot.providers.local.compose import SHADOW_REACH, Box, Composition, Shape, compose
from bot.providers.local.palette import RGB, mix
from bot.providers.local.reference import read_reference
from bot.tiers import Size

# Renders are capped so a bad request cannot allocate gigabytes (4K 1:1 is 16.8 MP).
MAX_RENDER_PIXELS = 40_000_000
MIN_RENDER_SIDE = 16


def render(
    prompt: str,
    seed: int,
    size: Size,
    *,
    safe_zone: SafeZone = SafeZone.TOP,
    transparent: bool = False,
    reference: bytes | None = None,
) -> Image.Image:
    """Draw the draft for ``prompt``/``seed`` at exactly ``size``: RGB, or RGBA when ``transparent``.

    With ``reference`` (image bytes), the draft takes that picture's palette and layout
    (:mod:`.reference`); :class:`~bot.providers.local.reference.UnreadableReference` if it is no image.
    """
    if min(size.width, size.height) < MIN_RENDER_SIDE or size.pixels > MAX_RENDER_PIXELS:
        raise ValueError(f"cannot render at {size}")
    look = read_reference(reference) if reference is not None else None
    comp = compose(prompt, seed, size.width / size.height, safe_zone, transparent, look)
    return paint(comp, size, transparent=transparent)


def paint(comp: Composition, size: Size, *, transparent: bool = False) -> Image.Image:
    """A composition drawn at exactly ``size`` (clean: no guides, no label)."""
    return _Painter(comp, size, transparent).paint()


def preview_label(seed: int) -> str:
    """The local renderer's corner label for previews (:func:`bot.imaging.draw_guides`): what this is and
    how to redraw it. Never drawn into the image itself."""
    return f"draftbot · draft preview · seed {seed}"


class _Painter:
    def __init__(self, comp: Composition, size: Size, transparent: bool) -> None:
        self.comp = comp
        self.size = size
        self.transparent = transparent
        self.unit = size.height  # pixels per unit
        # ImageDraw does not anti-alias; draw masks larger and reduce. Fewer samples as pixels get smaller.
        long_edge = max(size.width, size.height)
        self.ss = 4 if long_edge <= 1200 else 3 if long_edge <= 2400 else 2
        self.canvas: Image.Image
        if transparent:
            self.canvas = Image.new("RGBA", (size.width, size.height), (0, 0, 0, 0))
        else:
            self.canvas = self._background()

    def paint(self) -> Image.Image:
        for shape in self.comp.shapes:
            if shape.shadow > 0:
                self._shadow(shape)
            self._shape(shape)
        return self.canvas

    # Colour fields are computed on a tiny grid (a few thousand pixels, so plain Python is fine) and
    # resized up: smooth at any size, and the same picture at every tier.
    def _field(self, w: int, h: int, colour: Callable[[float, float], RGB]) -> Image.Image:
        img = Image.new("RGB", (w, h))
        img.putdata([colour((x + 0.5) / w, (y + 0.5) / h) for y in range(h) for x in range(w)])
        return img

    def _background(self) -> Image.Image:
        comp = self.comp
        if comp.masses:  # a reference's colour masses: from a tiny grid, bicubic makes soft blobs of them
            grid = Image.new("RGB", (len(comp.masses[0]), len(comp.masses)))
            grid.putdata([colour for row in comp.masses for colour in row])
            return grid.resize((self.size.width, self.size.height), Image.Resampling.BICUBIC)
        lit, far = comp.palette.background
        lx, ly = comp.light
        a = comp.aspect
        gw, gh = (64, max(2, round(64 / a))) if a >= 1 else (max(2, round(64 * a)), 64)
        # the light source sits just outside the canvas edge in the light direction
        sx, sy = a / 2 + lx * a * 0.6, 0.5 + ly * 0.6
        reach = math.hypot(a, 1)

        def colour(u: float, v: float) -> RGB:
            x, y = u * a, v
            t = ((x - a / 2) * lx + (y - 0.5) * ly) / (reach / 2)  # -1 far side .. 1 lit side
            base = mix(far, lit, min(1.0, max(0.0, 0.5 + 0.5 * t)))
            glow = max(0.0, 1 - math.hypot(x - sx, y - sy) / (reach * 0.6)) ** 2
            return mix(base, comp.palette.glow, 0.55 * glow)

        small = self._field(gw, gh, colour)
        return small.resize((self.size.width, self.size.height), Image.Resampling.BICUBIC)

    def _px(self, box: Box) -> tuple[float, float, float, float]:
        u = self.unit
        return (box[0] * u, box[1] * u, box[2] * u, box[3] * u)

    def _mask(self, shape: Shape, box: Box, width: int, height: int, ss: int) -> Image.Image:
        """The shape's coverage with ``box`` (pixels, relative to the mask), drawn ``ss``× larger, reduced."""
        mask = Image.new("L", (width * ss, height * ss), 0)
        draw = ImageDraw.Draw(mask)
        x0, y0, x1, y1 = (c * ss for c in box)
        w, h = x1 - x0, y1 - y0
        stroke = max(1, round(shape.stroke * self.unit * ss))
        kind = shape.kind
        if kind == "circle":
            draw.ellipse((x0, y0, x1, y1), fill=255)
        elif kind == "capsule":
            draw.rounded_rectangle((x0, y0, x1, y1), radius=min(w, h) / 2, fill=255)
        elif kind == "card":
            draw.rounded_rectangle((x0, y0, x1, y1), radius=min(w, h) * 0.16, fill=255)
        elif kind == "arch":
            draw.rounded_rectangle(
                (x0, y0, x1, y1), radius=w / 2, fill=255, corners=(True, True, False, False)
            )
        elif kind == "ring":
            draw.ellipse((x0, y0, x1, y1), outline=255, width=stroke)
        elif kind == "bar":
            draw.rounded_rectangle((x0, y0, x1, y1), radius=min(w, h) / 2, fill=255)
        elif kind == "half":
            start = 90 * shape.turn
            draw.pieslice((x0, y0, x1, y1), start, start + 180, fill=255)
        elif kind == "dots":
            cols, rows = shape.grid
            r = min(w / cols, h / rows) * 0.22
            for i in range(cols):
                for j in range(rows):
                    cx = x0 + w * (i + 0.5) / cols
                    cy = y0 + h * (j + 0.5) / rows
                    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        return mask.reduce(ss) if ss > 1 else mask

    def _visible(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int] | None:
        x0 = max(0, math.floor(box[0]))
        y0 = max(0, math.floor(box[1]))
        x1 = min(self.size.width, math.ceil(box[2]))
        y1 = min(self.size.height, math.ceil(box[3]))
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def _shape(self, shape: Shape) -> None:
        px = self._px(shape.box)
        clip = self._visible(px)
        if clip is None:
            return
        cx0, cy0, cx1, cy1 = clip
        w, h = cx1 - cx0, cy1 - cy0
        rel = (px[0] - cx0, px[1] - cy0, px[2] - cx0, px[3] - cy0)
        mask = self._mask(shape, rel, w, h, self.ss)
        if shape.opacity < 1:
            mask = mask.point(lambda v: round(v * shape.opacity))
        fill = self._shading(shape, w, h, rel) if shape.lit else None
        self._put(fill or shape.colour, mask, cx0, cy0)

    def _shading(self, shape: Shape, w: int, h: int, rel: Box) -> Image.Image:
        """The shape's colour, lighter towards the light and darker away from it."""
        lx, ly = self.comp.light
        lit = mix(shape.colour, (255, 255, 255), 0.22)
        dark = mix(shape.colour, (0, 0, 0), 0.3)
        # the gradient spans the shape's own box, also where part of it is off canvas
        bx0, by0, bx1, by1 = rel
        bw, bh = max(1e-6, bx1 - bx0), max(1e-6, by1 - by0)

        def colour(u: float, v: float) -> RGB:
            x = (u * w - bx0) / bw - 0.5
            y = (v * h - by0) / bh - 0.5
            t = max(-1.0, min(1.0, (x * lx + y * ly) * 1.6))
            return mix(shape.colour, lit, t) if t > 0 else mix(shape.colour, dark, -t)

        gw = max(2, min(24, w))
        gh = max(2, min(24, h))
        return self._field(gw, gh, colour).resize((w, h), Image.Resampling.BILINEAR)

    def _shadow(self, shape: Shape) -> None:
        comp = self.comp
        blur = comp.shadow_blur
        pad = SHADOW_REACH * blur
        off = comp.shadow_offset * shape.shadow
        dx, dy = -comp.light[0] * off, -comp.light[1] * off  # cast away from the light
        b = shape.box
        area = (b[0] - pad + dx, b[1] - pad + dy, b[2] + pad + dx, b[3] + pad + dy)
        # drawn and blurred on a small raster of fixed size, then scaled up: soft, cheap, tier-independent
        aw, ah = area[2] - area[0], area[3] - area[1]
        k = 96 / max(aw, ah)  # small-raster pixels per unit
        sw, sh = max(2, round(aw * k)), max(2, round(ah * k))
        local = (pad * k, pad * k, (b[2] - b[0] + pad) * k, (b[3] - b[1] + pad) * k)
        small = self._mask(shape, local, sw, sh, 2).filter(ImageFilter.GaussianBlur(blur * k))
        dark = comp.palette.dark
        strength = (0.55 if dark else 0.32) * shape.shadow
        small = small.point(lambda v: round(v * strength))
        px = self._px(area)
        full_w, full_h = max(1, round(px[2] - px[0])), max(1, round(px[3] - px[1]))
        mask = small.resize((full_w, full_h), Image.Resampling.BILINEAR)
        x, y = round(px[0]), round(px[1])
        clip = self._visible((x, y, x + full_w, y + full_h))
        if clip is None:
            return
        mask = mask.crop((clip[0] - x, clip[1] - y, clip[2] - x, clip[3] - y))
        shade = mix(comp.palette.background[1], (0, 0, 0), 0.75)
        self._put(shade, mask, clip[0], clip[1])

    def _put(self, fill: RGB | Image.Image, mask: Image.Image, x: int, y: int) -> None:
        """Composite ``fill`` (a colour or an RGB image the mask's size) through ``mask`` at (x, y)."""
        if not self.transparent:
            # over an opaque canvas, a masked paste is exactly "source over"
            self.canvas.paste(fill, (x, y, x + mask.width, y + mask.height), mask)
            return
        layer = fill.convert("RGBA") if isinstance(fill, Image.Image) else Image.new("RGBA", mask.size, fill)
        layer.putalpha(mask)
        self.canvas.alpha_composite(layer, (x, y))


def render_bytes(
    prompt: str,
    seed: int,
    size: Size,
    *,
    safe_zone: SafeZone = SafeZone.TOP,
    transparent: bool = False,
    reference: bytes | None = None,
) -> bytes:
    """:func:`render`, encoded fast and near-lossless: PNG when transparent, else JPEG at quality 95."""
    img = render(prompt, seed, size, safe_zone=safe_zone, transparent=transparent, reference=reference)
    buf = io.BytesIO()
    if transparent:
        img.save(buf, "PNG", compress_level=3)  # callers re-encode; speed matters more than bytes here
    else:
        img.save(buf, "JPEG", quality=95, subsampling=0)
    return buf.getvalue()
