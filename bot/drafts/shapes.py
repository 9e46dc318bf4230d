"""Also as…: whether the approved final can be asked for in another shape."""

from __future__ import annotations

from bot.destinations import Destination
from bot.workflow import Refusal, VariantState
from storage.models import Draft, Variant


def shape_refusal(draft: Draft, finals: list[Variant], shape: Destination) -> Refusal | None:
    """Refused when the final is in that shape already, or it is on its way."""
    ratio = str(shape.ratio)
    if ratio == draft.ratio:
        return Refusal(f"The final is {ratio} already; it is in the thread.", "shape_made")
    for made in finals:
        if made.ratio == ratio and made.status not in (VariantState.FAILED, VariantState.REFUSED):
            where = "in the thread" if made.status == VariantState.POSTED else "on its way"
            return Refusal(
                f"The final as {ratio} ({made.destination_name}) is {where} already.", "shape_made"
            )
    return None
