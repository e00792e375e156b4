"""Parameter declarations: each scene declares its parameters exactly once.

The parameter panel, the CLI's ``--set name=value``, the session JSON and the
property-based tests are all generated from these declarations.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence


class ParamError(ValueError):
    """A parameter name or value the scene does not allow (message is user-facing)."""


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    help: str
    label: str = ""
    # live=True: takes effect at the next step; live=False: a change starts a new run.
    live: bool = False
    group: str = ""
    # Show the control only while other parameters have these values, e.g. {"classifier": ("svm",)}.
    show_if: Mapping[str, tuple] | None = None
    # hidden=True: no control in the panel (a value set by the view, e.g. typed weights); still saved,
    # replayed and settable with --set.
    hidden: bool = False

    def relevant(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter matters for these values (the panel hides it otherwise)."""
        return all(values.get(name) in allowed for name, allowed in (self.show_if or {}).items())

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def validate(self, value: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """Parse a value typed on the command line, then validate it."""
        return self.validate(text)

    def allowed(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def _number(param: Param, value: Any, kind: type) -> float:
    if isinstance(value, bool):
        raise ParamError(f"{param.name}: expected a number, got {value!r}; allowed: {param.allowed()}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParamError(f"{param.name}: {value!r} is not a number; allowed: {param.allowed()}") from None
    if not math.isfinite(number):
        raise ParamError(f"{param.name}: {value!r} is not finite; allowed: {param.allowed()}")
    if kind is int and number != int(number):
        raise ParamError(f"{param.name}: {value!r} is not a whole number; allowed: {param.allowed()}")
    return number


@dataclass(frozen=True)
class Float(Param):
    minimum: float = 0.0
    maximum: float = 1.0
    log: bool = False
    decimals: int = 3

    def __post_init__(self) -> None:
        assert self.minimum < self.maximum, self.name
        assert not self.log or self.minimum > 0, f"{self.name}: log scale needs a positive minimum"
        assert self.minimum <= self.default <= self.maximum, f"{self.name}: default out of range"

    def allowed(self) -> str:
        scale = ", log scale" if self.log else ""
        return f"a number from {self.minimum:g} to {self.maximum:g}{scale}"

    def validate(self, value: Any) -> float:
        number = _number(self, value, float)
        if not self.minimum <= number <= self.maximum:
            raise ParamError(f"{self.name}: {number:g} is out of range; allowed: {self.allowed()}")
        return number

    # The slider works on [0, 1]; these map between it and the value.
    def to_unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.minimum)) / (math.log(self.maximum) - math.log(self.minimum))
        return (value - self.minimum) / (self.maximum - self.minimum)

    def from_unit(self, unit: float) -> float:
        unit = min(1.0, max(0.0, unit))
        if unit in (0.0, 1.0):  # exact ends, not exp(log(x)) round-off
            return self.minimum if unit == 0.0 else self.maximum
        if self.log:
            value = math.exp(math.log(self.minimum) + unit * (math.log(self.maximum) - math.log(self.minimum)))
        else:
            value = self.minimum + unit * (self.maximum - self.minimum)
        return min(self.maximum, max(self.minimum, value))


@dataclass(frozen=True)
class Int(Param):
    minimum: int = 0
    maximum: int = 100
    log: bool = False

    def __post_init__(self) -> None:
        assert self.minimum < self.maximum, self.name
        assert self.minimum <= self.default <= self.maximum, f"{self.name}: default out of range"

    def allowed(self) -> str:
        return f"a whole number from {self.minimum} to {self.maximum}"

    def validate(self, value: Any) -> int:
        number = int(_number(self, value, int))
        if not self.minimum <= number <= self.maximum:
            raise ParamError(f"{self.name}: {number} is out of range; allowed: {self.allowed()}")
        return number


@dataclass(frozen=True)
class Choice(Param):
    choices: tuple[str, ...] = ()
    # Optional display names, same order as choices.
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        assert self.default in self.choices, f"{self.name}: default not among choices"
        assert not self.labels or len(self.labels) == len(self.choices)

    def allowed(self) -> str:
        return "one of " + ", ".join(self.choices)

    def validate(self, value: Any) -> str:
        if value not in self.choices:
            raise ParamError(f"{self.name}: {value!r} is not allowed; allowed: {self.allowed()}")
        return value

    def display(self, value: str) -> str:
        return self.labels[self.choices.index(value)] if self.labels else value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Bool(Param):
    def allowed(self) -> str:
        return "true or false"

    def validate(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ParamError(f"{self.name}: {value!r} is not allowed; allowed: {self.allowed()}")


@dataclass(frozen=True)
class Text(Param):
    """A string of at most ``max_length`` characters; ``check`` (optional) raises ParamError
    for a string it refuses (its message need not name the parameter)."""

    max_length: int = 10_000
    check: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        assert self.max_length >= 0, self.name
        assert isinstance(self.default, str) and len(self.default) <= self.max_length, f"{self.name}: bad default"

    def allowed(self) -> str:
        return f"text of at most {self.max_length:,} characters"

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ParamError(f"{self.name}: expected text, got {type(value).__name__}; allowed: {self.allowed()}")
        if len(value) > self.max_length:
            raise ParamError(f"{self.name}: {len(value):,} characters is too long; allowed: {self.allowed()}")
        if self.check is not None:
            try:
                self.check(value)
            except ParamError as error:
                message = str(error)
                raise ParamError(message if message.startswith(f"{self.name}: ") else f"{self.name}: {message}") \
                    from None
        return value


def defaults(params: Sequence[Param]) -> dict[str, Any]:
    return {p.name: p.default for p in params}


def find(params: Sequence[Param], name: str) -> Param:
    for p in params:
        if p.name == name:
            return p
    raise ParamError(f"unknown parameter {name!r}; allowed: {', '.join(p.name for p in params)}")


def resolve(params: Sequence[Param], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated with validated overrides; raises ParamError on any bad name or value."""
    values = defaults(params)
    for name, value in (overrides or {}).items():
        values[name] = find(params, name).validate(value)
    return values


def parse_assignments(params: Sequence[Param], assignments: Sequence[str]) -> dict[str, Any]:
    """Parse CLI ``NAME=VALUE`` strings into validated values."""
    values: dict[str, Any] = {}
    for text in assignments:
        name, sep, raw = text.partition("=")
        if not sep:
            raise ParamError(f"--set {text!r}: expected NAME=VALUE")
        values[name.strip()] = find(params, name.strip()).parse(raw.strip())
    return values
