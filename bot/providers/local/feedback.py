"""Change requests as the local renderer answers them. It draws rather than edits, so each request in
``GenerationRequest.feedback`` becomes a visible, deterministic change to the same composition.

Words it knows shift colours (warmer, cooler, brighter, darker, more contrast, vivid, muted, a named
colour) or scale the subject (larger, smaller), a little or a lot as the request says. Anything else still
shows, modestly: the accents take a colour derived from the words. "Keep …" asks for no change. The layout
(where the subject and the headline-safe zone sit) never moves, so a revision reads as the same picture.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Final, Literal

from bot.providers.base import quoted
from bot.providers.local.palette import (
    RGB,
    WORD_RE,
    Palette,
    brighten,
    contrast,
    hue_colour,
    lightness_of,
    mix,
    named_colours,
    saturate,
    warm,
)

Kind = Literal["warmth", "brightness", "contrast", "saturation", "tint", "scale"]
Role = Literal["background", "glow", "subject", "accents"]  # "glow": the light on the background
EVERYTHING: Final[frozenset[Role]] = frozenset({"background", "glow", "subject", "accents"})
SUBJECT: Final[frozenset[Role]] = frozenset({"subject"})
BACKGROUND: Final[frozenset[Role]] = frozenset({"background", "glow"})
ACCENTS: Final[frozenset[Role]] = frozenset({"accents"})
# A request the renderer cannot draw: the accents most of the way to its colour, the light a little.
_DERIVED_ACCENTS, _DERIVED_GLOW = 1.8, 0.8

# One step of "larger" (a little: half a step, a lot: 1.6 steps).
SCALE_STEP: Final = 1.25
TINT_SHARE: Final = 0.35  # how far one step of a named or derived colour moves a colour towards it

_WORDS: Final[dict[str, tuple[Kind, float]]] = {
    **dict.fromkeys(("warmer", "warm", "warmth", "hotter", "sunnier"), ("warmth", 1.0)),
    **dict.fromkeys(("cooler", "cool", "colder", "cold", "chillier"), ("warmth", -1.0)),
    **dict.fromkeys(("brighter", "lighter", "brighten", "lighten", "bright", "airier"), ("brightness", 1.0)),
    **dict.fromkeys(("darker", "darken", "dimmer", "dim", "dark", "moodier", "deeper"), ("brightness", -1.0)),
    **dict.fromkeys(("contrast", "punchier", "crisper"), ("contrast", 1.0)),
    **dict.fromkeys(("flatter", "softer"), ("contrast", -1.0)),
    **dict.fromkeys(
        ("vivid", "vibrant", "saturated", "richer", "bolder", "colourful", "colorful"), ("saturation", 1.0)
    ),
    **dict.fromkeys(
        ("muted", "desaturated", "duller", "subdued", "subtler", "washed", "greyer", "grayer"),
        ("saturation", -1.0),
    ),
    **dict.fromkeys(("larger", "bigger", "enlarge", "grow", "big", "large", "huge"), ("scale", 1.0)),
    **dict.fromkeys(("smaller", "shrink", "small", "tiny", "tinier"), ("scale", -1.0)),
}
_ADJECTIVES: Final[dict[tuple[Kind, bool], str]] = {
    ("warmth", True): "warmer",
    ("warmth", False): "cooler",
    ("brightness", True): "brighter",
    ("brightness", False): "darker",
    ("contrast", True): "more contrast",
    ("contrast", False): "less contrast",
    ("saturation", True): "more vivid",
    ("saturation", False): "more muted",
    ("scale", True): "larger",
    ("scale", False): "smaller",
}
_INVERT: Final = frozenset({"less", "lower", "reduce", "not", "fewer"})
_GENTLE: Final = frozenset({"slightly", "little", "bit", "touch", "subtly", "somewhat", "tad", "hint"})
_STRONG: Final = frozenset(
    {"much", "lot", "lots", "way", "very", "really", "far", "significantly", "considerably"}
)
_BACKGROUND: Final = frozenset({"background", "backdrop", "bg", "backgrounds", "wall", "sky", "setting"})
_ACCENTS: Final = frozenset({"accent", "accents", "shapes", "dots", "details", "decoration"})
_CLAUSES: Final = re.compile(r"[,;.!?\n]+|\b(?:and|but|then|also|plus)\b")
_KEEP: Final = re.compile(r"^\s*(?:please\s+)?(?:keep|leave|retain|preserve|don'?t|do not|no need)\b")


@dataclass(frozen=True)
class Change:
    """One visible change: ``kind`` by ``amount`` steps (negative: the other way) on the colours of
    ``roles``; ``tint`` is the colour a "tint" moves towards. ``note`` says it for the audit trail."""

    kind: Kind
    roles: frozenset[Role]
    amount: float
    note: str
    tint: RGB = (0, 0, 0)

    def recolour(self, colour: RGB, pivot: float) -> RGB:
        """``colour`` changed; ``pivot`` is the lightness contrast pushes lights and darks away from."""
        if self.kind == "warmth":
            return warm(colour, self.amount)
        if self.kind == "brightness":
            return brighten(colour, self.amount)
        if self.kind == "contrast":
            return contrast(colour, self.amount, pivot)
        if self.kind == "saturation":
            return saturate(colour, self.amount)
        if self.kind == "tint":
            return mix(colour, self.tint, min(1.0, TINT_SHARE * self.amount))
        return colour


@dataclass(frozen=True)
class Revision:
    """Every change the feedback asks, in the order asked."""

    changes: tuple[Change, ...] = ()

    @property
    def scale(self) -> float:
        """How much larger the subject is to be (below 1: smaller)."""
        steps = sum(change.amount for change in self.changes if change.kind == "scale")
        return float(SCALE_STEP**steps)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(change.note for change in self.changes if change.note)

    def recolour(self, colour: RGB, role: Role, pivot: float = 0.5) -> RGB:
        for change in self.changes:
            if role in change.roles:
                colour = change.recolour(colour, pivot)
        return colour

    def palette(self, palette: Palette) -> Palette:
        """``palette`` with every colour change applied to the colours of its role."""
        if not any(change.kind != "scale" for change in self.changes):
            return palette
        lit, far = palette.background
        pivot = _pivot(palette)
        return replace(
            palette,
            background=(self.recolour(lit, "background", pivot), self.recolour(far, "background", pivot)),
            glow=self.recolour(palette.glow, "glow", pivot),
            subject=self.recolour(palette.subject, "subject", pivot),
            accents=tuple(self.recolour(c, "accents", pivot) for c in palette.accents),
        )

    def masses(self, masses: tuple[tuple[RGB, ...], ...], palette: Palette) -> tuple[tuple[RGB, ...], ...]:
        """A reference's background colour masses with the background's changes applied, as they are to
        the background of ``palette`` (the palette before the changes)."""
        pivot = _pivot(palette)
        return tuple(tuple(self.recolour(c, "background", pivot) for c in row) for row in masses)


def _pivot(palette: Palette) -> float:
    """Between the ground and the subject: more contrast moves them apart, whichever is the lighter."""
    return (lightness_of(palette.background[0]) + lightness_of(palette.subject)) / 2


def read_feedback(feedback: tuple[str, ...]) -> Revision:
    """The changes every text in ``feedback`` asks, in order. A text asking nothing the renderer knows
    still changes the accents' colour (derived from its words), so every round of feedback shows."""
    changes: list[Change] = []
    for text in feedback:
        if not text.strip():
            continue
        asked: list[Change] = []
        for clause in _CLAUSES.split(text.lower()):
            if clause.strip() and not _KEEP.match(clause):
                asked.extend(_clause_changes(clause))
        changes.extend(asked or _derived(text))
    return Revision(tuple(changes))


