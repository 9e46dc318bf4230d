"""A draft drawn again with its change requests applied (:mod:`.feedback`): the same prompt, seed and
reference give the same composition, then the colours and the subject change as the feedback asks.

:func:`~bot.providers.local.paint.render` draws a draft from its prompt and seed only; this composes it
with the feedback's revision and paints it with :func:`~bot.providers.local.paint.paint`. With no feedback
it draws exactly what ``render`` draws (a test holds that line).
"""

from __future__ import annotations

import io
import math

from PIL import Image

from bot.destinations import SafeZone
from bot.providers.local.compose import Composition, compose
from bot.providers.local.feedback import read_feedback, scale_note
from bot.providers.local.paint import MAX_RENDER_PIXELS, MIN_RENDER_SIDE, paint
from bot.providers.local.reference import read_reference
from bot.tiers import Size


def redraw(
    prompt: str,
    seed: int,
    size: Size,
    *,
    feedback: tuple[str, ...],
    safe_zone: SafeZone = SafeZone.TOP,
    transparent: bool = False,
    reference: bytes | None = None,
) -> tuple[Image.Image, tuple[str, ...]]:
    """The draft for ``prompt``/``seed`` (and ``reference``) at ``size`` with every change ``feedback``
    asks, in order, and the notes that say what changed."""
    if min(size.width, size.height) < MIN_RENDER_SIDE or size.pixels > MAX_RENDER_PIXELS:
        raise ValueError(f"cannot render at {size}")
    look = read_reference(reference) if reference is not None else None
    revision = read_feedback(feedback)
    aspect = size.width / size.height
    comp = compose(prompt, seed, aspect, safe_zone, transparent, look, revision)
    notes = list(revision.notes)
    if revision.scale != 1:
        unchanged = compose(prompt, seed, aspect, safe_zone, transparent, look)
        note = scale_note(revision.scale, _subject_side(comp) / _subject_side(unchanged))
        if note is not None:
            notes.append(note)
    return paint(comp, size, transparent=transparent), tuple(notes)


def redraw_bytes(
    prompt: str,
    seed: int,
    size: Size,
    *,
    feedback: tuple[str, ...],
    safe_zone: SafeZone = SafeZone.TOP,
    transparent: bool = False,
    reference: bytes | None = None,
) -> tuple[bytes, tuple[str, ...]]:
    """:func:`redraw`, encoded as :func:`~bot.providers.local.paint.render_bytes` encodes."""
    img, notes = redraw(
        prompt,
        seed,
        size,
        feedback=feedback,
        safe_zone=safe_zone,
        transparent=transparent,
        reference=reference,
    )
    buf = io.BytesIO()
    if transparent:
        img.save(buf, "PNG", compress_level=3)
    else:
        img.save(buf, "JPEG", quality=95, subsampling=0)
    return buf.getvalue(), notes


def _subject_side(comp: Composition) -> float:
    """The subject's size as the side of a square of its area, in units."""
    x0, y0, x1, y1 = comp.shapes[comp.subject].box
    return math.sqrt((x1 - x0) * (y1 - y0))
