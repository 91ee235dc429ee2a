"""The catalogue equals the table below (reference §9.3, §9.5, §9.6, docs/contracts.md) and
the keys documented in api/README.md; ``ApiError`` renders the wire error body."""

from __future__ import annotations

import re
from pathlib import Path

from api import ERRORS, ApiError, error

# key -> (code for sample context, HTTP status)
EXPECTED: dict[str, tuple[str, int]] = {
    "json_format": ("InvalidJsonFormat", 400),
    "http_body": ("InvalidHttpBody", 400),
    "json_string": ("InvalidX", 400),
    "json_number": ("InvalidX", 400),
    "json_depth": ("InvalidJsonFormat", 400),
    "missing": ("MissingX", 400),
    "type": ("InvalidX", 400),
    "length": ("InvalidX", 400),
    "size": ("InvalidX", 400),
    "range": ("InvalidX", 400),
    "charset": ("InvalidX", 400),
    "task_charset": ("InvalidX", 400),
    "oss_path": ("InvalidX", 400),
    "local_path": ("InvalidX", 400),
    "local_path_win": ("InvalidX", 400),
    "generic": ("InvalidX", 400),
    "detail": ("InvalidX", 400),
    "bad_dag": ("BadDAG", 400),
    "quota": ("QuotaExhausted.MaxJobCount", 403),
    "idempotent_token_mismatch": ("IdempotentTokenMismatch", 400),
    "invalid_idempotent_token": ("InvalidIdempotentToken", 400),
    "not_found": ("InvalidResource.NotFound", 404),
    "released": ("InvalidResource.Released", 410),
    "already_exists": ("InvalidResource.AlreadyExisting", 403),
    "state_conflict": ("StateConflict", 409),
    "method_not_allowed": ("MethodNotAllowed", 400),
    "invalid_url_pattern": ("InvalidUrlPattern", 400),
    "max_item_count_type": ("InvalidMaxItemCount", 400),
    "max_item_count_range": ("InvalidMaxItemCount", 400),
    "invalid_marker": ("InvalidMarker", 400),
    "body_too_large": ("RequestBodyTooLarge", 413),
    "forbidden": ("Forbidden", 403),
    "not_offered": ("UnsupportedOperation", 400),
    "missing_authorization": ("MissingAuthorization", 400),
    "invalid_authorization": ("InvalidAuthorization", 400),
    "access_key_not_found": ("InvalidAccessKeyId.NotFound", 403),
    "signature_mismatch": ("SignatureDoesNotMatch", 400),
    "time_skewed": ("RequestTimeTooSkewed", 400),
    "nonce_used": ("SignatureNonceUsed", 400),
    "nonce_missing": ("MissingSignatureNonce", 400),
    "nonce_invalid": ("InvalidSignatureNonce", 400),
    "digest_invalid": ("InvalidDigest", 400),
    "digest_mismatch": ("BadDigest", 400),
    "version_not_found": ("InvalidVersion.NotFound", 403),
    "store_busy": ("ServiceUnavailable", 503),
    "internal_error": ("InternalError", 500),
}

CTX = {"param": "X", "type": "string", "min": 0, "max": 1, "detail": "d.", "cycle": "a -> a",
       "quota": "MaxJobCount", "value": 1, "at": "t", "state": "Running", "header": "H",
       "what": "Images", "hint": "h"}  # fmt: skip


def test_catalogue_matches_the_table() -> None:
    assert set(ERRORS) == set(EXPECTED)
    for key, (code, status) in EXPECTED.items():
        built = error(key, **CTX)
        assert (built.code, built.status) == (code, status), key
        assert built.message and "{" not in built.message


def test_readme_documents_every_key_in_order() -> None:
    readme = (Path(__file__).resolve().parents[2] / "api" / "README.md").read_text()
    documented = re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.M)
    assert documented == list(ERRORS)


def test_documented_messages() -> None:
    assert error("state_conflict", state="Running").message == (
        "User operation is invalid. The current resource state is Running."
    )
    assert error("released", at="2026-01-01T00:00:00.000000Z").message == (
        "Specified job was released automatically after it finished at 2026-01-01T00:00:00.000000Z."
    )
    assert error("not_found").message == "Specified resource is not found."
    assert (
        error("method_not_allowed").message == "The request http method is not supported for this resource."
    )


def test_error_body_and_path() -> None:
    err = error("type", "DAG.Tasks.a.Timeout", param="Timeout", type="integer")
    assert isinstance(err, ApiError) and err.path == "DAG.Tasks.a.Timeout"
    assert err.to_body("REQ-1") == {
        "Code": "InvalidTimeout",
        "Message": "Specified parameter Timeout is not valid. Its type must be integer.",
        "RequestId": "REQ-1",
        "HostId": "",
    }
    assert str(err) == err.message
