"""What every page shares: the templates, who is looking (the sign-in cookie), rendering with
the API's errors turned into pages, and the sign-in and sign-out routes.

The token lives in a cookie ``weir_token`` (``SameSite=Strict``), and the page's script sends
it to the API as a bearer token; the API accepts no cookie, so a page of another site cannot
make it act. The pages allow no inline script and nothing from another origin (the
Content-Security-Policy below), which keeps what a script may read to this UI's own code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from controlplane import __version__
from controlplane.api.auth import OPEN, Principal, principal_of
from controlplane.api.errors import ApiError
from controlplane.errors import WeirError
from controlplane.store.serverports import ServerStore

HERE = Path(__file__).parent
STATIC = HERE / "static"
COOKIE = "weir_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    # Bars and indents are placed with style attributes (CSS variables); no inline script.
    "style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/ui")


class SignInNeeded(WeirError):
    """The server requires a token and the browser has none that is valid."""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["duration"] = duration
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.globals["version"] = __version__
    return env


def when(value: datetime | str | None) -> str:
    """An instant as the UI shows it: UTC, to the second."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m {rest}s"


TEMPLATES = _environment()


def store_of(request: Request) -> ServerStore:
    found: ServerStore = request.app.state.store
    return found


async def viewer(request: Request) -> Principal:
    """Whom the page is for: everyone when the server requires no token, else the token in the
    sign-in cookie (checked as the API checks a bearer token)."""
    if not request.app.state.settings.require_tokens:
        return OPEN
    token = request.cookies.get(COOKIE, "").strip()
    if not token:
        raise SignInNeeded("sign in with a token")
    found = await run_in_threadpool(principal_of, store_of(request), token)
    if found is None:
        raise SignInNeeded("the token is unknown, revoked or expired")
    return found


Viewer = Annotated[Principal, Depends(viewer)]


def page(
    request: Request,
    template: str,
    build: Callable[[], Mapping[str, Any]],
    viewer: Principal,
    status_code: int = 200,
) -> Response:
    """Render ``template`` with what ``build`` reads; an API error becomes an error page."""
    try:
        context = dict(build())
    except ApiError as error:
        return error_page(request, viewer, error.status, str(error))
    return html(request, template, {**context, "viewer": viewer}, status_code)


def html(
    request: Request, template: str, context: Mapping[str, Any], status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    text = TEMPLATES.get_template(template).render(
        request=request,
        path=request.url.path,
        signed_in=settings.require_tokens,
        **context,
    )
    return HTMLResponse(text, status_code=status_code, headers=SECURITY_HEADERS)


def error_page(request: Request, viewer: Principal, status: int, message: str) -> HTMLResponse:
    context = {"viewer": viewer, "status": status, "message": message}
    return html(request, "error.html", context, status)


async def sign_in_redirect(request: Request, error: Exception) -> Response:
    """A page asked for without a valid token sends the browser to the sign-in page."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urlencode({"next": target, "reason": str(error)})
    return RedirectResponse(f"/ui/login?{query}", status_code=303)


def _safe_next(target: str) -> str:
    """Only a path of this UI: never another site after sign-in."""
    return target if target.startswith("/ui") and not target.startswith("//") else "/ui"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/ui", reason: str = "") -> Response:
    context = {"viewer": None, "next": _safe_next(next), "reason": reason}
    return html(request, "login.html", context)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/ui"
) -> Response:
    found = await run_in_threadpool(principal_of, store_of(request), token.strip())
    if found is None:
        context = {
            "viewer": None,
            "next": _safe_next(next),
            "reason": "this token is unknown, revoked or expired; create one with "
            "'weir token create NAME --scope read'",
        }
        return html(request, "login.html", context, 401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=False,  # the page's script sends it to the API as a bearer token
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("", response_class=HTMLResponse)
async def home() -> Response:
    return RedirectResponse("/ui/executions", status_code=307)
