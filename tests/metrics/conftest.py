"""The HTTP fixtures (app client, users) serve the metrics tests too."""

from tests.http.conftest import alice, alice_headers, app_pool, client, clock  # noqa: F401
