"""The web UI the server serves at ``/ui``: server-rendered pages (Jinja2 templates) with a small
script that acts and follows live state through the same ``/api/v1`` API as any other client.

``mount(app)`` adds the pages, the static files and the redirect of ``/`` to ``/ui``. Pages read
with the caller's token (a cookie set at sign-in, checked as the API checks a bearer token) and
show only what that token may see; every change (start, kill, save, backfill...) is a request to
the API with the same token, so the API's rules (scopes, namespaces, ``managed_by``) decide.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from controlplane.ui import completions, executions, flows, gitops, namespaces, web


def mount(app: FastAPI) -> None:
    """Serve the UI at ``/ui`` and send ``/`` there."""
    app.add_exception_handler(web.SignInNeeded, web.sign_in_redirect)
    app.mount("/ui/static", StaticFiles(directory=web.STATIC), name="ui-static")
    pages = (executions, flows, namespaces, gitops, completions)
    for router in (web.router, *(module.router for module in pages)):
        app.include_router(router, include_in_schema=False)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=307)
