"""Where an image will be published decides its shape: destination before ratio before resolution."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import UnknownDestinationError
from bot.tiers import Ratio


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"  # only where transparency is asked for

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is ImageFormat.JPEG else "png"


SCREEN_DPI = 72  # what a screen destination's files say; screens ignore it, a layout tool reads it
PRINT_DPI = 300  # print and poster finals: 4K at 300 dpi is a 13.7 in long edge


class SafeZone(StrEnum):
    """Where the layout keeps space free for a headline added later (long copy renders badly)."""

    TOP = "top"
    BOTTOM = "bottom"
    LEFT = "left"
    CENTER = "center"
    NONE = "none"


@dataclass(frozen=True)
class Destination:
    key: str
    name: str
    ratio: Ratio
    why: str
    synonyms: tuple[str, ...] = ()
    format: ImageFormat = ImageFormat.JPEG
    safe_zone: SafeZone = SafeZone.TOP
    dpi: int = SCREEN_DPI  # written into the files (with their sRGB profile)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


def _d(key: str, name: str, ratio: str, why: str, *synonyms: str, **kw: object) -> Destination:
    return Destination(key, name, Ratio.parse(ratio), why, synonyms, **kw)  # type: ignore[arg-type]


CATALOG: tuple[Destination, ...] = (
    _d(
        "mobile-cover",
        "mobile cover",
        "9:16",
        "fills a phone screen; keeps the top clear for a title",
        "phone cover",
        "mobile",
        "vertical cover",
        "phone wallpaper",
        "mobile wallpaper",
    ),
    _d(
        "story",
        "story",
        "9:16",
        "full-screen vertical for stories and reels, with room for captions",
        "reel",
        "reels",
        "instagram story",
        "tiktok",
        "shorts",
        "vertical video",
        "video cover",
        safe_zone=SafeZone.BOTTOM,
    ),
    _d(
        "website-hero",
        "wide website hero",
        "16:9",
        "wide landing-page hero; the left side carries the copy",
        "website hero",
        "hero",
        "web hero",
        "landing page",
        "landing hero",
        "hero image",
        "homepage hero",
        safe_zone=SafeZone.LEFT,
    ),
    _d(
        "banner",
        "banner",
        "16:9",
        "wide header or banner across a page or channel",
        "web banner",
        "header",
        "wide banner",
        "site header",
        "cover banner",
    ),
    _d(
        "slide",
        "presentation slide",
        "16:9",
        "matches 16:9 decks, with space for the slide title",
        "slide",
        "presentation",
        "deck",
        "pitch slide",
        "pitch deck",
        "keynote",
        "slides",
    ),
    _d(
        "thumbnail",
        "thumbnail",
        "16:9",
        "video thumbnails are 16:9 and read at small sizes",
        "video thumbnail",
        "youtube thumbnail",
        "youtube",
        "thumb",
        safe_zone=SafeZone.LEFT,
    ),
    _d(
        "product-card",
        "square product card",
        "1:1",
        "square tiles in shops and catalogues",
        "product card",
        "product tile",
        "shop tile",
        "catalog card",
        "catalogue card",
        "product shot",
        safe_zone=SafeZone.BOTTOM,
    ),
    _d(
        "feed-post",
        "feed post",
        "1:1",
        "square posts show whole in every feed",
        "square post",
        "instagram post",
        "social post",
        "square",
        "post",
        "linkedin post",
    ),
    _d(
        "portrait",
        "portrait",
        "4:5",
        "the tallest shape feeds show without cropping",
        "portrait post",
        "instagram portrait",
        "people photo",
        "headshot",
    ),
    _d(
        "editorial",
        "editorial",
        "3:4",
        "classic magazine and article proportions",
        "magazine",
        "article",
        "blog image",
        "editorial image",
        "magazine cover",
    ),
    _d(
        "product-board",
        "product board",
        "4:3",
        "boards and mood boards read well in 4:3",
        "board",
        "mood board",
        "moodboard",
        "concept board",
        "ui board",
    ),
    _d(
        "poster",
        "poster",
        "2:3",
        "standard poster proportions with a headline band",
        "event poster",
        "movie poster",
        "campaign poster",
        "flyer",
        "pin",
        "pinterest pin",
        dpi=PRINT_DPI,
    ),
    _d(
        "print",
        "print",
        "4:5",
        "8×10 in prints and frames; finish at 4K",
        "photo print",
        "framed print",
        "wall art",
        "art print",
        dpi=PRINT_DPI,
    ),
    _d(
        "ultrawide",
        "ultrawide",
        "21:9",
        "cinematic strips and ultrawide screens",
        "cinematic",
        "ultrawide banner",
        "panorama",
        "widescreen",
        safe_zone=SafeZone.CENTER,
    ),
    _d(
        "landscape-photo",
        "landscape photo",
        "3:2",
        "the camera's own landscape shape",
        "photo",
        "landscape",
        "blog header",
        "email header",
        safe_zone=SafeZone.NONE,
    ),
    _d(
        "desktop-wallpaper",
        "desktop wallpaper",
        "16:9",
        "fills most laptop and monitor screens",
        "wallpaper",
        "desktop background",
        "zoom background",
        "video call background",
        safe_zone=SafeZone.NONE,
    ),
    _d(
        "avatar",
        "avatar",
        "1:1",
        "profile pictures and app icons are square",
        "profile picture",
        "profile photo",
        "app icon",
        "icon",
        "logo",
        safe_zone=SafeZone.NONE,
    ),
    _d(
        "sticker",
        "sticker",
        "1:1",
        "cut-out artwork on a transparent background (PNG)",
        "transparent cutout",
        "cutout",
        "emoji",
        "transparent png",
        "overlay",
        format=ImageFormat.PNG,
        safe_zone=SafeZone.NONE,
    ),
)

_BY_NAME: dict[str, Destination] = {}
for _dest in CATALOG:
    for _name in _dest.names:
        _normal = _name.lower()
        if _normal in _BY_NAME:  # developer error in the table above
            raise RuntimeError(f"destination name {_name!r} is used twice")
        _BY_NAME[_normal] = _dest

_BY_KEY: dict[str, Destination] = {dest.key: dest for dest in CATALOG}

_FILLER = re.compile(r"\b(?:a|an|the|our|my|your|for|on|in|as|of|to|use|used|image|picture)\b")
_SPACES = re.compile(r"[\s_\-]+")


def _normalise(text: str) -> str:
    text = _SPACES.sub(" ", text.lower().strip(" \t.,;:!?\"'`*"))
    return text


def lookup(text: str) -> Destination | None:
    """The destination ``text`` names (case, spacing and small words forgiven), or None."""
    normal = _normalise(text)
    if normal in _BY_NAME:
        return _BY_NAME[normal]
    stripped = _SPACES.sub(" ", _FILLER.sub(" ", normal)).strip()
    if stripped in _BY_NAME:
        return _BY_NAME[stripped]
    if stripped.endswith("s") and stripped[:-1] in _BY_NAME:  # "slides", "posters"
        return _BY_NAME[stripped[:-1]]
    return None


def by_key(key: str | None) -> Destination | None:
    """The catalog destination stored as ``key``; None for None (a custom ratio) or a key no longer listed."""
    return _BY_KEY.get(key) if key is not None else None


def dpi_for(key: str | None) -> int:
    """The DPI to write into a draft's files: its destination's, or :data:`SCREEN_DPI` for a custom ratio."""
    dest = by_key(key)
    return dest.dpi if dest is not None else SCREEN_DPI


def resolve(text: str) -> Destination:
    """Like :func:`lookup`, but an unknown name raises an error that names the closest ones."""
    found = lookup(text)
    if found is None:
        raise UnknownDestinationError(text.strip()[:60], suggest(text))
    return found


SUGGEST_INPUT_LIMIT = 80  # destination names are short; fuzzy matching a long text would stall the ack
SUGGEST_CUTOFF = 0.6  # how close (0-1) a name must be to be offered at all
SUGGEST_MARGIN = 0.1  # and no further behind the closest one: "mobil cover" is the mobile cover, not a banner
WORD_CUTOFF = 0.85  # two words this alike count as the same word ("mobil", "mobile")


def suggest(text: str, limit: int = 3) -> tuple[str, ...]:
    """Catalog names closest to ``text``: by spelling, or by the words they share. Never a guess, a choice;
    only names about as close as the closest one, so a word two names share does not drag in the other."""
    normal = _normalise(text[:SUGGEST_INPUT_LIMIT])
    words = normal.split()
    scores: dict[str, float] = {}
    for name, dest in _BY_NAME.items():
        score = max(difflib.SequenceMatcher(None, normal, name).ratio(), _shared_words(words, name.split()))
        if score >= SUGGEST_CUTOFF:
            scores[dest.name] = max(scores.get(dest.name, 0.0), score)
    if not scores:
        return ()
    closest = max(scores.values())
    ranked = sorted(
        ((name, score) for name, score in scores.items() if score >= closest - SUGGEST_MARGIN),
        key=lambda item: (-item[1], item[0]),
    )
    return tuple(name for name, _ in ranked[:limit])


def _shared_words(asked: list[str], name: list[str]) -> float:
    """0 when no word is shared; else from 0.5 up to 1 as the shared words cover both texts' words."""

    def alike(a: str, b: str) -> bool:
        return difflib.SequenceMatcher(None, a, b).ratio() >= WORD_CUTOFF

    shared = sum(1 for word in asked if any(alike(word, w) for w in name))
    if not shared:
        return 0.0
    return 0.5 + shared / (len(asked) + len(name) - shared) / 2
