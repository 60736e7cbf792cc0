"""The interactive documentation, served with the app's own copies of Swagger UI and ReDoc (from
the ``fastapi-standalone-docs`` package): ``/docs`` and ``/redoc`` work offline and load nothing
from a CDN or any other site."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(str(files("fastapi_standalone_docs") / "static"))
SWAGGER_ASSETS = "/docs/assets"
REDOC_ASSETS = "/redoc/assets"
FAVICON = "/docs/favicon/favicon.png"


def install_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from local assets. Create the app with
    ``docs_url=None, redoc_url=None`` so FastAPI's CDN-based pages are not mounted."""
    app.mount(SWAGGER_ASSETS, StaticFiles(directory=ASSETS / "swagger"), name="swagger-assets")
    app.mount(REDOC_ASSETS, StaticFiles(directory=ASSETS / "redoc"), name="redoc-assets")
    app.mount("/docs/favicon", StaticFiles(directory=ASSETS / "fastapi"), name="docs-favicon")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=FAVICON,
            # No badge from the online validator: nothing leaves the page.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{REDOC_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
