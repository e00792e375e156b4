"""Hypothesis strategies generated from a scene's parameter declarations (DESIGN.md: the
property-based tests come from PARAMS, like the panel and the CLI)."""
from __future__ import annotations

from typing import Mapping, Sequence

from hypothesis import strategies as st

from explorer.params import Bool, Choice, Float, Int, Param


def param_strategy(param: Param) -> st.SearchStrategy:
    """Every value the parameter's control allows."""
    if isinstance(param, Float):
        return st.floats(param.minimum, param.maximum, allow_nan=False)
    if isinstance(param, Int):
        return st.integers(param.minimum, param.maximum)
    if isinstance(param, Choice):
        return st.sampled_from(param.choices)
    if isinstance(param, Bool):
        return st.booleans()
    raise TypeError(f"no strategy for {type(param).__name__}")


def param_space(params: Sequence[Param],
                overrides: Mapping[str, st.SearchStrategy] | None = None) -> st.SearchStrategy[dict]:
    """Dictionaries of one value per parameter; ``overrides`` narrows a parameter (e.g. data size,
    to keep a test fast), and must say why where it is used."""
    overrides = overrides or {}
    return st.fixed_dictionaries({p.name: overrides[p.name] if p.name in overrides else param_strategy(p)
                                  for p in params})
