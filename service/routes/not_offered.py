"""Images and apps: parts of the BatchCompute API that bcsd does not offer (reference §5.6, §5.9).

Every method on ``/images…`` and ``/apps…`` answers ``400 UnsupportedOperation`` naming what is
missing and what to do instead, so an SDK or CLI user reads why, not a bare ``NotFound`` that
suggests a wrong id. These routes sit behind the signature check like every API path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from api.errors import error

router = APIRouter()

#: path prefix -> (what, hint) of the ``not_offered`` error
NOT_OFFERED: dict[str, tuple[str, str]] = {
    "images": (
        "Images",
        "instances run on this host's own system (in a sandbox), so an ImageId is accepted and kept "
        "but selects nothing; there is no image to create, list or delete",
    ),
    "apps": (
        "Apps",
        "submit the app's command line as a DAG job (POST /jobs with Type DAG) instead",
    ),
}
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def _refuse(what: str, hint: str) -> Callable[[], Awaitable[None]]:
    async def refuse() -> None:
        raise error("not_offered", what=what, hint=hint)

    return refuse


for prefix, (what, hint) in NOT_OFFERED.items():
    handler = _refuse(what, hint)
    for path in (f"/{prefix}", f"/{prefix}/{{rest:path}}"):
        router.add_api_route(path, handler, methods=METHODS, include_in_schema=False, status_code=400)
