"""The offline default provider: an abstract poster-style layout draft drawn with Pillow.

It is not a generative model and never claims to be one. It gives a team something concrete to vote on
(palette from the prompt, a bold subject shape, the headline-safe zone kept clear) with no network and no
cost, and it is deterministic: the same prompt and seed give the same composition at 1K, 2K and 4K, so
upgrading a winner redraws it sharper rather than differently.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io
import itertools
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bot.destinations import SafeZone
from bot.providers.base import GeneratedImage, GenerationRequest, ImageProvider, Unavailable
from bot.tiers import Ratio, Size, Tier, local_size

if TYPE_CHECKING:
    from bot.imaging import ImagingPool

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1

# Renders are capped so a bad request cannot allocate gigabytes (4K 1:1 is 16.8 MP).
MAX_RENDER_PIXELS = 40_000_000
MIN_RENDER_SIDE = 16

# --- palette ----------------------------------------------------------------------------------------

_COLOUR_WORDS: dict[str, tuple[RGB, ...]] = {
    "red": ((205, 42, 48),),
    "crimson": ((170, 22, 48),),
    "scarlet": ((222, 45, 38),),
    "orange": ((243, 120, 32),),
    "amber": ((245, 166, 35),),
    "yellow": ((247, 200, 60),),
    "mustard": ((214, 168, 40),),
    "gold": ((212, 170, 64),),
    "golden": ((212, 170, 64),),
    "black": ((20, 20, 22),),
    "white": ((246, 245, 241),),
    "cream": ((242, 232, 210),),
    "ivory": ((245, 240, 225),),
    "beige": ((226, 210, 184),),
    "sand": ((220, 196, 160),),
    "brown": ((120, 80, 52),),
    "coffee": ((92, 62, 44),),
    "chocolate": ((84, 52, 36),),
    "tan": ((196, 154, 108),),
    "grey": ((128, 130, 134),),
    "gray": ((128, 130, 134),),
    "charcoal": ((52, 54, 58),),
    "silver": ((196, 198, 204),),
    "chrome": ((210, 214, 222),),
    "teal": ((0, 128, 128),),
    "turquoise": ((40, 190, 180),),
    "cyan": ((30, 200, 220),),
    "aqua": ((80, 210, 210),),
    "mint": ((160, 226, 190),),
    "blue": ((38, 92, 220),),
    "navy": ((22, 34, 76),),
    "cobalt": ((0, 71, 171),),
    "sky": ((130, 190, 240),),
    "green": ((46, 140, 84),),
    "emerald": ((20, 140, 100),),
    "olive": ((110, 116, 50),),
    "sage": ((160, 180, 150),),
    "lime": ((170, 220, 50),),
    "purple": ((120, 60, 200),),
    "violet": ((130, 80, 220),),
    "lilac": ((196, 164, 230),),
    "lavender": ((190, 176, 230),),
    "plum": ((110, 40, 90),),
    "pink": ((236, 92, 150),),
    "magenta": ((210, 30, 150),),
    "fuchsia": ((220, 40, 170),),
    "rose": ((230, 120, 140),),
    "coral": ((250, 120, 100),),
    "peach": ((250, 190, 150),),
    "burgundy": ((110, 20, 40),),
    "maroon": ((110, 28, 36),),
    "copper": ((184, 110, 60),),
    "bronze": ((176, 124, 62),),
    # scene words carry a whole palette
    "night": ((14, 20, 44), (44, 58, 112), (232, 206, 128)),
    "midnight": ((10, 14, 36), (36, 44, 96), (200, 210, 240)),
    "sunset": ((250, 96, 70), (252, 170, 60), (120, 44, 110)),
    "sunrise": ((252, 180, 110), (246, 120, 110), (120, 150, 210)),
    "ocean": ((8, 58, 104), (0, 150, 170), (176, 226, 232)),
    "sea": ((12, 80, 120), (40, 170, 180), (210, 236, 236)),
    "forest": ((22, 62, 38), (70, 118, 64), (196, 176, 116)),
    "desert": ((214, 160, 104), (170, 90, 50), (244, 222, 180)),
    "autumn": ((176, 70, 30), (220, 140, 40), (90, 50, 30)),
    "winter": ((220, 232, 242), (120, 150, 190), (40, 56, 90)),
    "ice": ((214, 236, 246), (140, 190, 220), (60, 100, 150)),
    "fire": ((230, 60, 20), (250, 170, 30), (60, 12, 10)),
    "candy": ((250, 150, 200), (140, 210, 250), (250, 230, 120)),
    "earth": ((120, 86, 56), (170, 140, 96), (80, 100, 60)),
    "space": ((8, 8, 20), (70, 40, 130), (220, 220, 240)),
    "cyberpunk": ((16, 10, 40), (250, 40, 170), (30, 230, 240)),
    "retro": ((236, 190, 120), (220, 90, 50), (40, 110, 120)),
    "summer": ((252, 196, 64), (244, 106, 60), (40, 170, 190)),
    "spring": ((170, 220, 140), (250, 180, 200), (250, 240, 200)),
    "tropical": ((20, 160, 120), (250, 130, 70), (250, 210, 80)),
    "neon": ((250, 40, 170), (40, 240, 250)),
}
# Two-word colours, checked before the single words they contain.
_COLOUR_PHRASES: dict[str, tuple[RGB, ...]] = {
    "matte black": ((34, 34, 36),),
    "jet black": ((10, 10, 12),),
    "off white": ((240, 236, 226),),
    "navy blue": ((22, 34, 76),),
    "sky blue": ((130, 190, 240),),
    "baby blue": ((170, 210, 240),),
    "royal blue": ((40, 70, 200),),
    "electric blue": ((30, 110, 255),),
    "hot pink": ((250, 40, 140),),
    "dusty pink": ((214, 160, 160),),
    "forest green": ((34, 90, 52),),
    "dark green": ((20, 80, 44),),
    "rose gold": ((222, 160, 140),),
    "deep purple": ((70, 30, 120),),
}
# Mood words: how they bend every colour, and how likely a dark background becomes.
_DARK_WORDS = frozenset({"night", "midnight", "neon", "dark", "moody", "noir", "space", "cyberpunk", "black"})
_LIGHT_WORDS = frozenset({"pastel", "white", "cream", "light", "airy", "soft", "ivory", "minimal", "clean"})
_WORD_RE = re.compile(r"[a-z]+")
# Words that say nothing about colour or subject, left out when hues are derived from the prompt.
_STOPWORDS = frozenset(
    _WORD_RE.findall(
        "a an the and or of for to in on with at by from as is are be our my your this that it its into over "
        "draft image picture poster hero banner cover photo style like very some"
    )
)


def _hls(c: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hls(c[0] / 255, c[1] / 255, c[2] / 255)


def _from_hls(h: float, lightness: float, s: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, min(1.0, max(0.0, lightness)), min(1.0, max(0.0, s)))
    return (round(r * 255), round(g * 255), round(b * 255))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _luma(c: RGB) -> float:
    return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255


def _distance(a: RGB, b: RGB) -> float:
    """Rough perceptual distance: luminance difference counts double, as it is what reads at a glance."""
    return 2 * abs(_luma(a) - _luma(b)) + math.dist(a, b) / 441.7


def _word_hue(word: str) -> float:
    return int.from_bytes(hashlib.sha256(word.encode()).digest()[:2], "big") / 65536


@dataclass(frozen=True)
class Palette:
    background: tuple[RGB, RGB]  # gradient: the lit side, the far side
    glow: RGB
    subject: RGB
    accents: tuple[RGB, ...]
    ink: RGB  # text and outlines
    dark: bool


def _prompt_colours(words: list[str]) -> list[RGB]:
    found: list[RGB] = []
    i = 0
    while i < len(words):
        phrase = " ".join(words[i : i + 2])
        if phrase in _COLOUR_PHRASES:
            found.extend(_COLOUR_PHRASES[phrase])
            i += 2
            continue
        found.extend(_COLOUR_WORDS.get(words[i], ()))
        i += 1
    unique: list[RGB] = []
    for colour in found:
        if all(_distance(colour, seen) > 0.08 for seen in unique):
            unique.append(colour)
    return unique


def _bend(colour: RGB, words: set[str]) -> RGB:
    h, lightness, s = _hls(colour)
    if "pastel" in words:
        lightness, s = 0.72 + 0.18 * lightness, s * 0.65
    if "neon" in words and s > 0.15:
        lightness, s = 0.55, 1.0
    if words & {"muted", "matte", "dusty", "faded", "vintage"}:
        s *= 0.6
    if words & {"vivid", "bright", "bold", "saturated"}:
        s = min(1.0, s * 1.25)
    if words & {"dark", "moody", "noir"}:
        lightness *= 0.7
    return _from_hls(h, lightness, s)


def _separate(colour: RGB, bg: RGB) -> RGB:
    h, lightness, s = _hls(colour)
    step = 0.05 if _luma(bg) < 0.5 else -0.05
    for _ in range(8):
        if _distance(colour, bg) > 0.3:
            break
        lightness += step
        colour = _from_hls(h, lightness, s)
    return colour


def build_palette(prompt: str, rng: random.Random) -> Palette:
    """Colours named in the prompt first; hues derived from its words when it names none."""
    words = _WORD_RE.findall(prompt.lower())
    word_set = set(words)
    named = [_bend(c, word_set) for c in _prompt_colours(words)]
    content = sorted({w for w in words if w not in _STOPWORDS and len(w) > 2})
    base_hue = _word_hue(" ".join(content) or prompt or "draftbot")

    colours = list(named)
    if not colours:  # a scheme from the prompt's words: analogous, complementary or triadic
        scheme = int(base_hue * 3000) % 3
        offsets = ((0.0, 0.08, -0.08), (0.0, 0.5, 0.06), (0.0, 1 / 3, 2 / 3))[scheme]
        colours = [
            _bend(_from_hls(base_hue + o, 0.5 + 0.08 * k, 0.62), word_set) for k, o in enumerate(offsets)
        ]
    if len(named) == 1:  # one colour asked: keep it the star, add its own tint and an analogous hue
        h, lightness, s = _hls(named[0])
        if s > 0.15:
            colours.append(_from_hls(h + 0.07, min(0.75, lightness + 0.12), s * 0.8))
        colours.append(_from_hls(h, 0.85 if lightness < 0.5 else 0.2, min(s, 0.35)))
    # neutrals, tinted by the dominant hue, so a background and ink always exist
    tint = _hls(max(colours, key=lambda c: _hls(c)[2]))[0]  # black has no hue worth tinting with
    light_neutral = _from_hls(tint, 0.93, 0.22)
    dark_neutral = _from_hls(tint, 0.08, 0.18)

    # seed variation: a small hue and lightness jitter, so two seeds of one prompt differ but stay on brief
    jitter = rng.uniform(-0.02, 0.02)
    colours = [
        _from_hls(h + jitter, lightness * rng.uniform(0.94, 1.06), s)
        for h, lightness, s in map(_hls, colours)
    ]

    p_dark = 0.5
    if word_set & _DARK_WORDS:
        p_dark = 0.85
    elif word_set & _LIGHT_WORDS:
        p_dark = 0.15
    style = rng.random()
    saturated = max(colours, key=lambda c: _hls(c)[2])
    if style < 0.22 and _hls(saturated)[2] > 0.35:  # a bold poster: the strongest colour is the ground
        bg = saturated
    elif rng.random() < p_dark:
        bg = min([*colours, dark_neutral], key=_luma)
        h, lightness, s = _hls(bg)
        bg = _from_hls(h, min(lightness, 0.16), s)
    else:
        bg = max([*colours, light_neutral], key=_luma)
        h, lightness, s = _hls(bg)
        bg = _from_hls(h, max(lightness, 0.86), min(s, 0.45))
    dark = _luma(bg) < 0.45
    h, lightness, s = _hls(bg)
    far = _from_hls(h + rng.uniform(-0.04, 0.04), lightness * (0.55 if dark else 0.9), s * 1.1)
    lit = _from_hls(h, lightness + (0.1 if dark else 0.04), s)

    # a prompt colour too close to the ground is deepened (or lifted) until it stands out, rather than
    # dropped: a deeper shade of the brief beats an off-brief neutral
    colours = [_separate(c, bg) for c in colours]
    others = [c for c in [*colours, light_neutral, dark_neutral] if _distance(c, bg) > 0.3]
    if not others:
        others = [light_neutral if dark else dark_neutral]
    # the subject carries the brief: the prompt's own colours first, the neutrals we added only if none
    # of them stands out from the ground (pastel on pastel is fine: it is what was asked for)
    ranked = sorted(others, key=lambda c: (c not in colours, -(_distance(c, bg) + _hls(c)[2])))
    own = [c for c in ranked if c in colours] or ranked
    subject = own[rng.randrange(min(2, len(own)))]
    accents = [c for c in others if c != subject] or [_mix(subject, bg, 0.5)]
    rng.shuffle(accents)
    ink = (244, 242, 236) if dark else (28, 28, 30)
    # a glow must brighten: a darker accent would read as a smudge
    glow_tint = max(accents, key=_luma)
    glow = _mix(
        lit, glow_tint if _luma(glow_tint) > _luma(lit) + 0.15 else (255, 255, 255), 0.3 if dark else 0.45
    )
    return Palette((lit, far), glow, subject, tuple(accents[:4]), ink, dark)


# --- composition (resolution-free: units where the canvas is aspect × 1) ----------------------------

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


def compose(prompt: str, seed: int, aspect: float, safe_zone: SafeZone, transparent: bool) -> Composition:
    """Every random choice of a render, made once in resolution-free units (the canvas is aspect × 1)."""
    digest = hashlib.sha256(f"draftbot-local-1\x00{prompt}\x00{seed}".encode()).digest()
    rng = random.Random(int.from_bytes(digest, "big"))  # never hash(): it is salted per process
    palette = build_palette(prompt, rng)
    words = set(_WORD_RE.findall(prompt.lower()))

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

    # Shapes may bleed off the canvas but never into the zone: the allowed area is the free region with
    # its canvas-edge sides pushed far out. Transparent cut-outs stay inside the canvas, with a margin.
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

    shapes: list[Shape] = []
    quiet = _mix(palette.background[0], palette.glow, rng.uniform(0.4, 0.7))
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
    inner = (region[0] + margin, region[1] + margin, region[2] - margin, region[3] - margin)
    cx = region[0] + rw * rng.choice((0.38, 0.5, 0.62)) + rng.uniform(-0.06, 0.06) * rw
    cy = region[1] + rh * rng.choice((0.42, 0.5, 0.58)) + rng.uniform(-0.06, 0.06) * rh
    reach = _shadow_reach(light, shadow_offset, shadow_blur)
    subject_box = _place((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), inner, reach, allowed(region))
    if subject_box is None:  # no room for a shadow: a flat subject still fits
        subject_box = _place((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), inner) or inner
        subject = Shape(kind, subject_box, palette.subject, lit=True)
    else:
        subject = Shape(kind, subject_box, palette.subject, lit=True, shadow=1.0)

    # secondary shapes: two to four, some behind the subject, some in front
    count = 2 if words & {"minimal", "minimalist", "clean", "simple"} else rng.randint(2, 4)
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

    shapes.extend(behind)
    shapes.append(subject)
    shapes.extend(front)
    return Composition(aspect, palette, light, zone, tuple(shapes), shadow_blur, shadow_offset)


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


# --- painting ---------------------------------------------------------------------------------------


def render(
    prompt: str,
    seed: int,
    size: Size,
    *,
    safe_zone: SafeZone = SafeZone.TOP,
    transparent: bool = False,
) -> Image.Image:
    """Draw the draft for ``prompt``/``seed`` at exactly ``size``: RGB, or RGBA when ``transparent``."""
    if min(size.width, size.height) < MIN_RENDER_SIDE or size.pixels > MAX_RENDER_PIXELS:
        raise ValueError(f"cannot render at {size}")
    comp = compose(prompt, seed, size.width / size.height, safe_zone, transparent)
    return _Painter(comp, size, transparent).paint(seed)


class _Painter:
    def __init__(self, comp: Composition, size: Size, transparent: bool) -> None:
        self.comp = comp
        self.size = size
        self.transparent = transparent
        self.unit = size.height  # pixels per unit
        # text and outlines scale with the area, so a 21:9 strip gets readable type, a 9:16 none too big
        self.text_unit = math.sqrt(size.pixels)
        # ImageDraw does not anti-alias; draw masks larger and reduce. Fewer samples as pixels get smaller.
        long_edge = max(size.width, size.height)
        self.ss = 4 if long_edge <= 1200 else 3 if long_edge <= 2400 else 2
        self.canvas: Image.Image
        if transparent:
            self.canvas = Image.new("RGBA", (size.width, size.height), (0, 0, 0, 0))
        else:
            self.canvas = self._background()

    def paint(self, seed: int) -> Image.Image:
        for shape in self.comp.shapes:
            if shape.shadow > 0:
                self._shadow(shape)
            self._shape(shape)
        if not self.transparent:
            if self.comp.zone is not None:
                self._zone_marker(self.comp.zone)
            self._draft_mark(seed)
        return self.canvas

    # Colour fields are computed on a tiny grid (a few thousand pixels, so plain Python is fine) and
    # resized up: smooth at any size, and the same picture at every tier.
    def _field(self, w: int, h: int, colour: Callable[[float, float], RGB]) -> Image.Image:
        img = Image.new("RGB", (w, h))
        img.putdata([colour((x + 0.5) / w, (y + 0.5) / h) for y in range(h) for x in range(w)])
        return img

    def _background(self) -> Image.Image:
        comp = self.comp
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
            base = _mix(far, lit, min(1.0, max(0.0, 0.5 + 0.5 * t)))
            glow = max(0.0, 1 - math.hypot(x - sx, y - sy) / (reach * 0.6)) ** 2
            return _mix(base, comp.palette.glow, 0.55 * glow)

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
        lit = _mix(shape.colour, (255, 255, 255), 0.22)
        dark = _mix(shape.colour, (0, 0, 0), 0.3)
        # the gradient spans the shape's own box, also where part of it is off canvas
        bx0, by0, bx1, by1 = rel
        bw, bh = max(1e-6, bx1 - bx0), max(1e-6, by1 - by0)

        def colour(u: float, v: float) -> RGB:
            x = (u * w - bx0) / bw - 0.5
            y = (v * h - by0) / bh - 0.5
            t = max(-1.0, min(1.0, (x * lx + y * ly) * 1.6))
            return _mix(shape.colour, lit, t) if t > 0 else _mix(shape.colour, dark, -t)

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
        shade = _mix(comp.palette.background[1], (0, 0, 0), 0.75)
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

    def _font(self, size_units: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return ImageFont.load_default(size=max(8, round(size_units * self.text_unit)))

    def _zone_marker(self, zone: Box) -> None:
        """A thin dashed outline and a tiny label: the space the headline will take."""
        inset = 0.035 * min(self.comp.aspect, 1.0)
        a = self.comp.aspect
        x0 = zone[0] + inset if zone[0] <= 0 else zone[0]
        y0 = zone[1] + inset if zone[1] <= 0 else zone[1]
        x1 = zone[2] - inset if zone[2] >= a else zone[2]
        y1 = zone[3] - inset if zone[3] >= 1 else zone[3]
        if zone[1] > 0 and zone[3] < 1 and zone[0] > 0:  # centre zone: inset on all sides
            x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
        px = self._px((x0, y0, x1, y1))
        ink = self.comp.palette.ink
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        width = max(1, round(0.0016 * self.text_unit))
        dash, gap = 0.014 * self.text_unit, 0.01 * self.text_unit
        colour = (*ink, 110)
        corners = [(px[0], px[1]), (px[2], px[1]), (px[2], px[3]), (px[0], px[3]), (px[0], px[1])]
        for (ax, ay), (bx, by) in itertools.pairwise(corners):
            length = math.hypot(bx - ax, by - ay)
            steps = max(1, round(length / (dash + gap)))
            step = length / steps  # whole dashes per side, so the corners look the same
            for i in range(steps):
                t0, t1 = i * step / length, (i * step + step * dash / (dash + gap)) / length
                draw.line(
                    (ax + (bx - ax) * t0, ay + (by - ay) * t0, ax + (bx - ax) * t1, ay + (by - ay) * t1),
                    fill=colour,
                    width=width,
                )
        font = self._font(0.018)
        pad = 0.014 * self.text_unit
        draw.text((px[0] + pad, px[1] + pad), "headline-safe", font=font, fill=(*ink, 140))

    def _draft_mark(self, seed: int) -> None:
        """An honest corner label: what this is and how to redraw it."""
        text = f"draftbot · draft preview · seed {seed}"
        font = self._font(0.017)
        draw = ImageDraw.Draw(self.canvas, "RGBA")
        m = 0.022 * self.text_unit
        zone = self.comp.zone
        at_top = zone is not None and zone[3] >= 1 and zone[1] > 0  # a bottom zone: the mark goes on top
        x = self.size.width - m
        y = m if at_top else self.size.height - m
        anchor = "rt" if at_top else "rb"
        draw.text((x, y), text, font=font, fill=(*self.comp.palette.ink, 150), anchor=anchor)


def render_bytes(
    prompt: str, seed: int, size: Size, *, safe_zone: SafeZone = SafeZone.TOP, transparent: bool = False
) -> bytes:
    """:func:`render`, encoded fast and near-lossless: PNG when transparent, else JPEG at quality 95."""
    img = render(prompt, seed, size, safe_zone=safe_zone, transparent=transparent)
    buf = io.BytesIO()
    if transparent:
        img.save(buf, "PNG", compress_level=3)  # callers re-encode; speed matters more than bytes here
    else:
        img.save(buf, "JPEG", quality=95, subsampling=0)
    return buf.getvalue()


class LocalProvider:
    """The offline :class:`~bot.providers.base.ImageProvider`: free, deterministic abstract drafts."""

    name = "local"
    model = "draftbot-local-1"

    def __init__(self, pool: ImagingPool | None = None) -> None:
        self._pool = pool

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return local_size(ratio, tier)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        args = (request.prompt, request.seed, request.size)
        zone, transparent = request.safe_zone, request.transparent
        try:
            if self._pool is not None:
                data = await self._pool.run(render_bytes, *args, safe_zone=zone, transparent=transparent)
            else:
                data = await asyncio.to_thread(render_bytes, *args, safe_zone=zone, transparent=transparent)
        except MemoryError:  # a busy machine, not a bad request: worth another try later
            raise Unavailable("not enough memory to draw the draft right now", provider=self.name) from None
        notes = ["an abstract layout draft by the offline local renderer, not a generative model"]
        if request.references:
            notes.append(
                "redrawn from the same prompt and seed (the local renderer needs no reference image)"
            )
        return GeneratedImage(
            data=data,
            provider=self.name,
            model=self.model,
            cost_estimate_usd=0.0,
            notes=tuple(notes),
        )

    async def aclose(self) -> None:
        return None


if TYPE_CHECKING:
    _protocol_check: ImageProvider = LocalProvider()
