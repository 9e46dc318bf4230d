"""Encoding for delivery: PNG as it is, JPEG at the best quality that fits a byte ceiling; both tagged sRGB
(an embedded ICC profile) with the DPI the destination prints at."""

from __future__ import annotations

import functools
import hashlib
import io
import math
from dataclasses import dataclass

from PIL import Image, ImageCms

from bot.destinations import SCREEN_DPI, ImageFormat
from bot.imaging.decode import has_alpha, normalize_mode
from bot.tiers import Size

JPEG_MIN_QUALITY = 35
JPEG_MAX_QUALITY = 95
# Below this quality chroma is subsampled 4:2:0; at and above it 4:4:4 keeps thin coloured edges crisp.
JPEG_FULL_CHROMA_QUALITY = 90


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    content_type: str
    format: ImageFormat
    size: Size
    quality: int | None
    sha256: str


@functools.cache
def srgb_profile() -> bytes:
    """The ICC profile every delivered image embeds: Little CMS's built-in sRGB (588 bytes), built once."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def encode(img: Image.Image, fmt: ImageFormat, *, ceiling_bytes: int, dpi: int = SCREEN_DPI) -> EncodedImage:
    """Encode ``img`` as ``fmt``, with the sRGB profile and ``dpi``. JPEG gets the best quality in [35, 95]
    that fits ``ceiling_bytes`` (the profile's bytes included).

    A ceiling not even quality 35 fits is a developer error (an unrealistic ceiling): ``ValueError``.
    """
    if dpi <= 0:
        raise ValueError(f"dpi must be positive, got {dpi}")
    if fmt is ImageFormat.PNG:
        data = _encode_png(img, dpi)
        quality: int | None = None
    elif fmt is ImageFormat.JPEG:
        data, quality = _encode_jpeg_under(flatten_rgb(img), ceiling_bytes, dpi)
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


def _encode_png(img: Image.Image, dpi: int) -> bytes:
    # No ceiling for PNG: it is lossless and only used where transparency was asked for, so the only way to
    # shrink it would be dropping pixels or alpha, i.e. not the image that was approved. Transparent cut-outs
    # are mostly flat colour and compress well; callers see the byte size and can report it.
    img = img.convert("RGBA") if has_alpha(img) else normalize_mode(img)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True, icc_profile=srgb_profile(), dpi=(dpi, dpi))
    return buf.getvalue()


def flatten_rgb(img: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency is flattened onto white (what a light Slack or a print would show)."""
    if has_alpha(img):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img if img.mode == "RGB" else normalize_mode(img).convert("RGB")


def jpeg_bytes(img: Image.Image, quality: int, *, dpi: int = SCREEN_DPI) -> bytes | None:
    """One JPEG encode with the settings :func:`encode` uses, profile and DPI included (exposed so tests
    can check its choice).

    Baseline (sequential) with optimised Huffman tables, not progressive: Slack draws its own thumbnails
    and previews from the file, so progressive scans buy nothing there, and on our images they were no
    smaller (often larger) while taking twice the time to encode and holding every coefficient of the
    image in memory; a baseline JPEG also decodes at reduced scale (:func:`~bot.imaging.decode`'s
    ``at_least``) without reading the full-size picture.

    None when the JPEG would be larger than the raw pixels: with ``optimize`` Pillow gives libjpeg a
    buffer of one byte per pixel (two at quality 95) and the encode fails past it. Only pure noise gets
    there, and no ceiling of ours is that generous.
    """
    return _jpeg(img, quality, dpi=dpi, icc_profile=srgb_profile())


def _jpeg(img: Image.Image, quality: int, *, dpi: int, icc_profile: bytes | None) -> bytes | None:
    buf = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile is not None else {}
    try:
        img.save(
            buf,
            "JPEG",
            quality=quality,
            optimize=True,
            subsampling=0 if quality >= JPEG_FULL_CHROMA_QUALITY else 2,
            dpi=(dpi, dpi),
            **extra,
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


# An APP2 segment around the profile: marker, length, "ICC_PROFILE\0", chunk number and count.
_ICC_SEGMENT_OVERHEAD = 18


def _encode_jpeg_under(rgb: Image.Image, ceiling: int, dpi: int) -> tuple[bytes, int]:
    """The highest quality in [35, 95] whose JPEG fits ``ceiling`` bytes, with its bytes.

    A plain bisection over 61 qualities costs 7 full encodes: about 1 s for a detailed 4K frame.
    Instead a small mosaic sampled from the image predicts the size at every
    quality (cheaply), the prediction is corrected by each real encode, and the real encodes only confirm
    the bracket: typically 2 or 3 full encodes. The answer is exact either way: ``q`` fits and ``q + 1``
    was encoded and does not (or ``q`` is 95). The mosaic is encoded without the profile, which is a fixed
    cost added once, not scaled with the pixels. An image too small to sample is tried at the top
    quality first (most fit there: one encode), then bisected.
    """
    profile_bytes = len(srgb_profile()) + _ICC_SEGMENT_OVERHEAD
    sample = _jpeg_sample(rgb)
    real: dict[int, bytes | None] = {}
    estimates: dict[int, float] = {}

    def real_size(q: int) -> float:
        if q not in real:
            real[q] = jpeg_bytes(rgb, q, dpi=dpi)
        data = real[q]
        return math.inf if data is None else len(data)

    def estimate(q: int) -> float:
        assert sample is not None
        if q not in estimates:
            mosaic, scale = sample
            data = _jpeg(mosaic, q, dpi=dpi, icc_profile=None)
            estimates[q] = math.inf if data is None else len(data) * scale + profile_bytes
        return estimates[q]

    lo, hi = JPEG_MIN_QUALITY - 1, JPEG_MAX_QUALITY + 1  # lo: best known to fit; hi: lowest known not to
    correction = 1.0
    rounds = 0
    while hi - lo > 1:
        if sample is None:  # no estimate: the top first, then bisection
            q = hi - 1 if rounds == 0 else (lo + hi) // 2
        elif rounds >= 4:  # the estimate keeps missing (odd image): plain bisection from here
            q = (lo + hi) // 2
        else:
            # the highest quality predicted to fit, strictly inside the bracket (the top, most often)
            a, b = lo + 1, hi - 1
            q = a
            if estimate(b) * correction <= ceiling:
                q, a = b, b + 1
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
