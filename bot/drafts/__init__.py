"""What people do to drafts: the workflow service, its votes, and the one way a draft changes status."""

from bot.drafts.moves import move_draft
from bot.drafts.results import ActionResult, Done
from bot.drafts.service import DraftService
from bot.drafts.votes import ReactionEvent, same_emoji

__all__ = ["ActionResult", "Done", "DraftService", "ReactionEvent", "move_draft", "same_emoji"]