def _clause_changes(clause: str) -> list[Change]:
    words = WORD_RE.findall(clause)
    if not words:
        return []
    present = set(words)
    sign = -1.0 if present & _INVERT else 1.0
    strength = 0.5 if present & _GENTLE else 1.6 if present & _STRONG else 1.0
    roles, target = _roles(present)
    changes: list[Change] = []
    seen: set[Kind] = set()
    for word in words:
        if word not in _WORDS or _WORDS[word][0] in seen:
            continue
        kind, direction = _WORDS[word]
        seen.add(kind)
        amount = sign * direction * strength
        adjective = _ADJECTIVES[(kind, amount > 0)]
        if kind == "scale":
            changes.append(Change(kind, SUBJECT, amount, f"subject {adjective} per feedback"))
        elif kind == "contrast":
            changes.append(Change(kind, roles, amount, f"{adjective} in the {target} per feedback"))
        else:
            changes.append(Change(kind, roles, amount, f"{adjective} {target} per feedback"))
    if roles == EVERYTHING:  # "a gold bottle": a named colour with no place is the subject's
        roles, target = SUBJECT, "subject"
    for name, colour in named_colours(words):
        changes.append(Change("tint", roles, strength, f"{target} tinted {name} per feedback", colour))
    if not changes and any(len(word) > 2 for word in words):
        changes.extend(_derived(clause))
    return changes


def _roles(words: set[str]) -> tuple[frozenset[Role], str]:
    """Which colours a clause is about, and what to call them in a note."""
    if words & _BACKGROUND:
        return BACKGROUND, "background"
    if words & _ACCENTS:
        return ACCENTS, "accents"
    return EVERYTHING, "picture"


def _derived(text: str) -> list[Change]:
    """A change in a colour derived from ``text``: so a request the renderer cannot draw still shows."""
    said = " ".join(text.split())
    colour = hue_colour(said.lower())
    note = (
        f"accents and light recoloured for {quoted(said)}: the local renderer cannot draw that request, "
        "so it marks the round with a colour"
    )
    return [
        Change("tint", ACCENTS, _DERIVED_ACCENTS, note, colour),
        Change("tint", frozenset({"glow"}), _DERIVED_GLOW, "", colour),
    ]


def scale_note(asked: float, achieved: float) -> str | None:
    """Said when the subject could not take the size asked (it keeps out of the headline-safe zone)."""
    if abs(math.log(achieved / asked)) < 0.02:
        return None
    return f"the subject is ×{achieved:.2f} its size, not the ×{asked:.2f} asked: it fills its free area"
