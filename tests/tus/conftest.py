"""The HTTP fixtures (app client, movable clock, a signed-in user) for tus tests."""

from tests.http.conftest import alice, alice_headers, app_pool, client, clock  # noqa: F401
