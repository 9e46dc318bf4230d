"""What draftbot knows about OpenAI's image models: the model table, prices, and which sizes to ask for.

Changes when a model ships or a price moves. Sizes: we always deliver :func:`bot.tiers.local_size`; what we
*ask* OpenAI for is that size when the model accepts it, otherwise the nearest size it does accept, with an
honest note saying what the generator's fit will do about the difference (see :func:`plan_size`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.providers.base import ProviderError
from bot.tiers import RATIO_TOLERANCE, Ratio, Size

# --- models ------------------------------------------------------------------------------------------

SizePolicy = Literal["custom", "fixed"]


@dataclass(frozen=True)
class ModelSpec:
    """What draftbot needs to know about one image model. The model *name* is configuration
    (``OPENAI_IMAGE_MODEL``); this is how we treat it.

    Prices are rough estimates in USD for one 1024×1024 output image at each quality, scaled by the pixels
    actually generated. They ignore input-image tokens (edits cost more) and change often: set
    ``DRAFTBOT_PRICES`` for real budgeting.
    """

    family: str
    sizes: SizePolicy  # "custom": any legal WxH (gpt-image-2); "fixed": 1024², 1536×1024, 1024×1536
    input_fidelity: bool  # edits accept input_fidelity=high
    usd_low: float
    usd_medium: float
    usd_high: float

    def estimate_usd(self, quality: str, size: Size) -> float:
        """Approximate cost of one image of ``size``; ``auto`` is estimated as ``high`` (the dearest)."""
        per_image = {"low": self.usd_low, "medium": self.usd_medium}.get(quality, self.usd_high)
        return round(per_image * size.pixels / (1024 * 1024), 4)


# gpt-image-2: the reference page's §5 (secondary pages quoting OpenAI, May 2026). The gpt-image-1 family:
# OpenAI's published per-image prices for 1024² as last seen (gpt-image-1.5 matches the reference's
# $0.009–$0.20 range). All approximate.
MODELS: Mapping[str, ModelSpec] = {
    "gpt-image-2": ModelSpec("gpt-image-2", "custom", False, 0.006, 0.053, 0.211),
    "gpt-image-1.5": ModelSpec("gpt-image-1.5", "fixed", True, 0.009, 0.034, 0.133),
    "gpt-image-1": ModelSpec("gpt-image-1", "fixed", True, 0.011, 0.042, 0.167),
    "gpt-image-1-mini": ModelSpec("gpt-image-1-mini", "fixed", False, 0.005, 0.011, 0.036),
}
# An unknown model that is not a gpt-image-2 variant: the standard sizes every GPT image model takes, and
# no input_fidelity (a parameter a model rejects fails every upgrade; a missing one only lowers fidelity).
_UNKNOWN_MODEL = ModelSpec("unknown", "fixed", False, 0.011, 0.042, 0.167)


def model_spec(model: str) -> ModelSpec:
    """The table row for ``model``: the exact id, else a known id it extends (a dated snapshot such as
    ``gpt-image-1.5-2025-12-16``), else any ``gpt-image-2*`` as gpt-image-2, else the fixed-size family."""
    name = model.strip().lower()
    if name in MODELS:
        return MODELS[name]
    prefixes = [key for key in MODELS if name.startswith(key) and not name[len(key) : len(key) + 1].isdigit()]
    if prefixes:
        return MODELS[max(prefixes, key=len)]
    if name.startswith("gpt-image-2"):
        return MODELS["gpt-image-2"]
    return _UNKNOWN_MODEL


# --- sizes -------------------------------------------------------------------------------------------

# gpt-image-2's custom sizes (OpenAI SDK docstrings; pixel and edge limits as mirrored by gateways).
CUSTOM_STEP = 16
CUSTOM_MIN_PIXELS = 655_360
CUSTOM_MAX_PIXELS = 8_294_400  # 3840×2160
CUSTOM_MAX_EDGE = 3840
CUSTOM_MIN_RATIO, CUSTOM_MAX_RATIO = 1 / 3, 3.0
# Where the model needs a different size, one with exactly the asked ratio is preferred (the fit is then
# a pure resize) unless it costs this many times the pixels of the nearest size within 1%.
_EXACT_RATIO_PREFERENCE = 1.5
# bot.imaging.fit resizes away ratio differences up to 0.5% and crops beyond that; notes say the same.
_FIT_CROPS_BEYOND = 0.005

FIXED_SIZES = {"landscape": Size(1536, 1024), "portrait": Size(1024, 1536), "square": Size(1024, 1024)}


def is_legal_custom_size(size: Size) -> bool:
    """Whether gpt-image-2 accepts ``size`` as ``WxH``."""
    w, h = size.width, size.height
    return (
        w > 0
        and h > 0
        and w % CUSTOM_STEP == 0
        and h % CUSTOM_STEP == 0
        and CUSTOM_MIN_RATIO <= w / h <= CUSTOM_MAX_RATIO
        and max(w, h) <= CUSTOM_MAX_EDGE
        and CUSTOM_MIN_PIXELS <= size.pixels <= CUSTOM_MAX_PIXELS
    )


@lru_cache(maxsize=64)
def _custom_candidates(ratio: Ratio) -> tuple[tuple[Size, float], ...]:
    """Every legal gpt-image-2 size within 1% of ``ratio``, with its ratio error, smallest first."""
    found: dict[Size, float] = {}
    for h in range(CUSTOM_STEP, CUSTOM_MAX_EDGE + 1, CUSTOM_STEP):
        exact_w = h * ratio.value
        for w in {
            math.floor(exact_w / CUSTOM_STEP) * CUSTOM_STEP,
            math.ceil(exact_w / CUSTOM_STEP) * CUSTOM_STEP,
        }:
            size = Size(w, h)
            if w <= 0 or not is_legal_custom_size(size):
                continue
            exact = w * ratio.height == h * ratio.width  # integers: no float noise for exact ratios
            error = 0.0 if exact else abs((w / h) / ratio.value - 1)
            if error <= RATIO_TOLERANCE:
                found[size] = error
    return tuple(sorted(found.items(), key=lambda item: (item[0].pixels, item[1])))


@dataclass(frozen=True)
class SizePlan:
    """The size we ask the model for, the size we deliver, and what the generator's fit will do between."""

    request: Size
    target: Size
    note: str | None = None

    @property
    def wire(self) -> str:
        return f"{self.request.width}x{self.request.height}"


