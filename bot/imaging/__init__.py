"""Pillow image operations: decode safely, fit to an exact size, encode under a byte ceiling.

The functions are synchronous and CPU-bound; run them through :class:`ImagingPool` from async code so the
event loop never stalls. Each module has one reason to change:

- :mod:`bot.imaging.decode`: untrusted bytes in (:func:`sniff`, :func:`measure`, :func:`decode`)
- :mod:`bot.imaging.fit`: exact sizes (:func:`fit`, :class:`FitReport`, :func:`thumbnail`)
- :mod:`bot.imaging.encode`: bytes out (:func:`encode`, :class:`EncodedImage`, :func:`jpeg_bytes`)
- :mod:`bot.imaging.sheet`: contact sheets (:func:`contact_sheet`)
- :mod:`bot.imaging.pool`: off the event loop (:class:`ImagingPool`)
"""

from __future__ import annotations

from bot.imaging.decode import BadImage, decode, measure, sniff
from bot.imaging.encode import JPEG_MAX_QUALITY, JPEG_MIN_QUALITY, EncodedImage, encode, jpeg_bytes
from bot.imaging.fit import FitAction, FitMode, FitReport, fit, ratio_label, thumbnail
from bot.imaging.pool import ImagingPool
from bot.imaging.sheet import contact_sheet

__all__ = [
    "JPEG_MAX_QUALITY",
    "JPEG_MIN_QUALITY",
    "BadImage",
    "EncodedImage",
    "FitAction",
    "FitMode",
    "FitReport",
    "ImagingPool",
    "contact_sheet",
    "decode",
    "encode",
    "fit",
    "jpeg_bytes",
    "measure",
    "ratio_label",
    "sniff",
    "thumbnail",
]
