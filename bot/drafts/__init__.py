"""What people do to drafts."""

from bot.drafts.service import ActionResult, Done, DraftService, same_emoji

__all__ = ["ActionResult", "Done", "DraftService", "same_emoji"]
