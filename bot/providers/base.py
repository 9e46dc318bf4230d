"""The one small interface every image source speaks, and the errors it may raise.

A provider turns a prompt into image bytes plus the facts we audit. It never decides sizes on trust:
callers decode, measure and fit what comes back (see :mod:`bot.imaging`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from bot.destinations import SafeZone
from bot.errors import ConfigurationError, DraftbotError, Transient
from bot.imaging import BadImage, measure, ratio_label, sniff
from bot.tiers import Ratio, Size, Tier

# The content type of bytes whose format no one knows; providers treat it as "not an image we take".
UNKNOWN_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Reference:
    """An image a provider works from (the winner, when upgrading) and its MIME type, e.g. ``image/png``.

    The caller says what it is (the stored variant's ``content_type``); providers trust that rather than
    sniffing the bytes again.
    """

    data: bytes = field(repr=False)
    content_type: str

    @classmethod
    def of(cls, data: bytes) -> Reference:
        """``data`` with its type read from the bytes (:func:`bot.imaging.sniff`)."""
        return cls(data, sniff(data) or UNKNOWN_CONTENT_TYPE)


# What the references of a request are for:
# - "upgrade": the winner, redrawn at 2K/4K. Same picture, more pixels (remote providers are asked to keep
#   it exactly; the local renderer redraws it from the prompt and seed, see ``upgrade_source``).
# - "explore": new 1K variants drafted *from* the reference (More like this, Draft from this image): keep
#   its structure (silhouette, product shape, layout zones), vary the rest with the seed and the prompt.
# - "revise": a review version made from the current review (the reference) with the latest ``feedback`` as
#   the edit instruction: change what it asks, keep everything else.
# - "reshape": the approved final (the reference) recomposed for another shape (``ratio``), keeping its
#   subject, lighting and palette (Also as…).
ReferenceUse = Literal["upgrade", "explore", "revise", "reshape"]


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    ratio: Ratio
    tier: Tier
    seed: int
    size: Size  # the exact target; the provider may return something else and we fit it
    references: tuple[Reference, ...] = ()  # the winner when upgrading; the source when exploring
    transparent: bool = False
    safe_zone: SafeZone = SafeZone.TOP
    # What ``references`` are for (see :data:`ReferenceUse`). The default keeps the upgrade behaviour.
    reference_use: ReferenceUse = "upgrade"
    # Upgrading a winner that was itself drafted from a reference: that reference (the winner's source).
    # Only the local renderer uses it, to redraw the winner's exact picture at the new size (and likewise
    # for "revise" and "reshape"); remote providers see the image in ``references`` and ignore this.
    upgrade_source: Reference | None = None
    # The change requests the image answers, oldest first. With "revise" the last is this edit's instruction;
    # otherwise they are already in the reference. Renderers that draw rather than edit apply them all.
    feedback: tuple[str, ...] = ()
    # The draft's quality (its channel's setting); None: the provider's configured one. Only OpenAI has it.
    quality: str | None = None

    def __post_init__(self) -> None:
        # A caller's mistake, caught before a provider silently drafts something unrelated instead.
        if self.reference_use in ("revise", "reshape") and not self.references:
            raise ValueError(f"a {self.reference_use} request needs its image as references[0]")
        if self.reference_use == "revise" and not any(text.strip() for text in self.feedback):
            raise ValueError("a revise request needs feedback: its last entry is the change request")

    @property
    def explores(self) -> bool:
        """True when new variants are to be drafted from ``references`` (not an upgrade of a winner)."""
        return self.reference_use == "explore" and bool(self.references)


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    provider: str
    model: str
    cost_estimate_usd: float = 0.0
    request_id: str | None = None
    # Honest notes for the audit trail, e.g. "generated at 3840x2160 (model maximum), upscaled locally".
    notes: tuple[str, ...] = ()
    usage: dict[str, int] = field(default_factory=dict)
    # A line drawn on the image's preview in Slack, never in the file (the local renderer says what it is).
    preview_label: str | None = None


# Said to the model with an exploration reference, as the seed guides advise for image-to-image work.
EXPLORE_INSTRUCTION: Final = (
    "Use the attached image as the reference and preserve its structure: keep the subject's silhouette, "
    "the product's shape, angle and main proportions, and the layout zones (where the subject, the "
    "background masses and the empty space sit). Vary lighting, styling, background and detail as the "
    "prompt asks, and keep the headline-safe area clear."
)
# Said to the model with the review it is to change ("revise"); the change request follows it.
REVISE_INSTRUCTION: Final = (
    "The attached image is the current review of this brief. Edit it: make the change requested below and "
    "only that. Keep everything the request does not mention exactly as it is: the composition, the "
    "subject, its position and proportions, the lighting, the other colours and the empty headline-safe "
    "area."
)
# Said to the model with the approved final it is to recompose for another shape ("reshape").
RESHAPE_INSTRUCTION: Final = (
    "The attached image is the approved final of this brief. Recompose it for a new frame: keep the same "
    "subject with its look and details, the same lighting and the same palette. Extend or rearrange the "
    "background to fill the new shape; never stretch, squash or crop the subject."
)
# Where the headline goes, in words a model reads.
_ZONE_WORDS: Final = {
    SafeZone.TOP: "the top",
    SafeZone.BOTTOM: "the bottom",
    SafeZone.LEFT: "the left side",
    SafeZone.CENTER: "the centre",
}
# A reference whose shape is within this of the target's (as a log ratio, ~3%) is not worth a note.
REFERENCE_RATIO_TOLERANCE: Final = 0.03


def ratio_differs(reference: Size, target: Ratio) -> bool:
    """Whether ``reference``'s shape is noticeably not ``target``'s."""
    shape = reference.width / reference.height
    return abs(math.log(shape / target.value)) > REFERENCE_RATIO_TOLERANCE


def reference_note(reference: Size, target: Ratio) -> str | None:
    """``"reference is 4:3, drafting 9:16"`` when the reference's shape is not the target's, else None.

    The destination decides the output ratio; a reference of another shape is reframed, never stretched.
    """
    if not ratio_differs(reference, target):
        return None
    return f"reference is {ratio_label(reference)}, drafting {target}"


def reference_size(reference: Reference) -> Size | None:
    """The reference's displayed size from its header (no pixels decoded), or None if unreadable."""
    try:
        return measure(reference.data)[0]
    except BadImage:
        return None


def explore_instruction(request: GenerationRequest) -> str:
    """:data:`EXPLORE_INSTRUCTION`, plus how to reframe when the reference is another shape."""
    size = reference_size(request.references[0]) if request.references else None
    if size is None or not ratio_differs(size, request.ratio):
        return EXPLORE_INSTRUCTION
    return (
        f"{EXPLORE_INSTRUCTION} The reference is {ratio_label(size)} but this image is "
        f"{request.ratio}: recompose it for the new frame, keeping the same zones in the same order, "
        "without stretching or squashing anything."
    )


def quoted(text: str) -> str:
    """A person's change request on one line, in quotes: ``“warmer background”``."""
    return f"“{' '.join(text.split())}”"


def change_request(request: GenerationRequest) -> str:
    """The change request a "revise" answers: the last non-empty entry of ``feedback``."""
    said = [text for text in request.feedback if text.strip()]
    if not said:
        raise ValueError("this request carries no change request")
    return " ".join(said[-1].split())


def revise_instruction(request: GenerationRequest) -> str:
    """:data:`REVISE_INSTRUCTION`, the change request, and the earlier ones the image already answers."""
    text = f"{REVISE_INSTRUCTION}\n\nChange request: {change_request(request)}"
    said = [" ".join(entry.split()) for entry in request.feedback if entry.strip()]
    if len(said) > 1:
        earlier = "; ".join(said[:-1])
        text += f"\n\nEarlier change requests, already made in the image (keep them): {earlier}"
    return text


def reshape_instruction(request: GenerationRequest) -> str:
    """:data:`RESHAPE_INSTRUCTION` with both shapes named, and where the headline goes in the new one."""
    size = reference_size(request.references[0]) if request.references else None
    shapes = f"from {ratio_label(size)} to {request.ratio}" if size is not None else f"as {request.ratio}"
    text = f"{RESHAPE_INSTRUCTION} Recompose it {shapes}."
    where = _ZONE_WORDS.get(request.safe_zone)
    if where is not None:
        text += f" Keep {where} of the new frame empty for the headline."
    return text


def reference_instruction(request: GenerationRequest, *, upgrade: str) -> str:
    """What to tell a model about ``request``'s references, by their use; ``upgrade`` is the provider's
    own instruction for redrawing a winner. An upgrade's ``feedback`` is already in the winner: not said."""
    if request.explores:
        return explore_instruction(request)
    if request.reference_use == "revise":
        return revise_instruction(request)
    if request.reference_use == "reshape":
        return reshape_instruction(request)
    return upgrade


def edit_prompt(request: GenerationRequest, *, upgrade: str) -> str:
    """The prompt sent with references: the brief's own prompt, then :func:`reference_instruction`."""
    return f"{request.prompt.rstrip()}\n\n{reference_instruction(request, upgrade=upgrade)}"


def reference_notes(request: GenerationRequest) -> list[str]:
    """The notes a provider adds for ``request``'s reference: its use, and a ratio it does not share."""
    if not request.references:
        return []
    notes = []
    size = reference_size(request.references[0])
    if request.explores:
        notes.append("drafted from a reference image, asked to keep its structure")
    elif request.reference_use == "revise":
        notes.append(f"revised from the review with feedback {quoted(change_request(request))}")
    elif request.reference_use == "reshape":
        shape = f" {ratio_label(size)}" if size is not None else ""
        notes.append(
            f"reshaped from the approved{shape} final for {request.ratio}, "
            "asked to keep its subject, lighting and palette"
        )
        return notes  # the other shape is the point, not a note
    elif request.feedback:
        notes.append("upgraded a revised review: its feedback is already in the image, not sent again")
    note = reference_note(size, request.ratio) if size is not None else None
    if note is not None:
        notes.append(note)
    return notes


class ImageProvider(Protocol):
    name: str
    model: str

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        """The exact pixel size this provider delivers (after our fitting) for ``ratio`` at ``tier``."""
        ...

    def estimate_usd(self, ratio: Ratio, tier: Tier, quality: str | None = None) -> float:
        """The approximate cost of one image of ``ratio`` at ``tier`` (before any call: budgets use it)."""
        ...

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        """Make one image. Raises a :class:`ProviderError` subclass on failure."""
        ...

    async def aclose(self) -> None: ...


class ProviderError(DraftbotError):
    """Base of provider failures; the job runner tries again by type (:class:`Transient`)."""

    def __init__(self, message: str, *, provider: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.retry_after = retry_after


class Refused(ProviderError):
    """Moderation or safety refused the prompt or the output. Never retried; the user is told why."""

    def __init__(self, message: str, *, provider: str = "", category: str = "", stage: str = "") -> None:
        super().__init__(message, provider=provider)
        self.category = category
        self.stage = stage


class RateLimited(ProviderError, Transient):
    """429 or a quota that refills: wait ``retry_after`` and try again."""


class Unavailable(ProviderError, Transient):
    """5xx, overloaded, timeouts, connection errors."""


class ModelNotFound(ProviderError, ConfigurationError):
    """The configured model is unknown or retired: a configuration error, not worth a retry."""


class BadOutput(ProviderError, Transient):
    """No image, an undecodable one, or one far from the asked shape."""
