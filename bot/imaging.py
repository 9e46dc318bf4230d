"""Pillow image operations: decode safely, fit to an exact size, encode under a byte ceiling.

The functions are synchronous and CPU-bound; run them through :class:`ImagingPool` from async code so the
event loop never stalls.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, ParamSpec, TypeVar

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from bot.destinations import ImageFormat
from bot.errors import UserInputError
from bot.tiers import Size

P = ParamSpec("P")
T = TypeVar("T")

FitMode = Literal["cover", "contain"]
FitAction = Literal["none", "resized", "cropped", "padded"]

JPEG_MIN_QUALITY = 35
JPEG_MAX_QUALITY = 95
# Below this quality chroma is subsampled 4:2:0; at and above it 4:4:4 keeps thin coloured edges crisp.
JPEG_FULL_CHROMA_QUALITY = 90

# An aspect-ratio difference this small is resized away (a stretch of <0.5% is invisible), rather than
# cropping a row of pixels and reporting it in the audit trail as a real crop.
_SAME_RATIO_TOLERANCE = 0.005

_NOT_AN_IMAGE = "That file isn't an image I can read. Try a PNG, JPEG or WebP."
_DAMAGED = "That image file is truncated or damaged. Try exporting or uploading it again."

# Errors Pillow's decoders raise on malformed data (SyntaxError is what some plugins use for "bad header").
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError)


class BadImage(UserInputError):
    """Bytes someone gave us that we will not decode: not an image, damaged, or too large."""


def _too_large(size: Size | None, max_pixels: int, pillow_message: str = "") -> BadImage:
    if size is not None:
        what = f"{size} pixels"
    else:  # Pillow refused it before we saw the header; its message still carries the pixel count
        found = re.search(r"\((\d+) pixels\)", pillow_message)
        what = f"{int(found[1]) / 1e6:,.0f} megapixels" if found else "far more pixels than we can handle"
    return BadImage(
        f"That image is too large: {what}, the limit is {max_pixels / 1e6:,.0f} megapixels "
        f"({max_pixels:,} pixels). Try a smaller export."
    )


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse anything over ``max_pixels`` before a pixel is decoded."""
    if not data:
        raise BadImage(_NOT_AN_IMAGE)
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        # Pillow's own net (2 × Image.MAX_IMAGE_PIXELS) caught it first. It only ever refuses what is far
        # over any sane limit of ours, so we refuse too, whatever max_pixels says.
        raise _too_large(None, max_pixels, str(err)) from None
    except UnidentifiedImageError:
        raise BadImage(_NOT_AN_IMAGE) from None
    except _DECODE_ERRORS:
        # The header itself is cut short or corrupt.
        raise BadImage(_DAMAGED) from None
    # Our limit is explicit and checked here, whatever Image.MAX_IMAGE_PIXELS is set to.
    width, height = img.size
    if width <= 0 or height <= 0:
        raise BadImage(_DAMAGED)
    if width * height > max_pixels:
        img.close()
        raise _too_large(Size(width, height), max_pixels)
    return img


def decode(data: bytes, *, max_pixels: int) -> Image.Image:
    """Decode untrusted image bytes into an upright RGB or RGBA image (the first frame if animated).

    Raises :class:`BadImage` for non-images, damaged files and images over ``max_pixels``.
    """
    img = _open(data, max_pixels)
    try:
        img.load()  # inside the try: truncation only shows when the pixels are read
        ImageOps.exif_transpose(img, in_place=True)
        return _normalize_mode(img)
    except Image.DecompressionBombError:
        raise _too_large(Size(*img.size), max_pixels) from None
    except _DECODE_ERRORS:
        raise BadImage(_DAMAGED) from None


def measure(data: bytes, *, max_pixels: int | None = None) -> tuple[Size, str]:
    """The displayed size (EXIF rotation applied) and Pillow's format name, read from the header only."""
    img = _open(data, max_pixels if max_pixels is not None else 2**62)
    with img:
        width, height = img.size
        try:
            orientation = img.getexif().get(0x0112, 1)
        except _DECODE_ERRORS:
            orientation = 1  # unreadable EXIF: decode() would not rotate either
        if orientation in (5, 6, 7, 8):  # the orientations that turn the picture by 90°
            width, height = height, width
        return Size(width, height), img.format or "unknown"


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)


def _normalize_mode(img: Image.Image) -> Image.Image:
    """RGB or RGBA: the two modes everything downstream (resize, composite, encode) handles well."""
    if img.mode in ("RGB", "RGBA"):
        return img
    if _has_alpha(img):
        return img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits instead of letting convert() clip everything above 255 to white.
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB")
    return img.convert("RGB")


# --- fitting -----------------------------------------------------------------------------------------

