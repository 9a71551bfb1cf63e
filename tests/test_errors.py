"""One error hierarchy: every error of the service is defined in the `service/errors` package
and exported by `service.errors`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import service
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


def test_every_error_of_the_service_is_defined_in_the_errors_package() -> None:
    # Given every module of the service imported
    for info in pkgutil.walk_packages(service.__path__, "service."):
        if not info.name.startswith("service.__main__"):
            importlib.import_module(info.name)
    # Then each error class of the service lives in service/errors (one hierarchy)
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _subclasses(VideoRefresherError)
        if cls.__module__.startswith("service.") and not cls.__module__.startswith("service.errors")
    ]
    assert outside == []


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]
