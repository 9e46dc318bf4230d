"""What each Gemini image model family can draw: ratios, image sizes, the per-ratio pixel table, prices.

Changes when a model ships. The model id is configuration (``GEMINI_IMAGE_MODEL``); :data:`MODELS` maps
known ids to a family, with pattern-based defaults for ids we have not seen yet.

Size policy, in short:

* A ratio the model has is requested as ``aspectRatio`` and delivered at the table's pixel size
  (3 Pro 16:9 is 1376×768 / 2752×1536 / 5504×3072 at 1K / 2K / 4K).
* A ratio it lacks (7:5, 1:2, ...) is requested at the nearest ratio it has (by log-ratio distance) and the
  target is the asked ratio at the table's long edge, so the generator centre-crops; a note says so.
* A tier it lacks (2.5 Flash draws 1K only) is requested at its largest size and upscaled locally; a note
  says so, because an upscale adds no detail.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from bot.tiers import Ratio, Size, Tier, exact_size

IMAGE_SIZES: Final = ("1K", "2K", "4K")  # Gemini's imageSize values; the K must be uppercase
_SIZE_FACTOR: Final = {"1K": 1, "2K": 2, "4K": 4}

# --- what each model family can do ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCapabilities:
    """What a Gemini image model family accepts and costs. Prices are approximate, per image, in USD."""

    family: str
    # aspectRatio value -> imageSize -> the pixel size Gemini returns
    pixels: Mapping[str, Mapping[str, Size]]
    price_usd: Mapping[str, float]  # by imageSize actually requested
    max_references: int
    pixels_documented: bool = True  # False: our estimate; the measured size decides

    @cached_property
    def ratios(self) -> tuple[Ratio, ...]:
        return tuple(Ratio(*(int(side) for side in name.split(":"))) for name in self.pixels)

    @cached_property
    def image_sizes(self) -> tuple[str, ...]:
        sizes = {size for row in self.pixels.values() for size in row}
        return tuple(size for size in IMAGE_SIZES if size in sizes)

    def nearest_ratio(self, ratio: Ratio) -> Ratio:
        """``ratio`` itself when the model has it, else the closest one by log-ratio distance."""
        return min(self.ratios, key=lambda r: abs(math.log(r.value) - math.log(ratio.value)))


def _table(rows: Mapping[str, Sequence[tuple[int, int]]], sizes: Sequence[str]) -> dict[str, dict[str, Size]]:
    return {
        ratio: {s: Size(w, h) for s, (w, h) in zip(sizes, row, strict=True)} for ratio, row in rows.items()
    }


# Official pixel tables (ai.google.dev image-generation docs, late 2025). Trust them, and measure anyway.
_PRO_PIXELS = _table(
    {
        "1:1": ((1024, 1024), (2048, 2048), (4096, 4096)),
        "2:3": ((848, 1264), (1696, 2528), (3392, 5056)),
        "3:2": ((1264, 848), (2528, 1696), (5056, 3392)),
        "3:4": ((896, 1200), (1792, 2400), (3584, 4800)),
        "4:3": ((1200, 896), (2400, 1792), (4800, 3584)),
        "4:5": ((928, 1152), (1856, 2304), (3712, 4608)),
        "5:4": ((1152, 928), (2304, 1856), (4608, 3712)),
        "9:16": ((768, 1376), (1536, 2752), (3072, 5504)),
        "16:9": ((1376, 768), (2752, 1536), (5504, 3072)),
        "21:9": ((1584, 672), (3168, 1344), (6336, 2688)),
    },
    IMAGE_SIZES,
)
_FLASH_25_PIXELS = _table(
    {
        "1:1": ((1024, 1024),),
        "2:3": ((832, 1248),),
        "3:2": ((1248, 832),),
        "3:4": ((864, 1184),),
        "4:3": ((1184, 864),),
        "4:5": ((896, 1152),),
        "5:4": ((1152, 896),),
        "9:16": ((768, 1344),),
        "16:9": ((1344, 768),),
        "21:9": ((1536, 672),),
    },
    ("1K",),
)
# 3.1 Flash Image: no official per-ratio pixel table was found. Assumed like 3 Pro for the shared ratios;
# the extra ratios are estimates at about 1 MP per "1K". The measured size is what we record.
_FLASH_31_PIXELS = {
    **_PRO_PIXELS,
    **_table(
        {
            "1:4": ((512, 2048), (1024, 4096), (2048, 8192)),
            "4:1": ((2048, 512), (4096, 1024), (8192, 2048)),
            "1:8": ((368, 2944), (736, 5888), (1472, 11776)),
            "8:1": ((2944, 368), (5888, 736), (11776, 1472)),
        },
        IMAGE_SIZES,
    ),
}
_LITE_PIXELS = {ratio: {"1K": row["1K"]} for ratio, row in _PRO_PIXELS.items()}  # assumed: 1K only

GEMINI_3_PRO = ModelCapabilities(
    family="Gemini 3 Pro Image",
    pixels=_PRO_PIXELS,
    price_usd={"1K": 0.134, "2K": 0.134, "4K": 0.24},
    max_references=14,
)
GEMINI_25_FLASH = ModelCapabilities(
    family="Gemini 2.5 Flash Image",
    pixels=_FLASH_25_PIXELS,
    price_usd={"1K": 0.039},  # $30/1M output tokens × 1290 tokens
    max_references=3,  # "works best with at most 3 inputs"
)
GEMINI_31_FLASH = ModelCapabilities(
    family="Gemini 3.1 Flash Image",
    pixels=_FLASH_31_PIXELS,
    # 1K is quoted; 2K and 4K scale it by the documented output tokens (1120 / 1680 / 2520).
    price_usd={"1K": 0.067, "2K": 0.101, "4K": 0.151},
    max_references=14,
    pixels_documented=False,
)
GEMINI_31_FLASH_LITE = ModelCapabilities(
    family="Gemini 3.1 Flash-Lite Image",
    pixels=_LITE_PIXELS,
    price_usd={"1K": 0.067},  # no price found: 3.1 Flash's, as an upper bound
    max_references=3,
    pixels_documented=False,
)

# Ids we know, then patterns for the ones that will appear next (first match wins).
MODELS: Final[Mapping[str, ModelCapabilities]] = {
    "gemini-3-pro-image": GEMINI_3_PRO,
    "gemini-3-pro-image-preview": GEMINI_3_PRO,
    "gemini-2.5-flash-image": GEMINI_25_FLASH,
    "gemini-2.5-flash-image-preview": GEMINI_25_FLASH,
    "gemini-3.1-flash-image": GEMINI_31_FLASH,
    "gemini-3.1-flash-image-preview": GEMINI_31_FLASH,
    "gemini-3.1-flash-lite-image": GEMINI_31_FLASH_LITE,
}
MODEL_PATTERNS: Final[tuple[tuple[str, ModelCapabilities], ...]] = (
    ("*flash-lite*", GEMINI_31_FLASH_LITE),
    ("*2.5-flash*", GEMINI_25_FLASH),
    ("*3.1-flash*", GEMINI_31_FLASH),
    ("gemini-3*", GEMINI_3_PRO),
    ("*pro-image*", GEMINI_3_PRO),
)


def known_capabilities(model: str) -> ModelCapabilities | None:
    """The capabilities for ``model`` by id or by a family pattern; None when the id says nothing."""
    name = model.strip().lower().removeprefix("models/")
    if name in MODELS:
        return MODELS[name]
    for pattern, caps in MODEL_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return caps
    return None


def capabilities_for(model: str) -> ModelCapabilities:
    """Like :func:`known_capabilities`, assuming 3 Pro Image (the current flagship) for unknown ids."""
    return known_capabilities(model) or GEMINI_3_PRO


# --- the size plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizePlan:
    """What we ask Gemini for and what we deliver, for one ratio at one tier."""

    ratio: Ratio  # asked
    tier: Tier
    api_ratio: Ratio  # sent as imageConfig.aspectRatio
    image_size: str  # sent as imageConfig.imageSize
    expected: Size  # what Gemini should return, from the table
    target: Size  # what the generator fits the image to
    upscale: int = 1  # > 1 when the model lacks the tier and we upscale locally

    @property
    def remapped(self) -> bool:
        return self.api_ratio != self.ratio


def plan_size(caps: ModelCapabilities, ratio: Ratio, tier: Tier) -> SizePlan:
    api_ratio = caps.nearest_ratio(ratio)
    sizes = caps.image_sizes
    image_size = tier.value if tier.value in sizes else sizes[-1]
    expected = caps.pixels[str(api_ratio)][image_size]
    upscale = max(1, _SIZE_FACTOR[tier.value] // _SIZE_FACTOR[image_size])
    scaled = Size(expected.width * upscale, expected.height * upscale)
    target = scaled if api_ratio == ratio else _crop_target(ratio, scaled)
    return SizePlan(ratio, tier, api_ratio, image_size, expected, target, upscale)


def _crop_target(ratio: Ratio, frame: Size) -> Size:
    """The largest ``ratio`` size a centre crop of ``frame`` gives, so a crop never needs an upscale.

    When ``ratio`` is more extreme than the frame (7:5 from 4:3) the long edge is kept: 1200×896 gives
    1200×864. When it is less extreme (6:5 from 5:4) the short edge bounds it: 1152×928 gives 1104×928.
    """
    if ratio.width >= ratio.height:
        long_edge = min(frame.width, frame.height * ratio.value)
    else:
        long_edge = min(frame.height, frame.width / ratio.value)
    return exact_size(ratio, math.floor(long_edge))
