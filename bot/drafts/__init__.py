"""What people do to drafts."""

from bot.drafts.moves import move_draft
from bot.drafts.service import ActionResult, Done, DraftService, same_emoji

__all__ = ["ActionResult", "Done", "DraftService", "move_draft", "same_emoji"]
