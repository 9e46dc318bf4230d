"""Pillow image operations: decode safely, fit to an exact size, encode under a byte ceiling, draw preview
guides.

The functions are synchronous and CPU-bound; run them through :class:`ImagingPool` from async code so the
event loop never stalls. Each module has one reason to change:

- :mod:`bot.imaging.decode`: untrusted bytes in (:func:`sniff`, :func:`measure`, :func:`decode`)
- :mod:`bot.imaging.fit`: exact sizes (:func:`fit`, :class:`FitReport`, :func:`thumbnail`)
- :mod:`bot.imaging.encode`: bytes out, tagged sRGB with a DPI (:func:`encode`, :class:`EncodedImage`,
  :func:`jpeg_bytes`, :func:`srgb_profile`)
- :mod:`bot.imaging.zones`: where the headline-safe zone lies (:func:`headline_zone`, :func:`zone_pixels`)
- :mod:`bot.imaging.guides`: preview overlays (:func:`draw_guides`, :func:`preview_with_guides`)
- :mod:`bot.imaging.sheet`: contact sheets and pairs (:func:`contact_sheet`, :func:`side_by_side`)
- :mod:`bot.imaging.drift`: how far an upgrade moved from its 1K (:func:`composition_drift`)
- :mod:`bot.imaging.pool`: off the event loop (:class:`ImagingPool`)
"""

from __future__ import annotations

from bot.imaging.decode import BadImage, decode, measure, sniff
from bot.imaging.drift import composition_drift, image_drift
from bot.imaging.encode import (
    JPEG_MAX_QUALITY,
    JPEG_MIN_QUALITY,
    EncodedImage,
    encode,
    jpeg_bytes,
    srgb_profile,
)
from bot.imaging.fit import FitAction, FitMode, FitReport, fit, ratio_label, thumbnail
from bot.imaging.guides import GuideLayout, PlacedText, draw_guides, guide_layout, preview_with_guides
from bot.imaging.pool import ImagingPool
from bot.imaging.sheet import contact_sheet, side_by_side, side_by_side_image
from bot.imaging.zones import guide_outline, headline_zone, zone_pixels

__all__ = [
    "JPEG_MAX_QUALITY",
    "JPEG_MIN_QUALITY",
    "BadImage",
    "EncodedImage",
    "FitAction",
    "FitMode",
    "FitReport",
    "GuideLayout",
    "ImagingPool",
    "PlacedText",
    "composition_drift",
    "contact_sheet",
    "decode",
    "draw_guides",
    "encode",
    "fit",
    "guide_layout",
    "guide_outline",
    "headline_zone",
    "image_drift",
    "jpeg_bytes",
    "measure",
    "preview_with_guides",
    "ratio_label",
    "side_by_side",
    "side_by_side_image",
    "sniff",
    "srgb_profile",
    "thumbnail",
    "zone_pixels",
]
