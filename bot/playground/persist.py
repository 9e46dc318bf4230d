"""The playground's workspace survives a restart, like the bot's database does, so unfinished drafts
resume into the same channel and threads.

The file is written by this process into the user's own data directory and read only from there;
pickle keeps the many small dataclasses without a parallel schema. A file from another version (or a
damaged one) is set aside and the playground starts fresh.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

from fakes.slack import Workspace

log = logging.getLogger(__name__)

FORMAT = 1
_RUNTIME_ONLY = ("_waiters", "_listeners", "triggers", "response_urls")


def save_workspace(state: Workspace, path: Path) -> None:
    data: dict[str, Any] = {k: v for k, v in vars(state).items() if k not in _RUNTIME_ONLY}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as out:
        pickle.dump({"format": FORMAT, "state": data}, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def load_workspace(path: Path) -> Workspace | None:
    if not path.exists():
        return None
    try:
        with path.open("rb") as source:
            saved = pickle.load(source)
        if saved.get("format") != FORMAT:
            raise ValueError(f"format {saved.get('format')}")
        state = Workspace.__new__(Workspace)
        vars(state).update(saved["state"])
        state._waiters, state._listeners = [], []
        state.triggers, state.response_urls = {}, {}
        return state
    except Exception as err:
        aside = path.with_suffix(".unreadable")
        os.replace(path, aside)
        log.warning(
            "could not read the saved playground (%s); starting fresh, old file kept at %s", err, aside
        )
        return None
