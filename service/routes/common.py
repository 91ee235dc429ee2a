"""Request plumbing shared by the route modules: body reading, paging, the runtime."""

from __future__ import annotations

from fastapi import Request

from api import check_idempotent_token, parse_json_body
from api.errors import error
from service.runtime import Runtime

DEFAULT_PAGE = 50
MAX_PAGE = 100


def rt(request: Request) -> Runtime:
    return request.app.state.rt


async def read_json(request: Request, *, allow_empty: bool = False) -> object:
    raw = await request.body()
    if request.scope.get("state", {}).get("too_large"):
        raise error("body_too_large", max=rt(request).settings.max_body_bytes)
    if allow_empty and not raw.strip():
        return {}
    return parse_json_body(raw)


def idempotent_token(request: Request) -> str:
    """The create call's ``IdempotentToken`` query value (checked: <= 64 of [A-Za-z0-9_]), or ``""``."""
    token = request.query_params.get("IdempotentToken", "")
    if token:
        check_idempotent_token(token)
    return token


def index_number(text: str) -> int | None:
    """A page size, instance id or instance marker: ASCII digits only, at most 9 of them (so it
    fits every store's integer column), else None. ``int()`` alone would take '+5', '1_0', '٣'
    (as 3) and a 20-digit number the store cannot bind; ``str.isdigit`` takes '¹', which
    ``int()`` refuses."""
    if 0 < len(text) <= 9 and text.isascii() and text.isdigit():
        return int(text)
    return None


def page(request: Request) -> tuple[str, int]:
    """(Marker, MaxItemCount): default 50, accept 0-100 with 0 meaning the default (§12 #18)."""
    q = request.query_params
    raw = q.get("MaxItemCount", "").strip()
    if not raw:
        size = DEFAULT_PAGE
    else:
        number = index_number(raw.removeprefix("-"))
        if number is None:
            raise error("max_item_count_type")
        size = -number if raw.startswith("-") else number
        if not 0 <= size <= MAX_PAGE:
            raise error("max_item_count_range")
        size = size or DEFAULT_PAGE
    return q.get("Marker", "").strip(), size
