"""Google's Gemini native image generation ("Nano Banana") as an image provider.

- :mod:`.catalogue`: capabilities, the per-ratio size table and prices (changes when a model ships)
- :mod:`.client`: :class:`GeminiProvider`, the ``generateContent`` calls (changes when the API does)
- :mod:`.errors`: error answers, safety blocks and RetryInfo as typed errors
- :mod:`.wire`: small helpers for reading untrusted JSON
"""

from __future__ import annotations

from bot.providers.gemini.catalogue import (
    GEMINI_3_PRO,
    GEMINI_25_FLASH,
    GEMINI_31_FLASH,
    GEMINI_31_FLASH_LITE,
    IMAGE_SIZES,
    MODEL_PATTERNS,
    MODELS,
    ModelCapabilities,
    SizePlan,
    capabilities_for,
    known_capabilities,
    plan_size,
)
from bot.providers.gemini.client import (
    INLINE_TYPES,
    MAX_INLINE_REFERENCE_BYTES,
    MIN_LONG_EDGE_FRACTION,
    RATIO_MISMATCH_TOLERANCE,
    UPGRADE_INSTRUCTION,
    GeminiConfigError,
    GeminiProvider,
)
from bot.providers.gemini.errors import (
    BLOCK_REASONS,
    PROVIDER,
    SAFETY_FINISH_REASONS,
    quota_used_up,
    retry_info,
)
from bot.providers.gemini.wire import MAX_MESSAGE_CHARS

__all__ = [
    "BLOCK_REASONS",
    "GEMINI_3_PRO",
    "GEMINI_25_FLASH",
    "GEMINI_31_FLASH",
    "GEMINI_31_FLASH_LITE",
    "IMAGE_SIZES",
    "INLINE_TYPES",
    "MAX_INLINE_REFERENCE_BYTES",
    "MAX_MESSAGE_CHARS",
    "MIN_LONG_EDGE_FRACTION",
    "MODELS",
    "MODEL_PATTERNS",
    "PROVIDER",
    "RATIO_MISMATCH_TOLERANCE",
    "SAFETY_FINISH_REASONS",
    "UPGRADE_INSTRUCTION",
    "GeminiConfigError",
    "GeminiProvider",
    "ModelCapabilities",
    "SizePlan",
    "capabilities_for",
    "known_capabilities",
    "plan_size",
    "quota_used_up",
    "retry_info",
]
