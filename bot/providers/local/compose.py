"""The local renderer's composition: every random choice of a draft, made once in resolution-free units.

Deterministic: the same prompt and seed give the same composition at any size, so upgrading a winner
redraws it sharper rather than differently.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.destinations import SafeZone
from bot.providers.local.feedback import Revision
from bot.providers.local.palette import (
    RGB,
    WORD_RE,
    Palette,
    build_palette,
    mix,
    reference_palette,
    retone,
)
from bot.providers.local.reference import ReferenceLook

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

ShapeKind = Literal["circle", "capsule", "card", "arch", "ring", "dots", "half", "bar"]


@dataclass(frozen=True)
class Shape:
    kind: ShapeKind
    box: Box  # in canvas units: x in [0, aspect], y in [0, 1]
    colour: RGB
    opacity: float = 1.0
    lit: bool = False  # shaded from the light direction
    shadow: float = 0.0  # strength of the cast shadow, 0 for none
    stroke: float = 0.0  # ring and bar thickness, in units
    grid: tuple[int, int] = (0, 0)  # dots: columns, rows
    turn: int = 0  # half: which side is flat (0..3)


@dataclass(frozen=True)
class Composition:
    aspect: float
    palette: Palette
    light: tuple[float, float]  # unit vector from the centre towards the light
    zone: Box | None  # the headline-safe area, in units
    shapes: tuple[Shape, ...] = field(default=())
    shadow_blur: float = 0.03  # units
    shadow_offset: float = 0.035  # units
    # A reference's colour masses (rows of colours over the canvas) painted as the background; () for the
    # lit gradient of a draft from the prompt alone.
    masses: tuple[tuple[RGB, ...], ...] = ()
    subject: int = 0  # which of ``shapes`` is the subject


SHADOW_REACH = 2.5  # a shadow is drawn out to this many blur radii (beyond it, under 1% strength)
_ZONE_DEPTH = 0.3  # TOP/BOTTOM: share of the height kept for the headline
_ZONE_LEFT = 0.42  # LEFT: share of the width
_GAP = 0.03  # space between the zone and any shape, in units


def _zone_and_free(aspect: float, zone: SafeZone) -> tuple[Box | None, list[Box]]:
    """The headline zone and the free areas the shapes may use, in units."""
    a = aspect
    if zone is SafeZone.TOP:
        return (0, 0, a, _ZONE_DEPTH), [(0, _ZONE_DEPTH + _GAP, a, 1)]
    if zone is SafeZone.BOTTOM:
        return (0, 1 - _ZONE_DEPTH, a, 1), [(0, 0, a, 1 - _ZONE_DEPTH - _GAP)]
    if zone is SafeZone.LEFT:
        return (0, 0, a * _ZONE_LEFT, 1), [(a * _ZONE_LEFT + _GAP, 0, a, 1)]
    if zone is SafeZone.CENTER:
        if a >= 1.2:  # wide: the headline in the middle, shapes either side
            return (a * 0.3, 0.2, a * 0.7, 0.8), [(0, 0, a * 0.3 - _GAP, 1), (a * 0.7 + _GAP, 0, a, 1)]
        # square or tall: a band across the middle, shapes above and below it
        return (a * 0.08, 0.36, a * 0.92, 0.64), [(0, 0, a, 0.36 - _GAP), (0, 0.64 + _GAP, a, 1)]
    return None, [(0, 0, a, 1)]


def _shadow_reach(light: tuple[float, float], offset: float, blur: float) -> Box:
    """How far a shadow extends past its shape on each side (left, top, right, bottom), in units."""
    dx, dy = -light[0] * offset, -light[1] * offset  # cast away from the light
    pad = SHADOW_REACH * blur
    return (pad + max(0.0, -dx), pad + max(0.0, -dy), pad + max(0.0, dx), pad + max(0.0, dy))


def _allowed(aspect: float, margin: float, transparent: bool) -> Callable[[Box], Box]:
    """Shapes may bleed off the canvas but never into the zone: the allowed area is the free region with
    its canvas-edge sides pushed far out. Transparent cut-outs stay inside the canvas, with a margin."""

    def allowed(r: Box) -> Box:
        if transparent:
            return (r[0] + margin, r[1] + margin, r[2] - margin, r[3] - margin)
        out = 10.0
        return (
            -out if r[0] <= 0 else r[0],
            -out if r[1] <= 0 else r[1],
            aspect + out if r[2] >= aspect else r[2],
            1 + out if r[3] >= 1 else r[3],
        )

    return allowed


def compose(
    prompt: str,
    seed: int,
    aspect: float,
    safe_zone: SafeZone,
    transparent: bool,
    look: ReferenceLook | None = None,
    revision: Revision | None = None,
) -> Composition:
    """Every random choice of a render, made once in resolution-free units (the canvas is aspect × 1).

    With ``look`` (a reference image, :func:`~bot.providers.local.reference.read_reference`), the palette,
    the light, the background's colour masses and the subject's place and proportions come from the
    reference (:func:`compose_like`); the seed varies the rest.

    With ``revision`` (change requests, :func:`~bot.providers.local.feedback.read_feedback`), the same
    choices are made (a revision draws no random numbers) and then changed as asked: the palette's colours
    shifted, the subject scaled about its place.
    """
    revision = revision or Revision()
    if look is not None:
        return compose_like(look, prompt, seed, aspect, safe_zone, transparent, revision)
    digest = hashlib.sha256(f"draftbot-local-1\x00{prompt}\x00{seed}".encode()).digest()
    rng = random.Random(int.from_bytes(digest, "big"))  # never hash(): it is salted per process
    palette = revision.palette(build_palette(prompt, rng))
    words = set(WORD_RE.findall(prompt.lower()))

    if rng.random() < 0.75:  # mostly from above, as light usually is
        angle = math.radians(rng.uniform(-160, -20))
    else:  # or from one side
        angle = math.radians(rng.choice((180, 0)) + rng.uniform(-15, 15))
    light = (math.cos(angle), math.sin(angle))

    zone, free = _zone_and_free(aspect, safe_zone)
    short = min(aspect, 1.0)
    margin = 0.06 * short
    region = max(free, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    rw, rh = region[2] - region[0], region[3] - region[1]
    soft = bool(words & {"soft", "dreamy", "calm", "gentle"})
    shadow_blur = (0.05 if soft else rng.uniform(0.022, 0.04)) * short
    shadow_offset = rng.uniform(0.025, 0.05) * short

    allowed = _allowed(aspect, margin, transparent)

    shapes: list[Shape] = []
    quiet = mix(palette.background[0], palette.glow, rng.uniform(0.4, 0.7))
    backdrop = None if transparent else rng.choices(("circle", "block", "arch", ""), (4, 3, 2, 1))[0]
    if backdrop == "arch" and region[3] < 1:  # an arch stands on the bottom edge, or not at all
        backdrop = "circle"
    if backdrop == "circle":  # a large, quiet disc bleeding off a corner of the free area
        r = rng.uniform(0.35, 0.6) * max(rw, rh)
        cx = rng.choice((region[0], region[2])) + rng.uniform(-0.1, 0.1) * rw
        cy = rng.choice((region[1] + r, region[3])) + rng.uniform(-0.1, 0.1) * rh
        placed = _place((cx - r, cy - r, cx + r, cy + r), allowed(region))
        if placed:
            shapes.append(Shape("circle", placed, quiet, opacity=0.55))
    elif (
        backdrop == "block"
    ):  # a colour field across the free area, from the canvas edge furthest from the zone
        depth = rng.uniform(0.3, 0.55)
        if region[3] >= 1 and (region[1] > 0 or rng.random() < 0.5):
            box = (-1.0, region[3] - depth * rh, aspect + 1, 2.0)
        elif region[1] <= 0 and region[3] < 1:
            box = (-1.0, -1.0, aspect + 1, region[1] + depth * rh)
        else:
            box = (region[2] - depth * rw, -1.0, aspect + 1, 2.0)
        limit = allowed(region)  # clipped, not scaled: it is meant to run off the canvas
        box = (max(box[0], limit[0]), max(box[1], limit[1]), min(box[2], limit[2]), min(box[3], limit[3]))
        shapes.append(Shape("card", box, quiet, opacity=0.5))
    elif backdrop == "arch":  # a tall arch rising from the bottom edge, like a doorway
        w = rng.uniform(0.45, 0.75) * rw
        cx = region[0] + rng.uniform(0.3, 0.7) * rw
        placed = _place(
            (cx - w / 2, region[1] + rng.uniform(0.05, 0.3) * rh, cx + w / 2, 1.5), allowed(region)
        )
        if placed:
            shapes.append(Shape("arch", placed, quiet, opacity=0.5))

    # the subject: one bold shape near a thirds position of the free area, shadow included in the area
    kind: ShapeKind = rng.choice(("circle", "capsule", "card", "arch", "circle", "arch"))
    size = rng.uniform(0.45, 0.75) * min(rw, rh)
    tall = rh >= rw * 0.9
    band = rw > 1.8 * rh  # a wide strip above or below a centred headline: lie the subject down
    if band:
        kind = "capsule" if kind in ("arch", "capsule") else kind
        size = rng.uniform(0.7, 0.9) * rh
    if kind == "circle":
        w, h = size, size
    elif kind == "capsule":
        w, h = (
            (size * 0.52, size * 1.15)
            if tall
            else (size * 1.5, size * 0.62)
            if not band
            else (size * 2, size)
        )
    elif kind == "arch":
        w, h = size * 0.78, size * 1.12
    else:
        w, h = (size * 0.82, size * 1.05) if not band else (size * 1.4, size)
    w, h = w * revision.scale, h * revision.scale
    inner = (region[0] + margin, region[1] + margin, region[2] - margin, region[3] - margin)
    cx = region[0] + rw * rng.choice((0.38, 0.5, 0.62)) + rng.uniform(-0.06, 0.06) * rw
    cy = region[1] + rh * rng.choice((0.42, 0.5, 0.58)) + rng.uniform(-0.06, 0.06) * rh
    reach = _shadow_reach(light, shadow_offset, shadow_blur)
    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    subject = _subject(kind, box, inner, reach, allowed(region), palette.subject)
    subject_box = subject.box

    # secondary shapes: two to four, some behind the subject, some in front
    count = 2 if words & {"minimal", "minimalist", "clean", "simple"} else rng.randint(2, 4)
    behind, front = _accents(
        rng,
        count,
        palette,
        free,
        region,
        subject_box,
        (light, shadow_offset, shadow_blur),
        short,
        margin,
        transparent,
        allowed,
    )
    shapes.extend(behind)
    subject_index = len(shapes)
    shapes.append(subject)
    shapes.extend(front)
    return Composition(
        aspect, palette, light, zone, tuple(shapes), shadow_blur, shadow_offset, subject=subject_index
    )


def compose_like(
    look: ReferenceLook,
    prompt: str,
    seed: int,
    aspect: float,
    safe_zone: SafeZone,
    transparent: bool,
    revision: Revision | None = None,
) -> Composition:
    """A composition that resembles a reference: its colours and masses, its light, its subject where it
    is and as tall or wide as it is (kept out of the headline zone). The seed nudges the palette, the
    subject's place, size and shape, and picks the accents; the reference's bytes seed it too. A
    ``revision`` changes colours and the subject's size as in :func:`compose`."""
    revision = revision or Revision()
    digest = hashlib.sha256(f"draftbot-local-ref-1\x00{prompt}\x00{seed}\x00{look.token}".encode()).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    own_palette, hue_shift, light_factor = reference_palette(
        look.background, look.subject_colour, look.colours, rng
    )
    palette = revision.palette(own_palette)
    turn = math.radians(rng.uniform(-20, 20))  # the reference's light, turned a little
    lx, ly = look.light
    light = (lx * math.cos(turn) - ly * math.sin(turn), lx * math.sin(turn) + ly * math.cos(turn))

    zone, free = _zone_and_free(aspect, safe_zone)
    short = min(aspect, 1.0)
    margin = 0.06 * short
    shadow_blur = rng.uniform(0.022, 0.04) * short
    shadow_offset = rng.uniform(0.025, 0.05) * short
    allowed = _allowed(aspect, margin, transparent)

    # the subject: the reference's region mapped onto this canvas, in the reference's own proportions
    x0, y0, x1, y1 = look.subject
    own = (x1 - x0) * look.aspect / max(y1 - y0, 1e-6)  # the subject's width / height in the reference
    h = (y1 - y0) * rng.uniform(0.88, 1.05)
    w = h * own
    if w > 0.9 * aspect:  # a wide subject on a narrow canvas: as wide as it can be, still in proportion
        w, h = 0.9 * aspect, 0.9 * aspect / own
    w, h = w * revision.scale, h * revision.scale
    cx = (x0 + x1) / 2 * aspect + rng.uniform(-0.04, 0.04) * short
    cy = (y0 + y1) / 2 + rng.uniform(-0.04, 0.04)
    kinds: tuple[ShapeKind, ...] = (
        ("capsule", "arch", "card")
        if own < 0.8
        else ("capsule", "card")
        if own > 1.25
        else ("circle", "card")
    )
    kind = rng.choice(kinds)
    region = min(free, key=lambda b: (_gap_to(b, cx, cy), -(b[2] - b[0]) * (b[3] - b[1])))
    inner = (region[0] + margin, region[1] + margin, region[2] - margin, region[3] - margin)
    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    reach = _shadow_reach(light, shadow_offset, shadow_blur)
    subject = _subject(kind, box, inner, reach, allowed(region), palette.subject)
    subject_box = subject.box

    # one or two accents in the reference's other colours: its composition, not a busier one
    behind, front = _accents(
        rng,
        rng.randint(1, 2),
        palette,
        free,
        region,
        subject_box,
        (light, shadow_offset, shadow_blur),
        short,
        margin,
        transparent,
        allowed,
    )
    masses = (
        ()
        if transparent
        else revision.masses(
            tuple(tuple(retone(c, hue_shift, light_factor) for c in row) for row in look.masses), own_palette
        )
    )
    shapes = (*behind, subject, *front)
    return Composition(
        aspect, palette, light, zone, shapes, shadow_blur, shadow_offset, masses, subject=len(behind)
    )


