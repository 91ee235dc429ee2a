"""The OpenAPI 3.1 document of bcsd, served at ``/openapi.json`` (no auth).

``operations.py`` lists every endpoint as data (method, path, query parameters, request body,
success status, response body, the errors it can answer); ``responses.py`` models the response
bodies bcsd renders; ``document.py`` builds the document from both plus the ``api`` models of
the request bodies. FastAPI's own generator is off: bcsd reads bodies itself (one validation
path, the API's first-error order), so FastAPI would only see ``Request`` parameters and invent
a 422 that bcsd never sends.
"""

from service.openapi.document import build_document

__all__ = ["build_document"]
