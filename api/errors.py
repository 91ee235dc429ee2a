"""The one error catalogue of the BatchCompute API, and the exception that carries it.

Hierarchy::

    Exception
     └── ApiError          code + message + HTTP status + property path

Every error the contract (and the service) can produce is built from ``ERRORS`` with
``error(key, **ctx)``: the key names a *rule* (``"type"``, ``"length"``, ``"not_found"`` …),
the context fills the code and message templates. The seed reuses one code for several rules
(``InvalidClusterId`` covers type, length and characters), so keying by rule keeps one entry
per distinct message.

Choice (reference §12 #6): the OSS-path message keeps the seed's U+2018 quotes (``‘oss://‘``)
byte for byte, because the seed's error table is the normative contract our tests transcribe.
Choice (reference §12 #1, #7): the charset message prints ``[a-zA-Z0-9-]`` as in the seed even
though ``_`` is accepted, and the task-name variant keeps the seed's double period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """An API failure as the wire shows it: ``Code``, ``Message`` and HTTP status.

    ``path`` is the dotted property path of the culprit inside the request body
    (``DAG.Tasks.taskA.Parameters.Command.CommandLine``), ``""`` for body-level and
    non-validation errors; the provider's ``check`` shows it next to the message.
    """

    def __init__(self, code: str, message: str, status: int, path: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.path = path

    def to_body(self, request_id: str, host_id: str = "") -> dict[str, str]:
        """The JSON error body of reference §9.1 (``{"Code","Message","RequestId","HostId"}``)."""
        return {"Code": self.code, "Message": self.message, "RequestId": request_id, "HostId": host_id}

    def __repr__(self) -> str:
        return f"ApiError({self.code!r}, {self.message!r}, {self.status}, path={self.path!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiError):
            return NotImplemented
        return (self.code, self.message, self.status, self.path) == (
            other.code,
            other.message,
            other.status,
            other.path,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.status, self.path))


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One catalogue entry: templates filled with ``str.format`` from the error's context."""

    code_template: str
    status: int
    message_template: str


_P = "Specified parameter {param} is not valid."
_OSS = (
    _P + " OSS path must start with \u2018oss://\u2018, must end with \u2018/\u2018 if it is a folder,"
    " and must not end with \u2018/\u2018 if it is a file."
)

