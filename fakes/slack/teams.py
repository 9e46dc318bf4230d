"""Several workspaces behind one Slack, for installs through OAuth: ``oauth.v2.access`` installs the app in
the workspace whose installer allowed it, and every Web API call goes to the workspace whose token it
carries, as Slack does.

Each workspace is a whole :class:`FakeSlack` of its own (state, deliveries, files), mounted under
``/t/<team id>/`` so that the URLs it hands out (uploads, response URLs, private files) lead back to it.
At the root:

- ``GET /oauth/v2/authorize?client_id&scope&state&redirect_uri&team=T…``: the installer of workspace ``team``
  allows the app; 302 to ``redirect_uri`` with a one-time ``code`` and the ``state`` (no ``team``:
  the first workspace). A wrong ``client_id`` is refused (400).
- ``POST /api/oauth.v2.access``: the code (or, with token rotation, ``grant_type=refresh_token``) for a
  bot token of that workspace, client credentials checked (form fields or HTTP Basic), as Slack answers it.
- ``POST /api/api.test``: no token needed.
- ``POST /api/<method>``: to the workspace of the bearer token; a token no workspace has is
  ``invalid_auth``, a revoked one ``token_revoked``.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from fakes.asgi import serve_asgi
from fakes.slack.api.params import bearer, read_call
from fakes.slack.app import FakeSlack

PREFIX = "/t/"
TOKEN_LIFETIME_S = 43_200  # what Slack gives a rotating token: 12 hours


@dataclass
class Grant:
    """What one ``oauth.v2.access`` handed out."""

    team_id: str
    token: str
    refresh_token: str | None = None


@dataclass
class FakeSlackTeams:
    """The workspaces, by team id (each a FakeSlack built with its own ``Workspace(team=Team(...))``)."""

    teams: Mapping[str, FakeSlack]
    client_id: str = "1111.2222"
    client_secret: str = "fake-client-secret"
    rotation: bool = False  # tokens expire and come with a refresh token
    origin: str | None = None
    grants: list[Grant] = field(default_factory=list)
    calls: list[tuple[str, str | None]] = field(default_factory=list)  # (method, team the token is of)
    _codes: dict[str, str] = field(default_factory=dict)  # one-time code -> team
    _revoked: set[str] = field(default_factory=set)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        assert self.origin is not None, "not served yet"
        return f"{self.origin}/api/"

    @property
    def authorize_url(self) -> str:
        assert self.origin is not None, "not served yet"
        return f"{self.origin}/oauth/v2/authorize"

    def set_origin(self, origin: str) -> None:
        self.origin = origin.rstrip("/")
        for team_id, fake in self.teams.items():
            fake.set_origin(f"{self.origin}{PREFIX}{team_id}")

    def team_of(self, token: str | None) -> str | None:
        return next((t for t, fake in self.teams.items() if token and token in fake.bot_tokens), None)

    def revoke(self, team_id: str) -> None:
        """Uninstall from ``team_id``: its tokens stop working (send the event yourself, as Slack would)."""
        fake = self.teams[team_id]
        self._revoked |= fake.bot_tokens
        fake.bot_tokens.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: the workspaces have nothing to start
        path: str = scope["path"]
        if path.startswith(PREFIX):
            team_id, _, rest = path[len(PREFIX) :].partition("/")
            fake = self.teams.get(team_id)
            if fake is None:
                await PlainTextResponse("no such workspace", status_code=404)(scope, receive, send)
                return
            inner = dict(scope, path="/" + rest, raw_path=("/" + rest).encode(), root_path="")
            await fake(inner, receive, send)
            return
        request = Request(scope, receive)
        if path == "/oauth/v2/authorize":
            response = self._authorize(request)
        elif path == "/api/oauth.v2.access":
            response = await self._access(request)
        elif path == "/api/api.test":
            response = JSONResponse({"ok": True, "args": {}})
        elif path.startswith("/api/"):
            refused = await self._api(request, scope, receive, send)
            if refused is None:
                return  # the workspace answered
            response = refused
        else:
            response = PlainTextResponse("not found", status_code=404)
        await response(scope, receive, send)

    # --- the install ---------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id:
            return PlainTextResponse("invalid_client_id", status_code=400)
        team_id = query.get("team") or next(iter(self.teams))
        redirect_uri, state = query.get("redirect_uri"), query.get("state", "")
        if team_id not in self.teams or not redirect_uri:
            return PlainTextResponse("bad_redirect_uri" if team_id in self.teams else "no such team", 400)
        code = secrets.token_hex(8)
        self._codes[code] = team_id
        return RedirectResponse(
            f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302
        )

    def code_for(self, team_id: str) -> str:
        """A code as if the installer of ``team_id`` had allowed the app (for tests that skip the page)."""
        code = secrets.token_hex(8)
        self._codes[code] = team_id
        return code

    async def _access(self, request: Request) -> Response:
        call = await read_call(request)
        params = dict(call.params)
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        self.calls.append(("oauth.v2.access", None))
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return JSONResponse({"ok": False, "error": "invalid_client_id"})
        if params.get("grant_type") == "refresh_token":
            grant = next((g for g in self.grants if g.refresh_token == params.get("refresh_token")), None)
            if grant is None or grant.token in self._revoked:
                return JSONResponse({"ok": False, "error": "invalid_refresh_token"})
            return JSONResponse(self._grant(grant.team_id, refreshed=grant))
        team_id = self._codes.pop(str(params.get("code", "")), None)
        if team_id is None:
            return JSONResponse({"ok": False, "error": "invalid_code"})
        return JSONResponse(self._grant(team_id))

    def _grant(self, team_id: str, *, refreshed: Grant | None = None) -> dict[str, Any]:
        fake = self.teams[team_id]
        state = fake.state
        token = f"xoxb-{team_id}-{next(self._serial)}-{secrets.token_hex(6)}"
        fake.bot_tokens.add(token)
        if refreshed is not None:  # the old token stops working once it has been rotated
            fake.bot_tokens.discard(refreshed.token)
        refresh = (
            (refreshed.refresh_token if refreshed else f"xoxe-1-{secrets.token_hex(8)}")
            if self.rotation
            else None
        )
        self.grants.append(Grant(team_id, token, refresh))
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": state.app_id,
            "authed_user": {"id": next(iter(state.directory.users), "U0INSTALLER")},
            "scope": "chat:write,commands,files:read,files:write,reactions:read,reactions:write",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": state.bot.id,
            "team": {"id": team_id, "name": state.team.name},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if refresh is not None:
            answer |= {"refresh_token": refresh, "expires_in": TOKEN_LIFETIME_S}
        return answer

    # --- the Web API ---------------------------------------------------------------------------------

    async def _api(self, request: Request, scope: Scope, receive: Receive, send: Send) -> Response | None:
        token = bearer(request)
        if token is None:  # in the body, then: read it, and hand the body on
            body = await request.body()
            call = await read_call(request)
            token = call.token

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay
        team_id = self.team_of(token)
        self.calls.append((scope["path"].rpartition("/")[2], team_id))
        if team_id is None:
            error = "token_revoked" if token in self._revoked else "invalid_auth" if token else "not_authed"
            return JSONResponse({"ok": False, "error": error})
        await self.teams[team_id](scope, receive, send)
        return None


@contextlib.asynccontextmanager
async def serve_fake_teams(teams: FakeSlackTeams) -> AsyncIterator[FakeSlackTeams]:
    async with serve_asgi(teams) as origin:
        teams.set_origin(origin)
        try:
            yield teams
        finally:
            for fake in teams.teams.values():
                with contextlib.suppress(Exception):
                    await fake.aclose()
