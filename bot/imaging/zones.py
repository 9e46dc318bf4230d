"""Where the headline-safe zone lies on a canvas, for any image: the one geometry the local renderer's
compositions and the preview guides share.

Boxes are in canvas units: the canvas is ``aspect`` wide and 1 high, so a box in pixels is the box times
the image's height. :func:`bot.providers.local.compose.compose` keeps shapes out of the same zone (a test
holds the two to the same numbers).
"""

from __future__ import annotations

from bot.destinations import SafeZone
from bot.tiers import Size

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

ZONE_DEPTH = 0.3  # TOP/BOTTOM: share of the height kept for the headline
ZONE_LEFT = 0.42  # LEFT: share of the width
_WIDE_CENTER = 1.2  # CENTER from this aspect up: a column in the middle, else a band across it


def headline_zone(safe_zone: SafeZone, aspect: float) -> Box | None:
    """The zone a headline will take on an ``aspect`` × 1 canvas; None for :attr:`SafeZone.NONE`."""
    a = aspect
    if safe_zone is SafeZone.TOP:
        return (0, 0, a, ZONE_DEPTH)
    if safe_zone is SafeZone.BOTTOM:
        return (0, 1 - ZONE_DEPTH, a, 1)
    if safe_zone is SafeZone.LEFT:
        return (0, 0, a * ZONE_LEFT, 1)
    if safe_zone is SafeZone.CENTER:
        if a >= _WIDE_CENTER:
            return (a * 0.3, 0.2, a * 0.7, 0.8)
        return (a * 0.08, 0.36, a * 0.92, 0.64)
    return None


def guide_outline(zone: Box, aspect: float) -> Box:
    """Where the dashed outline of ``zone`` is drawn: inset from the canvas edges it touches (on every side
    for a zone in the middle), so the dashes never run along the image's border."""
    inset = 0.035 * min(aspect, 1.0)
    x0 = zone[0] + inset if zone[0] <= 0 else zone[0]
    y0 = zone[1] + inset if zone[1] <= 0 else zone[1]
    x1 = zone[2] - inset if zone[2] >= aspect else zone[2]
    y1 = zone[3] - inset if zone[3] >= 1 else zone[3]
    if zone[1] > 0 and zone[3] < 1 and zone[0] > 0:  # a centre zone: inset on all sides
        x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
    return (x0, y0, x1, y1)


def zone_pixels(safe_zone: SafeZone, size: Size) -> tuple[int, int, int, int] | None:
    """:func:`headline_zone` in whole pixels of an image of ``size``."""
    zone = headline_zone(safe_zone, size.width / size.height)
    if zone is None:
        return None
    h = size.height
    return (round(zone[0] * h), round(zone[1] * h), round(zone[2] * h), round(zone[3] * h))
