"""The offline default provider: an abstract poster-style layout draft drawn with Pillow.

It is not a generative model and never claims to be one. It gives a team something concrete to vote on
(palette from the prompt, a bold subject shape, the headline-safe zone kept clear) with no network and no
cost, and it is deterministic: the same prompt and seed give the same composition at 1K, 2K and 4K, so
upgrading a winner redraws it sharper rather than differently. Given a reference to explore from
(``GenerationRequest.reference_use == "explore"``), it takes the reference's palette and layout instead of
the prompt's colours, so variants "from" an image visibly resemble it. With ``feedback`` (Request changes)
it draws the same composition changed as asked, and a reshape is the same picture drawn in the new frame.

- :mod:`.palette`: colours from the prompt's words (or a reference image's), and the shifts feedback asks
- :mod:`.feedback`: change requests read into visible changes (:func:`read_feedback`)
- :mod:`.reference`: a reference image read into palette and layout (:func:`read_reference`)
- :mod:`.compose`: the layout, in resolution-free units (every random choice)
- :mod:`.paint`: drawing a composition with Pillow at an exact size, clean (no guides, no label)
- :mod:`.redraw`: the same draft drawn again with its feedback applied (:func:`redraw`)
- :mod:`.provider`: :class:`LocalProvider`, the :class:`~bot.providers.base.ImageProvider`
"""

from __future__ import annotations

from bot.providers.local.compose import SHADOW_REACH, Composition, Shape, ShapeKind, compose
from bot.providers.local.feedback import Change, Revision, read_feedback
from bot.providers.local.paint import (
    MAX_RENDER_PIXELS,
    MIN_RENDER_SIDE,
    preview_label,
    render,
    render_bytes,
)
from bot.providers.local.palette import Palette, build_palette
from bot.providers.local.provider import LocalProvider
from bot.providers.local.redraw import redraw, redraw_bytes
from bot.providers.local.reference import ReferenceLook, UnreadableReference, read_reference

__all__ = [
    "MAX_RENDER_PIXELS",
    "MIN_RENDER_SIDE",
    "SHADOW_REACH",
    "Change",
    "Composition",
    "LocalProvider",
    "Palette",
    "ReferenceLook",
    "Revision",
    "Shape",
    "ShapeKind",
    "UnreadableReference",
    "build_palette",
    "compose",
    "preview_label",
    "read_feedback",
    "read_reference",
    "redraw",
    "redraw_bytes",
    "render",
    "render_bytes",
]