def _subject(kind: ShapeKind, box: Box, inner: Box, reach: Box, room: Box, colour: RGB) -> Shape:
    """The subject placed in ``inner``: with its cast shadow where that fits ``room``, else flat (a flat
    subject still fits)."""
    placed = _place(box, inner, reach, room)
    if placed is None:
        return Shape(kind, _place(box, inner) or inner, colour, lit=True)
    return Shape(kind, placed, colour, lit=True, shadow=1.0)


def _gap_to(box: Box, x: float, y: float) -> float:
    """How far (x, y) is from ``box``; 0 inside it."""
    return math.hypot(max(box[0] - x, 0.0, x - box[2]), max(box[1] - y, 0.0, y - box[3]))


def _accents(
    rng: random.Random,
    count: int,
    palette: Palette,
    free: list[Box],
    region: Box,
    subject_box: Box,
    shadow: tuple[tuple[float, float], float, float],
    short: float,
    margin: float,
    transparent: bool,
    allowed: Callable[[Box], Box],
) -> tuple[list[Shape], list[Shape]]:
    """Two to four secondary shapes (behind the subject, in front of it), spread over the free areas."""
    light, shadow_offset, shadow_blur = shadow
    behind: list[Shape] = []
    front: list[Shape] = []
    kinds: list[ShapeKind] = ["circle", "ring", "dots", "half", "bar", "circle"]
    rng.shuffle(kinds)
    subject_centre = ((subject_box[0] + subject_box[2]) / 2, (subject_box[1] + subject_box[3]) / 2)
    taken = [subject_centre]
    for i in range(count):
        skind = kinds[i]
        colour = palette.accents[i % len(palette.accents)]
        # the first accent goes to another free area when there is one, so both sides get something
        others = [r for r in free if r is not region]
        target = others[0] if i == 0 and others else rng.choice(free)
        tw, th = target[2] - target[0], target[3] - target[1]
        s = rng.uniform(0.12, 0.3) * min(tw, th) if skind != "bar" else rng.uniform(0.35, 0.6) * max(tw, th)
        if target is region and skind in ("circle", "half") and rng.random() < 0.55:
            # tucked against the subject's edge: overlapping layers read as deliberate
            ang = rng.uniform(0, 2 * math.pi)
            sx = subject_centre[0] + math.cos(ang) * ((subject_box[2] - subject_box[0]) / 2 + s * 0.1)
            sy = subject_centre[1] + math.sin(ang) * ((subject_box[3] - subject_box[1]) / 2 + s * 0.1)
        else:
            # the emptiest of a few candidate spots, so the accents spread out instead of piling up
            candidates = [
                (
                    rng.uniform(target[0] + 0.15 * tw, target[2] - 0.15 * tw),
                    rng.uniform(target[1] + 0.15 * th, target[3] - 0.15 * th),
                )
                for _ in range(6)
            ]
            sx, sy = max(candidates, key=lambda p: min(math.dist(p, q) for q in taken))
        taken.append((sx, sy))
        if skind == "bar":
            bw, bh = (s, 0.022 * short) if tw >= th else (0.022 * short, s)
            box = (sx - bw / 2, sy - bh / 2, sx + bw / 2, sy + bh / 2)
        elif skind == "dots":
            box = (sx - s * 0.6, sy - s * 0.45, sx + s * 0.6, sy + s * 0.45)
        else:
            box = (sx - s / 2, sy - s / 2, sx + s / 2, sy + s / 2)
        strength = 0.7 if skind in ("circle", "half") and rng.random() < 0.7 else 0.0
        grid, turn = (rng.randint(3, 5), rng.randint(2, 4)), rng.randrange(4)
        # accents stay on the canvas: cut off at the edge they look accidental, unlike the big backdrop
        half = margin / 2
        inside: Box = (target[0] + half, target[1] + half, target[2] - half, target[3] - half)
        area = allowed(target) if transparent else inside
        placed = (
            _place(box, area, _shadow_reach(light, shadow_offset * strength, shadow_blur))
            if strength
            else None
        )
        if placed is None:
            strength = 0.0
            placed = _place(box, area)
        if placed is None:
            continue
        shape = Shape(
            skind,
            placed,
            colour,
            lit=skind in ("circle", "half"),
            shadow=strength,
            stroke=0.018 * short,
            grid=grid,
            turn=turn,
        )
        (front if skind in ("dots", "ring", "bar") or rng.random() < 0.3 else behind).append(shape)

    return behind, front


def _place(box: Box, area: Box, reach: Box = (0, 0, 0, 0), limit: Box | None = None) -> Box | None:
    """``box`` moved (and shrunk if it must) to lie inside ``area``, with ``reach`` around it (left, top,
    right, bottom: its shadow) inside ``limit`` (default ``area``). None if there is no room at all."""
    limit = limit or area
    x0, y0 = max(area[0], limit[0] + reach[0]), max(area[1], limit[1] + reach[1])
    x1, y1 = min(area[2], limit[2] - reach[2]), min(area[3], limit[3] - reach[3])
    w, h = box[2] - box[0], box[3] - box[1]
    if x1 - x0 < 0.01 or y1 - y0 < 0.01 or w <= 0 or h <= 0:
        return None
    scale = min(1.0, (x1 - x0) / w, (y1 - y0) / h)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = w * scale, h * scale
    cx = min(max(cx, x0 + w / 2), x1 - w / 2)
    cy = min(max(cy, y0 + h / 2), y1 - h / 2)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