def plan_size(spec: ModelSpec, ratio: Ratio, target: Size) -> SizePlan:
    """Which size to ask for to deliver ``target`` (``ratio``).

    gpt-image-2 (custom): ``target`` itself when legal. Below the pixel minimum, the smallest legal size
    of the ratio (1K 16:9 → 1280×720, 21:9 → 1344×576); above the maximum, the largest (4K 16:9 →
    3840×2160, 1:1 → 2880×2880, 3:2 → 3504×2336), preferring an exact ratio (see
    ``_EXACT_RATIO_PREFERENCE``) and always within 1%.

    Fixed-size family: the standard size of the ratio's orientation; the fit crops (cover) and resizes.
    """
    if spec.sizes == "fixed":
        orientation = ratio.orientation
        request = FIXED_SIZES[orientation]
        why = f"the model's fixed {orientation} size"
    else:
        if is_legal_custom_size(target):
            return SizePlan(target, target)
        candidates = _custom_candidates(ratio)
        if not candidates:  # not for any ratio within 1:3..3:1, which is all Ratio.parse lets through
            raise ProviderError(f"gpt-image-2 has no size for the ratio {ratio}", provider="openai")
        if target.pixels < CUSTOM_MIN_PIXELS:
            request = _prefer_exact(candidates, smallest=True)
            why = f"the smallest {ratio} size the model accepts"
        elif target.pixels > CUSTOM_MAX_PIXELS or max(target.width, target.height) > CUSTOM_MAX_EDGE:
            request = _prefer_exact(candidates, smallest=False)
            why = f"the model's largest for {ratio}"
        else:  # in range but not on the 16-px grid or ratio limits
            request = min(candidates, key=lambda c: (abs(math.log(c[0].pixels / target.pixels)), c[1]))[0]
            why = "the nearest size the model accepts"
    if request == target:
        return SizePlan(request, target)
    return SizePlan(request, target, _fit_note(request, target, ratio, why))


def _prefer_exact(candidates: tuple[tuple[Size, float], ...], *, smallest: bool) -> Size:
    ordered = candidates if smallest else tuple(reversed(candidates))
    nearest = ordered[0][0]
    exact = next((size for size, error in ordered if error == 0.0), None)
    if exact is None:
        return nearest
    small, large = sorted((exact.pixels, nearest.pixels))
    return exact if large <= small * _EXACT_RATIO_PREFERENCE else nearest


def _fit_note(generated: Size, target: Size, ratio: Ratio, why: str) -> str:
    """Say what ``bot.imaging.fit`` (cover) will do to turn ``generated`` into ``target``."""
    gen_ratio, dst_ratio = generated.width / generated.height, target.width / target.height
    crops = abs(gen_ratio / dst_ratio - 1) > _FIT_CROPS_BEYOND
    kept = generated
    if crops:
        if gen_ratio > dst_ratio:
            kept = Size(round(generated.height * dst_ratio), generated.height)
        else:
            kept = Size(generated.width, round(generated.width / dst_ratio))
    verb = "upscaled locally" if target.pixels > kept.pixels else "resized"
    if crops:
        return f"generated at {generated} ({why}), cropped to {ratio} and {verb} to {target}"
    return f"generated at {generated} ({why}), {verb} to {target}"
