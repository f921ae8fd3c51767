"""The dashboard's web application (FastAPI): the page, the REST API and /metrics.

- `GET /`: the page (static HTML and a small script that polls `/api/status`);
- `GET /api/status`: every figure the page shows, as JSON (`api_status.status`);
- `POST /api/guard/pause|resume|kill` with `{"reason": "..."}` and `POST
  /api/guard/reset` with `{"confirm": true}`: the admin's switches, through the same
  code as `profitguard guard` (the `act` the command passes in);
- `GET /metrics`: Prometheus' text format (`metrics`).

Everything but /metrics needs HTTP basic auth; /metrics needs the bearer token when
one is set. A POST from another origin is refused (403), a body that is not a JSON
object 400, an action that does not apply (resume under the kill switch) 409.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from profitguard.dashboard.auth import Credentials, same_origin
from profitguard.dashboard.metrics import metrics_text

log = logging.getLogger(__name__)

ACTIONS = ("pause", "resume", "kill", "reset")
PAGE_DIR = Path(str(resources.files("profitguard.dashboard") / "page"))
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class ActionRefused(ValueError):
    """The admin action does not apply to the current state (e.g. resume under a kill)."""


def plotly_script() -> Path:
    """plotly.js as bundled in the installed plotly package (no download, no build)."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(
    *,
    creds: Credentials,
    figures: Callable[[], dict[str, Any]],
    act: Callable[[str, str], dict[str, Any]],
) -> FastAPI:
    """`figures()`: the status document; `act(action, reason)`: switch the guard and
    return its new state as JSON (raises ActionRefused)."""
    app = FastAPI(title="profitguard dashboard", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def guard_requests(request: Request, call_next):
        headers = request.headers
        if request.url.path == "/metrics":
            if not creds.check_metrics(headers.get("authorization")):
                return _error(401, "/metrics needs 'Authorization: Bearer <metrics_token>'")
        elif not creds.check_basic(headers.get("authorization")):
            return JSONResponse(
                {"error": "authentication required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="profitguard", charset="UTF-8"'},
            )
        if request.method not in ("GET", "HEAD") and not same_origin(headers, request.url.scheme):
            log.warning("refused %s %s from origin %s", request.method, request.url.path,
                        headers.get("origin") or headers.get("referer"))  # fmt: skip
            return _error(403, "cross-origin request refused")
        response = await call_next(request)
        response.headers["Cache-Control"] = response.headers.get("Cache-Control", "no-store")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/", response_class=HTMLResponse)
    def page() -> FileResponse:
        return FileResponse(PAGE_DIR / "index.html", media_type="text/html")

    @app.get("/static/dashboard.js")
    def script() -> FileResponse:
        return FileResponse(PAGE_DIR / "dashboard.js", media_type="text/javascript")

    @app.get("/static/dashboard.css")
    def style() -> FileResponse:
        return FileResponse(PAGE_DIR / "dashboard.css", media_type="text/css")

    @app.get("/static/plotly.min.js")
    def plotly() -> FileResponse:
        return FileResponse(
            plotly_script(),
            media_type="text/javascript",
            headers={"Cache-Control": "private, max-age=86400"},
        )

    @app.get("/api/status")
    def api_status() -> JSONResponse:
        return JSONResponse(figures())

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(metrics_text(figures), media_type=PROMETHEUS_TEXT)

    @app.post("/api/guard/{action}")
    async def guard_action(action: str, request: Request) -> JSONResponse:
        if action not in ACTIONS:
            return _error(404, f"no action {action!r}: one of {', '.join(ACTIONS)}")
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/json":
            return _error(400, f"send the body as application/json (was {content_type!r})")
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"bad JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, f"the body must be a JSON object, was {type(body).__name__}")
        allowed = ("confirm",) if action == "reset" else ("reason",)
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            return _error(400, f"unknown field(s) {unknown}: {action} takes {list(allowed)}")
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 500:
            return _error(400, f"'reason' must be a text of at most 500 characters, was {reason!r}")
        if action == "reset" and body.get("confirm") is not True:
            return _error(
                400, 'reset lifts the kill switch and every pause: send {"confirm": true}'
            )
        try:
            state = act(action, reason or f"dashboard {action}")
        except ActionRefused as exc:
            return _error(409, str(exc))
        log.warning("dashboard: %s done (%s)", action, reason or "no reason given")
        return JSONResponse({"action": action, "done": True, "guard": state})

    return app
