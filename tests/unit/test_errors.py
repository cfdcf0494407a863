"""One error hierarchy and one formatter for pydantic's validation errors (chalicelib/errors.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chalicelib.errors import MaooError, describe_validation_error, validation_problems

PACKAGES = ("chalicelib", "cli", "mcp_server", "mock_api", "eval", "bench")


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(ge=1)


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    inner: _Inner
    low: int = 0
    high: int = 0

    @model_validator(mode="after")
    def _ordered(self) -> _Outer:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Outer.model_validate(data)
    return caught.value


def _project_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        names += [
            info.name
            for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
            if not info.name.endswith(".__main__")
        ]  # importing one runs its command
    return names


def test_every_exception_the_project_defines_derives_from_maoo_error():
    defined = []
    for name in _project_modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # bench's LangGraph peer is an optional extra
            if exc.name and not exc.name.startswith(PACKAGES):
                continue
            raise
        defined += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, BaseException) and cls.__module__ == name
        ]
    assert {"NoRouteError", "UnresolvedReferenceError", "ToolFailure", "ScenarioFileError"} <= {
        c.__name__ for c in defined
    }
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in defined if not issubclass(c, MaooError))
    assert outside == []


def test_describe_names_each_field_by_its_dotted_path():
    exc = _error({"name": "x", "inner": {"port": 0}, "extra": 1})
    assert describe_validation_error(exc) == (
        "inner.port: Input should be greater than or equal to 1; extra: Extra inputs are not permitted"
    )


def test_describe_names_a_problem_with_the_whole_value_by_the_root_label():
    exc = _error({"name": "x", "inner": {"port": 1}, "low": 2, "high": 1})
    assert describe_validation_error(exc) == "(root): Value error, low must not exceed high"
    assert describe_validation_error(exc, root="body") == "body: Value error, low must not exceed high"


def test_describe_keeps_at_most_limit_problems_joined_by_sep():
    exc = _error({"extra_a": 1, "extra_b": 2})
    assert len(exc.errors()) == 4  # name and inner missing, two extras
    assert (
        describe_validation_error(exc, limit=2, sep=" | ") == "name: Field required | inner: Field required"
    )


def test_problems_are_field_and_message_pairs_in_pydantics_order():
    exc = _error({"name": 3, "inner": {}})
    assert validation_problems(exc) == [
        ("name", "Input should be a valid string"),
        ("inner.port", "Field required"),
    ]
