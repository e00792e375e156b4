"""Hypothesis strategies generated from a scene's parameter declarations (DESIGN.md: the
property-based tests come from PARAMS, like the panel and the CLI)."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from hypothesis import strategies as st

from explorer.params import Bool, Choice, Float, Int, Param, Text


def param_strategy(param: Param, log_scale: bool = False) -> st.SearchStrategy:
    """Every value the parameter's control allows. With ``log_scale``, parameters declared
    ``log=True`` are drawn uniformly in log space (as their log slider spreads them), ends included."""
    if log_scale and getattr(param, "log", False) and param.minimum > 0:
        if isinstance(param, Float):
            return st.one_of(st.sampled_from([param.minimum, param.maximum]),
                             st.floats(0.0, 1.0).map(param.from_unit))
        lo, hi = math.log(param.minimum), math.log(param.maximum)
        return st.floats(0.0, 1.0).map(
            lambda u, p=param: min(p.maximum, max(p.minimum, round(math.exp(lo + u * (hi - lo))))))
    if isinstance(param, Float):
        return st.floats(param.minimum, param.maximum, allow_nan=False)
    if isinstance(param, Int):
        return st.integers(param.minimum, param.maximum)
    if isinstance(param, Choice):
        return st.sampled_from(param.choices)
    if isinstance(param, Bool):
        return st.booleans()
    if isinstance(param, Text):
        # Free text is only valid in the scene's own format (Text.check): its default here; a scene
        # test passes a strategy of valid strings through param_space's overrides.
        return st.just(param.default)
    raise TypeError(f"no strategy for {type(param).__name__}")


def param_space(params: Sequence[Param],
                overrides: Mapping[str, st.SearchStrategy] | None = None,
                log_scale: bool = False) -> st.SearchStrategy[dict]:
    """Dictionaries of one value per parameter; ``overrides`` narrows a parameter (e.g. data size,
    to keep a test fast), and must say why where it is used. ``log_scale``: see param_strategy."""
    overrides = overrides or {}
    return st.fixed_dictionaries({p.name: overrides[p.name] if p.name in overrides
                                  else param_strategy(p, log_scale) for p in params})
