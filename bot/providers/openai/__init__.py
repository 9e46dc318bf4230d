"""OpenAI's Images API (gpt-image-2 and the gpt-image-1 family) as an image provider.

- :mod:`.catalogue`: the models, their sizes and prices (changes when a model ships)
- :mod:`.client`: :class:`OpenAIProvider`, the requests over httpx (changes when the API does)
- :mod:`.errors`: OpenAI's error answers as typed errors (changes when its error bodies do)
"""

from __future__ import annotations

from bot.providers.openai.catalogue import (
    CUSTOM_MAX_EDGE,
    CUSTOM_MAX_PIXELS,
    CUSTOM_MAX_RATIO,
    CUSTOM_MIN_PIXELS,
    CUSTOM_MIN_RATIO,
    CUSTOM_STEP,
    FIXED_SIZES,
    MODELS,
    ModelSpec,
    SizePlan,
    SizePolicy,
    is_legal_custom_size,
    model_spec,
    plan_size,
)
from bot.providers.openai.client import (
    MAX_PROMPT_CHARS,
    MAX_REFERENCE_BYTES,
    MAX_REFERENCES,
    UPGRADE_INSTRUCTION,
    OpenAIConfigError,
    OpenAIProvider,
)

__all__ = [
    "CUSTOM_MAX_EDGE",
    "CUSTOM_MAX_PIXELS",
    "CUSTOM_MAX_RATIO",
    "CUSTOM_MIN_PIXELS",
    "CUSTOM_MIN_RATIO",
    "CUSTOM_STEP",
    "FIXED_SIZES",
    "MAX_PROMPT_CHARS",
    "MAX_REFERENCES",
    "MAX_REFERENCE_BYTES",
    "MODELS",
    "UPGRADE_INSTRUCTION",
    "ModelSpec",
    "OpenAIConfigError",
    "OpenAIProvider",
    "SizePlan",
    "SizePolicy",
    "is_legal_custom_size",
    "model_spec",
    "plan_size",
]
