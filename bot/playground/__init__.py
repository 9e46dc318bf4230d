"""`draftbot playground`: the bot wired to the fake Slack of :mod:`fakes.slack` (:mod:`.run`)."""
