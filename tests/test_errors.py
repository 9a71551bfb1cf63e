"""`service.errors` names every error, whichever module of the package defines it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import service.errors
from service.errors import VideoRefresherError


def test_every_error_of_the_package_is_exported_from_service_errors() -> None:
    # Given every error class defined in a module of the package
    defined = {
        name
        for info in pkgutil.iter_modules(service.errors.__path__, "service.errors.")
        for name, value in vars(importlib.import_module(info.name)).items()
        if inspect.isclass(value)
        and issubclass(value, VideoRefresherError)
        and value.__module__ == info.name
    }
    # Then `from service.errors import X` finds each, and names nothing else
    assert defined == set(service.errors.__all__)
    assert all(getattr(service.errors, name).__name__ == name for name in defined)
