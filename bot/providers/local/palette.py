"""The local renderer's colours: a palette from the prompt's colour, scene and mood words (seeded)."""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re
from dataclasses import dataclass

RGB = tuple[int, int, int]

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
WORD_RE = re.compile(r"[a-z]+")
# Words that say nothing about colour or subject, left out when hues are derived from the prompt.
_STOPWORDS = frozenset(
    WORD_RE.findall(
        "a an the and or of for to in on with at by from as is are be our my your this that it its into over "
        "draft image picture poster hero banner cover photo style like very some"
    )
)


def _hls(c: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hls(c[0] / 255, c[1] / 255, c[2] / 255)


def _from_hls(h: float, lightness: float, s: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, min(1.0, max(0.0, lightness)), min(1.0, max(0.0, s)))
    return (round(r * 255), round(g * 255), round(b * 255))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _luma(c: RGB) -> float:
    return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255


def _distance(a: RGB, b: RGB) -> float:
    """Rough perceptual distance: luminance difference counts double, as it is what reads at a glance."""
    return 2 * abs(_luma(a) - _luma(b)) + math.dist(a, b) / 441.7


# Public names for the modules that read colours from a reference image.
luma = _luma
colour_distance = _distance


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
    words = WORD_RE.findall(prompt.lower())
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
    accents = [c for c in others if c != subject] or [mix(subject, bg, 0.5)]
    rng.shuffle(accents)
    ink = (244, 242, 236) if dark else (28, 28, 30)
    # a glow must brighten: a darker accent would read as a smudge
    glow_tint = max(accents, key=_luma)
    glow = mix(
        lit, glow_tint if _luma(glow_tint) > _luma(lit) + 0.15 else (255, 255, 255), 0.3 if dark else 0.45
    )
    return Palette((lit, far), glow, subject, tuple(accents[:4]), ink, dark)


def reference_palette(
    background: RGB, subject: RGB, colours: tuple[RGB, ...], rng: random.Random
) -> tuple[Palette, float, float]:
    """A palette that is a reference image's own (its ground, its subject's colour, its other dominant
    colours), with the seed's small hue and lightness jitter. Also that jitter (hue shift, lightness
    factor), for painting the reference's colour masses in the same key."""
    hue_shift, light_factor = rng.uniform(-0.025, 0.025), rng.uniform(0.93, 1.07)

    def tone(c: RGB) -> RGB:
        return retone(c, hue_shift, light_factor)

    bg = tone(background)
    dark = _luma(bg) < 0.45
    h, lightness, s = _hls(bg)
    lit = _from_hls(h, lightness + (0.08 if dark else 0.03), s)
    far = _from_hls(h, lightness * (0.7 if dark else 0.9), s)
    subject_colour = _separate(tone(subject), bg)
    accents: list[RGB] = []
    for colour in map(tone, colours):
        distinct = all(_distance(colour, c) > 0.15 for c in [subject_colour, *accents])
        if distinct and _distance(colour, bg) > 0.3:
            accents.append(colour)
    if not accents:  # a two-colour picture: a shade between its two
        accents.append(mix(subject_colour, bg, 0.5))
    ink = (244, 242, 236) if dark else (28, 28, 30)
    glow = mix(lit, (255, 255, 255), 0.25 if dark else 0.4)
    palette = Palette((lit, far), glow, subject_colour, tuple(accents[:4]), ink, dark)
    return palette, hue_shift, light_factor


def retone(colour: RGB, hue_shift: float, light_factor: float) -> RGB:
    """``colour`` with :func:`reference_palette`'s jitter applied."""
    h, lightness, s = _hls(colour)
    return _from_hls(h + hue_shift, lightness * light_factor, s)


# --- changes asked in feedback (see :mod:`.feedback`) ----------------------------------------------------


def _clamp(value: float) -> int:
    return round(min(255.0, max(0.0, value)))


def warm(colour: RGB, amount: float) -> RGB:
    """Towards red and away from blue (``amount`` > 0), or the other way: what "warmer"/"cooler" mean."""
    r, g, b = colour
    return (_clamp(r + 30 * amount), _clamp(g + 5 * amount), _clamp(b - 30 * amount))


def brighten(colour: RGB, amount: float) -> RGB:
    """Lighter (``amount`` > 0) or darker, in HLS lightness."""
    h, lightness, s = _hls(colour)
    return _from_hls(h, lightness + 0.09 * amount, s)


def contrast(colour: RGB, amount: float, pivot: float = 0.5) -> RGB:
    """Lightness pushed away from ``pivot`` (``amount`` > 0) or towards it: lights and darks apart."""
    h, lightness, s = _hls(colour)
    return _from_hls(h, pivot + (lightness - pivot) * (1 + 0.5 * amount), s)


def lightness_of(colour: RGB) -> float:
    """HLS lightness, 0 to 1."""
    return _hls(colour)[1]


def saturate(colour: RGB, amount: float) -> RGB:
    """More vivid (``amount`` > 0) or more muted."""
    h, lightness, s = _hls(colour)
    return _from_hls(h, lightness, s * (1 + 0.35 * amount))


def hue_colour(text: str) -> RGB:
    """A clear colour whose hue is a digest of ``text``: the same text, the same colour, in any process."""
    return _from_hls(_word_hue(text), 0.55, 0.7)


def named_colours(words: list[str]) -> list[tuple[str, RGB]]:
    """The single colours ``words`` name (``"sky blue"``, ``"gold"``), with their names, in order. Scene
    words (night, ocean) carry whole palettes and are not one colour: left out."""
    found: list[tuple[str, RGB]] = []
    i = 0
    while i < len(words):
        phrase = " ".join(words[i : i + 2])
        if phrase in _COLOUR_PHRASES:
            found.append((phrase, _COLOUR_PHRASES[phrase][0]))
            i += 2
            continue
        single = _COLOUR_WORDS.get(words[i], ())
        if len(single) == 1:
            found.append((words[i], single[0]))
        i += 1
    return found
