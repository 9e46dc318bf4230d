"""Untrusted image bytes in: what they are (:func:`sniff`), how big (:func:`measure`), and their pixels,
decoded under a pixel limit (:func:`decode`), or :class:`BadImage` saying why not.
"""

from __future__ import annotations

import io
import re

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.errors import UserInputError
from bot.tiers import Size

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


def decode(data: bytes, *, max_pixels: int, at_least: int | None = None) -> Image.Image:
    """Decode untrusted image bytes into an upright RGB or RGBA image (the first frame if animated).

    With ``at_least``, a JPEG may come out scaled down by libjpeg (by 1/2, 1/4 or 1/8) while both sides stay
    at least that many pixels: several times faster where only a thumbnail is needed.
    Raises :class:`BadImage` for non-images, damaged files and images over ``max_pixels``.
    """
    img = _open(data, max_pixels)
    try:
        if at_least is not None and img.format == "JPEG":
            img.draft("RGB", (at_least, at_least))
        img.load()  # inside the try: truncation only shows when the pixels are read
        ImageOps.exif_transpose(img, in_place=True)
        return normalize_mode(img)
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


def has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)


def normalize_mode(img: Image.Image) -> Image.Image:
    """RGB or RGBA: the two modes everything downstream (resize, composite, encode) handles well."""
    if img.mode in ("RGB", "RGBA"):
        return img
    if has_alpha(img):
        return img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits instead of letting convert() clip everything above 255 to white.
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB")
    return img.convert("RGB")


def sniff(data: bytes) -> str | None:
    """The MIME type of image bytes from their magic numbers (PNG, JPEG, WebP, GIF, HEIC/HEIF), else None.

    The one place draftbot tells formats apart by their bytes: providers read a reference's type from
    :class:`bot.providers.base.Reference` and check what comes back with this.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"mif1", b"msf1", b"heif"):
            return "image/heif"
    return None
