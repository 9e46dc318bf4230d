"""Composition drift: how far a 2K or 4K moved from the 1K it came from, as one number in [0, 1].

SSIM (structural similarity) over small greyscale copies: at 48 px on the long edge only the layout is
left (where the masses, the subject and the empty zone are), not the detail an upscale adds. Each copy is
standardised first, so an exposure, contrast or colour change is not a change of composition.
Computed with numpy rather than a perceptual-hash package: a 64-bit hash has 65 steps and puts unrelated
pictures near 0.5, SSIM separates "the same picture redrawn" from "another picture" by far more.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from bot.imaging.decode import decode
from bot.imaging.encode import flatten_rgb
from bot.imaging.fit import fit
from bot.tiers import Size

Grey = npt.NDArray[np.float64]

COMPARE_EDGE = 48  # long edge of the compared copies, in pixels
_SPREAD, _MIN_SPREAD = 50.0, 8.0  # standardised contrast; a flatter picture is not amplified past this
_SIGMA, _RADIUS = 1.5, 5  # SSIM's usual Gaussian window (11 × 11)
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's usual stabilisers for 8-bit levels


def compare_size(size: Size) -> Size:
    """The size both images are compared at: ``size``'s shape, :data:`COMPARE_EDGE` on the long edge."""
    aspect = size.width / size.height
    if aspect >= 1:
        return Size(COMPARE_EDGE, max(8, round(COMPARE_EDGE / aspect)))
    return Size(max(8, round(COMPARE_EDGE * aspect)), COMPARE_EDGE)


def _grey(img: Image.Image, size: Size) -> Grey:
    small, _ = fit(img, size, mode="cover")  # another shape: its centre, as a crop would keep it
    levels = np.asarray(flatten_rgb(small).convert("L"), dtype=np.float64)
    spread = max(float(levels.std()), _MIN_SPREAD)
    standard: Grey = (levels - float(levels.mean())) / spread * _SPREAD + 128.0
    return standard


def _blur(x: Grey) -> Grey:
    t = np.arange(-_RADIUS, _RADIUS + 1, dtype=np.float64)
    kernel = np.exp(-(t**2) / (2 * _SIGMA**2))
    kernel /= kernel.sum()
    padded = np.pad(x, _RADIUS, mode="reflect")
    rows: Grey = sliding_window_view(padded, kernel.size, axis=1) @ kernel
    return np.asarray(sliding_window_view(rows, kernel.size, axis=0) @ kernel, dtype=np.float64)


def ssim(a: Grey, b: Grey) -> float:
    """Mean structural similarity of two same-shaped greyscale arrays (levels 0-255): 1 for identical."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare {a.shape} with {b.shape}")
    mean_a, mean_b = _blur(a), _blur(b)
    var_a = _blur(a * a) - mean_a**2
    var_b = _blur(b * b) - mean_b**2
    covariance = _blur(a * b) - mean_a * mean_b
    index = ((2 * mean_a * mean_b + _C1) * (2 * covariance + _C2)) / (
        (mean_a**2 + mean_b**2 + _C1) * (var_a + var_b + _C2)
    )
    return float(index.mean())


def image_drift(a: Image.Image, b: Image.Image) -> float:
    """:func:`composition_drift` of two decoded images."""
    size = compare_size(Size(*a.size))
    return min(1.0, max(0.0, 1.0 - ssim(_grey(a, size), _grey(b, size))))


def composition_drift(a: bytes, b: bytes, *, max_pixels: int) -> float:
    """How far ``b``'s composition is from ``a``'s: 0 for the same picture (at any size, through any
    JPEG), about 0.5 and up for another picture. ``b`` of another shape is compared by its centre.

    Both are decoded under ``max_pixels`` (:class:`~bot.imaging.BadImage` otherwise). CPU work: run it in
    the :class:`~bot.imaging.ImagingPool`.
    """
    at_least = 2 * COMPARE_EDGE
    return image_drift(
        decode(a, max_pixels=max_pixels, at_least=at_least),
        decode(b, max_pixels=max_pixels, at_least=at_least),
    )