_PORTRAIT_RATIOS = ((1, 1), (4, 5), (3, 4), (2, 3), (9, 16), (1, 2), (9, 21), (1, 3))
_COMMON_RATIOS = _PORTRAIT_RATIOS + tuple((h, w) for w, h in _PORTRAIT_RATIOS[1:])


def ratio_label(size: Size) -> str:
    """A short name for ``size``'s shape: ``16:9`` when it is (within 1%) a common ratio, else ``1.85:1``."""
    value = size.width / size.height
    for w, h in _COMMON_RATIOS:
        if abs(value / (w / h) - 1) <= 0.01:
            return f"{w}:{h}"
    g = math.gcd(size.width, size.height)
    if size.width // g <= 32 and size.height // g <= 32:
        return f"{size.width // g}:{size.height // g}"
    return f"{value:.2f}:1" if value >= 1 else f"1:{1 / value:.2f}"


@dataclass(frozen=True)
class FitReport:
    """What :func:`fit` did to make ``source`` exactly ``target``, for the audit trail."""

    source: Size
    target: Size
    action: FitAction
    # cropped: the (left, top, right, bottom) box kept from the source
    crop_box: tuple[int, int, int, int] | None = None
    # padded: (left, top, right, bottom) pixels added around the scaled image
    pad: tuple[int, int, int, int] | None = None
    # the size the source (or its crop) was resampled to; None when no resampling happened
    scaled_to: Size | None = None

    def describe(self) -> str:
        src, dst = self.source, self.target
        if self.action == "none":
            return f"kept {src} as delivered"
        if self.action == "resized":
            verb = "upscaled" if dst.pixels > src.pixels else "resized"
            return f"{verb} {src} to {dst}"
        if self.action == "cropped":
            assert self.crop_box is not None
            left, top, right, bottom = self.crop_box
            kept = Size(right - left, bottom - top)
            text = f"cropped {src} ({ratio_label(src)}) to {kept} ({ratio_label(dst)}), centred"
            if self.scaled_to is not None:
                verb = "upscaled" if dst.pixels > kept.pixels else "resized"
                text += f", and {verb} to {dst}"
            return text
        assert self.pad is not None
        left, top, right, bottom = self.pad
        sides = f"{left}+{right} px left/right" if left or right else f"{top}+{bottom} px top/bottom"
        shape = f"to {dst} ({ratio_label(dst)}): {sides}"
        if self.scaled_to is None:
            return f"padded {src} ({ratio_label(src)}) {shape}"
        verb = "upscaled" if self.scaled_to.pixels > src.pixels else "resized"
        return f"{verb} {src} ({ratio_label(src)}) to {self.scaled_to} and padded it {shape}"


