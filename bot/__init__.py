"""draftbot: draft images in Slack at 1K, vote with emoji, review at 2K, approve finals at 4K."""

__version__ = "0.1.0"
