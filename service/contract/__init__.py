"""The API contract: each route declares its operation next to its handler
(`declare`), and the OpenAPI 3.1 document is built from those declarations and the
app's router, so the document and the routes cannot drift apart unnoticed."""

from service.contract.declare import Raw, declare, operation_of
from service.contract.respond import respond

__all__ = ["Raw", "declare", "operation_of", "respond"]
