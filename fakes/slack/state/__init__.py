"""In-memory model of one Slack workspace, as seen by the fake Slack and the playground (no HTTP).

Every mutation raises :class:`SlackError` with the Web API error code Slack would answer
(``channel_not_found``, ``invalid_blocks``...), bumps :attr:`Workspace.version`, appends a
:class:`Change` to the change log and wakes whoever waits in :meth:`Workspace.wait_for_change`, so a page
can long-poll the state. The model is meant to be used from one event loop (the server's).

- :mod:`.records`: the dataclasses, :class:`SlackError`, Slack's ts format.
- :mod:`.changes`: the change feed (version, log, waiting).
- :mod:`.directory`: team, users, channels, ids, the clock.
- :mod:`.blocks`: Block Kit validation.
- :mod:`.messages`, :mod:`.reactions`, :mod:`.files`, :mod:`.views`, :mod:`.ephemerals`: each family.
- :mod:`.workspace`: :class:`Workspace`, all of them together; :mod:`.saved`: its file on disk.
"""

from fakes.slack.state.records import (
    JSON,
    Change,
    Channel,
    Clock,
    EphemeralMessage,
    FileRecord,
    Message,
    ResponseUrl,
    SlackError,
    Team,
    Trigger,
    User,
    ViewRecord,
    format_ts,
    ts_micros,
)
from fakes.slack.state.workspace import Workspace

__all__ = [
    "JSON",
    "Change",
    "Channel",
    "Clock",
    "EphemeralMessage",
    "FileRecord",
    "Message",
    "ResponseUrl",
    "SlackError",
    "Team",
    "Trigger",
    "User",
    "ViewRecord",
    "Workspace",
    "format_ts",
    "ts_micros",
]
