"""Aspect ratios and resolution tiers: explore at 1K, review at 2K, finals at 4K."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import UserInputError

# Ratios wider or taller than this are not drafts anyone publishes, and no provider draws them.
MIN_RATIO = 1 / 3
MAX_RATIO = 3.0
RATIO_TOLERANCE = 0.01  # exact pixel sizes keep the asked ratio within 1%
PIXEL_STEP = 16  # every side a multiple of 16, as image models and video encoders like

# Lowest terms, except where the trade (and Gemini's aspectRatio values) name it otherwise.
_CONVENTIONAL_NAMES = {(7, 3): (21, 9), (3, 7): (9, 21)}

_RATIO_RE = re.compile(r"^\s*(\d{1,5})\s*[:x×/]\s*(\d{1,5})\s*$")


@dataclass(frozen=True, order=True)
class Ratio:
    """A width:height aspect ratio in lowest terms."""

    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"ratio sides must be positive, got {self.width}:{self.height}")
        g = math.gcd(self.width, self.height)
        reduced = _CONVENTIONAL_NAMES.get(
            (self.width // g, self.height // g), (self.width // g, self.height // g)
        )
        object.__setattr__(self, "width", reduced[0])
        object.__setattr__(self, "height", reduced[1])

    @classmethod
    def parse(cls, text: str) -> Ratio:
        """Parse ``W:H`` (also ``WxH``); raise :class:`UserInputError` on anything else."""
        match = _RATIO_RE.match(text)
        if not match or int(match[1]) == 0 or int(match[2]) == 0:
            raise UserInputError(
                f"`{text.strip()[:20]}` is not an aspect ratio. Write it as width:height, e.g. `--ratio 4:5`."
            )
        ratio = cls(int(match[1]), int(match[2]))
        if not MIN_RATIO <= ratio.value <= MAX_RATIO:
            raise UserInputError(
                f"`{ratio}` is too extreme: ratios between 1:3 and 3:1 are supported "
                "(use 21:9 for ultrawide, 9:16 for tall)."
            )
        return ratio

    @property
    def value(self) -> float:
        return self.width / self.height

    @property
    def orientation(self) -> str:
        if self.width > self.height:
            return "landscape"
        if self.width < self.height:
            return "portrait"
        return "square"

    def __str__(self) -> str:
        return f"{self.width}:{self.height}"


class Tier(StrEnum):
    """The three stages of a draft, named by their long edge."""

    EXPLORE = "1K"
    REVIEW = "2K"
    FINAL = "4K"

    @property
    def long_edge(self) -> int:
        return _LONG_EDGE[self]

    @property
    def jpeg_ceiling_bytes(self) -> int:
        """Largest JPEG we hand to Slack at this tier (1K about 400 KB, 2K 1.2 MB, 4K 5 MB)."""
        return _JPEG_CEILING[self]

    @property
    def purpose(self) -> str:
        return _PURPOSE[self]

    def image_name(self, number: int) -> str:
        """This tier's image as the thread names it: "Variant 3", "The 2K review", "The 4K final"."""
        return f"Variant {number}" if self is Tier.EXPLORE else _IMAGE_NAME[self]


_IMAGE_NAME = {Tier.REVIEW: "The 2K review", Tier.FINAL: "The 4K final"}
_LONG_EDGE = {Tier.EXPLORE: 1024, Tier.REVIEW: 2048, Tier.FINAL: 4096}
_JPEG_CEILING = {Tier.EXPLORE: 400_000, Tier.REVIEW: 1_200_000, Tier.FINAL: 5_000_000}
_PURPOSE = {
    Tier.EXPLORE: "explore: cheap and fast enough to judge the direction",
    Tier.REVIEW: "review: enough detail for the team to inspect",
    Tier.FINAL: "final: for heroes, print and crops",
}


@dataclass(frozen=True, order=True)
class Size:
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def __str__(self) -> str:
        return f"{self.width}×{self.height}"


def exact_size(ratio: Ratio, long_edge: int, step: int = PIXEL_STEP) -> Size:
    """The pixel size for ``ratio`` whose long edge is ``long_edge`` (or the nearest step below it).

    Both sides are multiples of ``step`` and the ratio is kept within 1%. Where the long edge itself
    cannot give that (21:9 at 1024 px has no 16-px short side within 1%), the long edge steps down
    until it can: 21:9 at 1K is 1008×432.
    """
    if long_edge < step * 4:
        raise ValueError(f"long edge {long_edge} is too small")
    wide = ratio.width >= ratio.height
    r = ratio.value if wide else 1 / ratio.value  # long / short, >= 1
    for long_side in range(long_edge - long_edge % step, step * 3, -step):
        short_side = max(step, round(long_side / r / step) * step)
        if abs((long_side / short_side) / r - 1) <= RATIO_TOLERANCE:
            return Size(long_side, short_side) if wide else Size(short_side, long_side)
    raise ValueError(f"no {step}-px size fits {ratio} under {long_edge}")  # unreachable for 1:3..3:1


def local_size(ratio: Ratio, tier: Tier) -> Size:
    """Sizes the local renderer draws, and the default target for providers without a table."""
    return exact_size(ratio, tier.long_edge)