def fit(img: Image.Image, size: Size, *, mode: FitMode = "cover") -> tuple[Image.Image, FitReport]:
    """Make ``img`` exactly ``size``.

    ``cover`` crops the centre to the target ratio, then resizes; ``contain`` resizes to fit inside and
    pads (transparent for RGBA, otherwise a colour averaged from the edges next to the padding).
    """
    if size.width <= 0 or size.height <= 0:
        raise ValueError(f"cannot fit to {size}")
    img = _normalize_mode(img)
    source = Size(*img.size)
    if source == size:
        return img, FitReport(source, size, "none")

    src_ratio = source.width / source.height
    dst_ratio = size.width / size.height
    if abs(src_ratio / dst_ratio - 1) <= _SAME_RATIO_TOLERANCE:
        out = img.resize((size.width, size.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        return out, FitReport(source, size, "resized", scaled_to=size)
    if mode == "cover":
        return _cover(img, source, size)
    if mode == "contain":
        return _contain(img, source, size)
    raise ValueError(f"unknown fit mode {mode!r}")


def _cover(img: Image.Image, source: Size, size: Size) -> tuple[Image.Image, FitReport]:
    dst_ratio = size.width / size.height
    if source.width / source.height > dst_ratio:  # too wide: keep the full height
        kept_w, kept_h = round(source.height * dst_ratio), source.height
    else:  # too tall: keep the full width
        kept_w, kept_h = source.width, round(source.width / dst_ratio)
    kept_w, kept_h = max(1, min(kept_w, source.width)), max(1, min(kept_h, source.height))
    left = (source.width - kept_w) // 2
    top = (source.height - kept_h) // 2
    box = (left, top, left + kept_w, top + kept_h)
    if (kept_w, kept_h) == (size.width, size.height):
        return img.crop(box), FitReport(source, size, "cropped", crop_box=box)
    # resize(box=...) crops and resamples in one pass, without an intermediate copy
    out = img.resize((size.width, size.height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    return out, FitReport(source, size, "cropped", crop_box=box, scaled_to=size)


def _contain(img: Image.Image, source: Size, size: Size) -> tuple[Image.Image, FitReport]:
    scale = min(size.width / source.width, size.height / source.height)
    if source.width / source.height > size.width / size.height:
        inner = Size(size.width, max(1, min(size.height, round(source.height * scale))))
    else:
        inner = Size(max(1, min(size.width, round(source.width * scale))), size.height)
    scaled = img
    scaled_to: Size | None = None
    if inner != source:
        scaled = img.resize((inner.width, inner.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        scaled_to = inner
    left = (size.width - inner.width) // 2
    top = (size.height - inner.height) // 2
    pad = (left, top, size.width - inner.width - left, size.height - inner.height - top)
    fill: tuple[int, ...] = (0, 0, 0, 0) if scaled.mode == "RGBA" else _edge_colour(scaled, vertical=left > 0)
    out = Image.new(scaled.mode, (size.width, size.height), fill)
    out.paste(scaled, (left, top))
    return out, FitReport(source, size, "padded", pad=pad, scaled_to=scaled_to)


def _edge_colour(img: Image.Image, *, vertical: bool) -> tuple[int, ...]:
    """The average colour of the two edges the padding will touch, so the pad reads as a continuation."""
    w, h = img.size
    strip = max(1, min(w, h) // 100)
    left_right = [(0, 0, strip, h), (w - strip, 0, w, h)]
    top_bottom = [(0, 0, w, strip), (0, h - strip, w, h)]
    boxes = left_right if vertical else top_bottom
    colours = [img.crop(b).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)) for b in boxes]
    channels = [c if isinstance(c, tuple) else (int(c or 0),) for c in colours]
    return tuple(round(sum(vals) / len(vals)) for vals in zip(*channels, strict=True))


def thumbnail(img: Image.Image, max_edge: int) -> Image.Image:
    """A copy whose long edge is at most ``max_edge``, same ratio; never upscales."""
    if max_edge <= 0:
        raise ValueError("max_edge must be positive")
    img = _normalize_mode(img)
    w, h = img.size
    scale = max_edge / max(w, h)
    if scale >= 1:
        return img.copy()
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0)


# --- encoding ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    content_type: str
    format: ImageFormat
    size: Size
    quality: int | None
    sha256: str


def encode(img: Image.Image, fmt: ImageFormat, *, ceiling_bytes: int) -> EncodedImage:
    """Encode ``img`` as ``fmt``. JPEG gets the best quality in [35, 95] that fits ``ceiling_bytes``.

    A ceiling not even quality 35 fits is a developer error (an unrealistic ceiling): ``ValueError``.
    """
    if fmt is ImageFormat.PNG:
        data = _encode_png(img)
        quality: int | None = None
    elif fmt is ImageFormat.JPEG:
        data, quality = _encode_jpeg_under(_flatten_rgb(img), ceiling_bytes)
    else:  # pragma: no cover - a new ImageFormat member needs a branch here
        raise ValueError(f"unsupported format {fmt!r}")
    return EncodedImage(
        data=data,
        content_type=fmt.content_type,
        format=fmt,
        size=Size(*img.size),
        quality=quality,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _encode_png(img: Image.Image) -> bytes:
    # No ceiling for PNG: it is lossless and only used where transparency was asked for, so the only way to
    # shrink it would be dropping pixels or alpha, i.e. not the image that was approved. Transparent cut-outs
    # are mostly flat colour and compress well; callers see the byte size and can report it.
    img = img.convert("RGBA") if _has_alpha(img) else _normalize_mode(img)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _flatten_rgb(img: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency is flattened onto white (what a light Slack or a print would show)."""
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img if img.mode == "RGB" else _normalize_mode(img).convert("RGB")


def jpeg_bytes(img: Image.Image, quality: int) -> bytes | None:
    """One JPEG encode with the settings :func:`encode` uses (exposed so tests can check its choice).

    None when the JPEG would be larger than the raw pixels: with ``optimize``/``progressive`` Pillow
    gives libjpeg a buffer of one byte per pixel (two at quality 95) and the encode fails past it. Only
    pure noise gets there, and no ceiling of ours is that generous.
    """
    buf = io.BytesIO()
    try:
        img.save(
            buf,
            "JPEG",
            quality=quality,
            optimize=True,
            progressive=True,
            subsampling=0 if quality >= JPEG_FULL_CHROMA_QUALITY else 2,
        )
    except OSError:  # libjpeg's "Suspension not allowed here": the output outgrew Pillow's buffer
        return None
    return buf.getvalue()


_SAMPLE_TILE = 128  # a multiple of 16 so tiles line up with JPEG's 16×16 (4:2:0) blocks
_SAMPLE_TILES = (8, 4)  # 32 tiles: 524k pixels, ~1/18 of a 4K frame


def _jpeg_sample(rgb: Image.Image) -> tuple[Image.Image, float] | None:
    """A mosaic of tiles spread over ``rgb`` that compresses like it, and the pixel ratio to scale by.

    None when the image is small enough that estimating would cost as much as encoding it.
    """
    cols, rows = _SAMPLE_TILES
    tile = _SAMPLE_TILE
    w, h = rgb.size
    if w * h <= 3 * cols * rows * tile * tile or w < tile * cols or h < tile * rows:
        return None
    mosaic = Image.new("RGB", (cols * tile, rows * tile))
    for r in range(rows):
        y = round((h - tile) * (r + 0.5) / rows) // 16 * 16
        for c in range(cols):
            x = round((w - tile) * (c + 0.5) / cols) // 16 * 16
            mosaic.paste(rgb.crop((x, y, x + tile, y + tile)), (c * tile, r * tile))
    return mosaic, (w * h) / (mosaic.width * mosaic.height)


def _encode_jpeg_under(rgb: Image.Image, ceiling: int) -> tuple[bytes, int]:
    """The highest quality in [35, 95] whose JPEG fits ``ceiling`` bytes, with its bytes.

    A plain bisection over 61 qualities costs 7 full encodes: about 2 s for a detailed 4K frame with
    optimize + progressive. Instead a small mosaic sampled from the image predicts the size at every
    quality (cheaply), the prediction is corrected by each real encode, and the real encodes only confirm
    the bracket: typically 2 or 3 full encodes. The answer is exact either way: ``q`` fits and ``q + 1``
    was encoded and does not (or ``q`` is 95).
    """
    sample = _jpeg_sample(rgb)
    real: dict[int, bytes | None] = {}
    estimates: dict[int, float] = {}

    def real_size(q: int) -> float:
        if q not in real:
            real[q] = jpeg_bytes(rgb, q)
        data = real[q]
        return math.inf if data is None else len(data)

    def estimate(q: int) -> float:
        if sample is None:
            return real_size(q)
        if q not in estimates:
            mosaic, scale = sample
            data = jpeg_bytes(mosaic, q)
            estimates[q] = math.inf if data is None else len(data) * scale
        return estimates[q]

    lo, hi = JPEG_MIN_QUALITY - 1, JPEG_MAX_QUALITY + 1  # lo: best known to fit; hi: lowest known not to
    correction = 1.0
    rounds = 0
    while hi - lo > 1:
        if rounds >= 4:  # the estimate keeps missing (odd image): plain bisection from here
            q = (lo + hi) // 2
        else:
            # the highest quality predicted to fit, strictly inside the bracket
            a, b = lo + 1, hi - 1
            q = a
            while a <= b:
                mid = (a + b) // 2
                if estimate(mid) * correction <= ceiling:
                    q, a = mid, mid + 1
                else:
                    b = mid - 1
        if real_size(q) <= ceiling:
            lo = q
        else:
            hi = q
        if sample is not None and math.isfinite(real_size(q)) and math.isfinite(estimate(q)):
            correction = real_size(q) / estimate(q)
        rounds += 1
    best = real.get(lo)
    if best is None:
        raise ValueError(
            f"a {rgb.width}×{rgb.height} JPEG does not fit {ceiling:,} bytes even at quality "
            f"{JPEG_MIN_QUALITY} ({real_size(JPEG_MIN_QUALITY):,.0f} bytes): the ceiling is unrealistic"
        )
    return best, lo


# --- contact sheets ----------------------------------------------------------------------------------

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


# --- running off the event loop ----------------------------------------------------------------------


class ImagingPool:
    """Runs CPU-bound imaging functions in threads, at most ``threads`` at once.

    The pool owns its executor rather than sharing the loop's default one (which DNS lookups and other
    ``to_thread`` users need), and queues waiting jobs on a semaphore in the event loop, so a job cancelled
    while waiting never starts. Pillow releases the GIL in its C code, so the threads really run in parallel.
    Use one pool per event loop.
    """

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="imaging")
        self._semaphore = asyncio.Semaphore(threads)
        self._closed = False

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise RuntimeError("ImagingPool is closed")
        async with self._semaphore:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop accepting work; jobs already running finish in their threads, queued ones are dropped."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = [
    "JPEG_MAX_QUALITY",
    "JPEG_MIN_QUALITY",
    "BadImage",
    "EncodedImage",
    "FitReport",
    "ImagingPool",
    "contact_sheet",
    "decode",
    "encode",
    "fit",
    "jpeg_bytes",
    "measure",
    "ratio_label",
    "thumbnail",
]
