"""The one place where errors become HTTP responses: ``{"Code","Message","RequestId","HostId"}``
with ``x-acs-request-id`` and ``Request-Id`` headers (reference §3, §9.1, §12 #25, #26).

Anything that is not an ``ApiError`` is mapped here too: Starlette's 404/405 become
``InvalidResource.NotFound`` / ``MethodNotAllowed``, FastAPI's request validation becomes
``InvalidUrlPattern``, a commit the store refused (busy or full SQLite file, a PostgreSQL
serialization failure) becomes ``503 ServiceUnavailable`` (nothing was changed: a client may send
the same request again), and any other exception becomes ``InternalError`` with its trace in the
server log only.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError, error
from service.store.engine import STORE_ERRORS

log = logging.getLogger("bcsd.http")
HOST_ID = "bcsd"


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def request_id_of(request: Request) -> str:
    rid = getattr(request.state, "request_id", "")
    if not rid:
        rid = new_request_id()
        request.state.request_id = rid
    return rid


def error_response(err: ApiError, request_id: str) -> JSONResponse:
    return JSONResponse(
        err.to_body(request_id, HOST_ID),
        status_code=err.status,
        headers={"x-acs-request-id": request_id, "Request-Id": request_id},
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc, request_id_of(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            err = error("method_not_allowed")
        elif exc.status_code == 404:
            err = error("not_found")
        else:
            err = error("invalid_url_pattern")
        return error_response(err, request_id_of(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(error("invalid_url_pattern"), request_id_of(request))

    async def _store_failed(request: Request, exc: Exception) -> JSONResponse:
        log.warning("request not committed on %s %s: %s", request.method, request.url.path,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)  # fmt: skip
        return error_response(error("store_busy"), request_id_of(request))

    for store_error in STORE_ERRORS:  # handled inside the app: an answer, not a dropped connection
        app.add_exception_handler(store_error, _store_failed)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(error("internal_error"), request_id_of(request))