#: rule key -> ErrorSpec. Documented in api/README.md; tests/api/test_errors.py checks both agree.
ERRORS: dict[str, ErrorSpec] = {
    # --- body-level (seed) ---
    "json_format": ErrorSpec("InvalidJsonFormat", 400, "The request body has an invalid json format."),
    "http_body": ErrorSpec(
        "InvalidHttpBody", 400, "Specified parameter HttpBody is not valid. Its type must be object."
    ),
    # --- JSON values no response could carry back (api.parse.check_json_value) ---
    "json_string": ErrorSpec(
        "Invalid{param}",
        400,
        _P + " It must be valid Unicode text without NUL (no lone UTF-16 surrogate, no invalid UTF-8).",
    ),
    "json_number": ErrorSpec("Invalid{param}", 400, _P + " It must be a finite number."),
    "json_depth": ErrorSpec(
        "InvalidJsonFormat",
        400,
        "The request body has an invalid json format. It must not nest deeper than {max} levels"
        " (exceeded at {at}).",
    ),
    # --- parameter templates (reference §9.2 T1-T9) ---
    "missing": ErrorSpec("Missing{param}", 400, "{param} is mandatory for this action."),
    "type": ErrorSpec("Invalid{param}", 400, _P + " Its type must be {type}."),
    "length": ErrorSpec("Invalid{param}", 400, _P + " Its length must be in [{min}, {max}]."),
    "size": ErrorSpec("Invalid{param}", 400, _P + " Its size must be in [{min}, {max}]."),
    "range": ErrorSpec("Invalid{param}", 400, _P + " It must be in [{min}, {max}]."),
    "charset": ErrorSpec(
        "Invalid{param}",
        400,
        _P + " It must only contain characters within [a-zA-Z0-9-], and must not start with [0-9].",
    ),
    # the seed prints the task-name variant with a double period (reference §12 #7)
    "task_charset": ErrorSpec(
        "Invalid{param}",
        400,
        _P + " It must only contain characters within [a-zA-Z0-9-], and must not start with [0-9]..",
    ),
    "oss_path": ErrorSpec("Invalid{param}", 400, _OSS),
    "local_path": ErrorSpec("Invalid{param}", 400, _P + " Local path must be an absolute path."),
    "local_path_win": ErrorSpec(
        "Invalid{param}",
        400,
        _P + " Local path must be an absolute path on linux, and a drive letter on windows.",
    ),
    "generic": ErrorSpec("Invalid{param}", 400, _P),
    "detail": ErrorSpec("Invalid{param}", 400, _P + " {detail}"),
    "bad_dag": ErrorSpec("BadDAG", 400, "It is a cyclic dag. Cycle: {cycle}."),
    # --- quotas (seed, 403) ---
    "quota": ErrorSpec("QuotaExhausted.{quota}", 403, "The {quota} ({value}) quota is exhausted."),
    # --- idempotency ---
    "idempotent_token_mismatch": ErrorSpec(
        "IdempotentTokenMismatch", 400, "Specified idempotent token mismatch."
    ),
    "invalid_idempotent_token": ErrorSpec(
        "InvalidIdempotentToken",
        400,
        "Specified parameter IdempotentToken is not valid. Its length must be in [1, 64], and it must only"
        " contain characters within [a-zA-Z0-9_].",
    ),
    # --- resources and requests (reference §9.3, §9.5, docs/contracts.md) ---
    "not_found": ErrorSpec("InvalidResource.NotFound", 404, "Specified resource is not found."),
    "released": ErrorSpec(
        "InvalidResource.Released",
        410,
        "Specified job was released automatically after it finished at {at}.",
    ),
    "already_exists": ErrorSpec("InvalidResource.AlreadyExisting", 403, "Specified resource already exists."),
    "state_conflict": ErrorSpec(
        "StateConflict", 409, "User operation is invalid. The current resource state is {state}."
    ),
    "method_not_allowed": ErrorSpec(
        "MethodNotAllowed", 400, "The request http method is not supported for this resource."
    ),
    "invalid_url_pattern": ErrorSpec(
        "InvalidUrlPattern", 400, "Specified url pattern contains some illegal words."
    ),
    "max_item_count_type": ErrorSpec(
        "InvalidMaxItemCount", 400, "Specified parameter MaxItemCount is not valid. Its type must be integer."
    ),
    "max_item_count_range": ErrorSpec(
        "InvalidMaxItemCount", 400, "Specified parameter MaxItemCount is not valid. It must be in [0, 100]."
    ),
    "invalid_marker": ErrorSpec("InvalidMarker", 400, "Specified parameter Marker is not valid."),
    "body_too_large": ErrorSpec(
        "RequestBodyTooLarge", 413, "The request body is too large. Its size must be at most {max} bytes."
    ),
    "forbidden": ErrorSpec("Forbidden", 403, "User not authorized to operate on the specified resource."),
    # CHOICE (reference §12 #50): what bcsd does not offer says so, rather than a bare NotFound
    "not_offered": ErrorSpec("UnsupportedOperation", 400, "{what} are not offered by bcsd: {hint}."),
    # --- authentication (reference §9.6) ---
    "missing_authorization": ErrorSpec(
        "MissingAuthorization", 400, "Authorization is mandatory for this action."
    ),
    "invalid_authorization": ErrorSpec(
        "InvalidAuthorization",
        400,
        "Specified parameter Authorization is not valid. It must be in the form 'acs AccessKeyId:Signature'.",
    ),
    "access_key_not_found": ErrorSpec(
        "InvalidAccessKeyId.NotFound", 403, "Specified access key is not found."
    ),
    "signature_mismatch": ErrorSpec(
        "SignatureDoesNotMatch",
        400,
        "The request signature does not match the signature the server calculated.",
    ),
    "time_skewed": ErrorSpec(
        "RequestTimeTooSkewed",
        400,
        "The difference between the request time and the server time is too large (more than 15 minutes).",
    ),
    "nonce_used": ErrorSpec("SignatureNonceUsed", 400, "Specified signature nonce was used already."),
    # without a nonce a captured request could be replayed for the whole Date window (issue 10)
    "nonce_missing": ErrorSpec(
        "MissingSignatureNonce", 400, "x-acs-signature-nonce is mandatory for this action."
    ),
    "nonce_invalid": ErrorSpec(
        "InvalidSignatureNonce", 400, "Specified signature nonce is not valid (1 to 128 characters)."
    ),
    # body digests (CHOICE, OSS/S3 spelling): a malformed digest, then one that is not the body's
    "digest_invalid": ErrorSpec(
        "InvalidDigest", 400, "The {header} you specified is not a valid MD5 digest (hex or base64)."
    ),
    "digest_mismatch": ErrorSpec(
        "BadDigest", 400, "The {header} you specified did not match what was received."
    ),
    "version_not_found": ErrorSpec("InvalidVersion.NotFound", 403, "Specified version is not found."),
    # CHOICE (Alibaba Cloud's common 503 code): the store did not commit (busy or full SQLite
    # file, PostgreSQL serialization failure); nothing was changed and the same request may be sent again
    "store_busy": ErrorSpec(
        "ServiceUnavailable", 503,
        "The request could not be stored because the service's database is busy; nothing was changed. "
        "Please try again.",
    ),
    # --- last resort ---
    "internal_error": ErrorSpec(
        "InternalError", 500, "The request processing has been failed due to some unknown error."
    ),
}


def error(key: str, path: str = "", **ctx: Any) -> ApiError:
    """Build the ``ApiError`` for catalogue rule ``key``, filling its templates from ``ctx``.

    An unknown key or a missing context value is a programming error and raises ``KeyError``.
    """
    spec = ERRORS[key]
    return ApiError(
        spec.code_template.format(**ctx),
        spec.message_template.format(**ctx),
        spec.status,
        path,
    )
