"""Objectives from readings: a declared expression, or a function by import path.

Expressions are parsed once and evaluated by a small AST walker (never
``eval``). They may use numbers, + - * / // % **, parentheses, comparisons,
the functions ``abs min max log log10 exp sqrt``, the constants ``pi`` and
``e``, and readings written either ``device.component`` (``reactor.yield_pct``)
or by their data key (``reactor_yield_pct``).

When the file is loaded, an expression must use a reading, call each function with
its number of arguments, and have no part that fails whatever the readings (a
constant divisor of zero, ``log(-1)``): such an expression is refused then, not
after the first experiment.
"""

from __future__ import annotations

import ast
import importlib
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .errors import SpecError
from .spec import Objective

__all__ = ["ObjectiveEvaluator", "compile_objectives", "compile_outcome_constraints"]

_BIN = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UN = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CMP = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCS: dict[str, Callable[..., float]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sqrt": math.sqrt,
}
_ARITY = {"min": (2, 99), "max": (2, 99), "log": (1, 2)} | {
    f: (1, 1) for f in ("abs", "log10", "exp", "sqrt")
}
_CONSTS = {"pi": math.pi, "e": math.e}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


class ObjectiveEvaluator:
    """One objective, compiled against the reading keys the lab provides."""

    def __init__(
        self, spec: Objective, keys: Mapping[str, str], source: str, where: str | None = None
    ):
        """``keys`` maps every accepted reading name (``reactor.yield_pct`` and
        ``reactor_yield_pct``) to its data key in the run's event; ``where`` names the
        expression's place in the campaign file in errors (default: the objective)."""
        self.spec = spec
        self.name = spec.name
        self.goal = spec.goal
        self._keys = dict(keys)
        self._func: Callable[[dict[str, Any]], float] | None = None
        self._tree: ast.AST | None = None
        where = where or f"objectives[{spec.name}]"
        if spec.function:
            self._func = _import_function(spec.function, source, where)
            self.inputs: list[str] = []
            return
        assert spec.expression is not None
        try:
            self._tree = ast.parse(spec.expression, mode="eval").body
        except SyntaxError as exc:
            raise SpecError(
                source, f"{where}.expression: {spec.expression!r} is not an expression ({exc.msg})"
            ) from None
        self.inputs = sorted(self._check(self._tree, source, where))
        if not self.inputs:
            raise SpecError(
                source,
                f"{where}.expression: {spec.expression!r} uses no reading, so every experiment "
                "would get the same value; write it in terms of the measured readings "
                f"(e.g. {min((k for k in self._keys if '.' in k), default='device.reading')})",
            )

    def _check(self, node: ast.AST, source: str, where: str) -> set[str]:
        used = self._check_node(node, source, where)
        if not used and not isinstance(node, ast.Constant | ast.Name):
            self._constant(node, source, where)
        return used

    def _constant(
        self, node: ast.AST, source: str, where: str, divides: ast.AST | None = None
    ) -> None:
        """Evaluate a part that uses no reading (``divides``: the division it is the divisor
        of): if it fails, or divides by zero, it does so on every experiment."""
        try:
            value = self._eval(node, {})
        except (ArithmeticError, ValueError) as exc:
            why = exc.args[-1] if exc.args else type(exc).__name__
            problem = f"{ast.unparse(node)!r} cannot be computed ({why})"
        else:
            if divides is None or value != 0:
                return
            problem = f"{ast.unparse(divides)!r} divides by zero"
        raise SpecError(
            source,
            f"{where}.expression: {problem}, so the expression would fail on every "
            "experiment; correct that part",
        )

    def _check_node(self, node: ast.AST, source: str, where: str) -> set[str]:
        name = _dotted(node)
        if name is not None and isinstance(node, ast.Name | ast.Attribute):
            if name in _CONSTS:
                return set()
            if name not in self._keys:
                known = sorted(k for k in self._keys if "." in k)
                raise SpecError(
                    source,
                    f"{where}.expression: unknown reading {name!r}; readings of the measured "
                    f"devices are: {', '.join(known)}",
                )
            return {self._keys[name]}
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return set()
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            left = self._check(node.left, source, where)
            right = self._check(node.right, source, where)
            if not right and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
                self._constant(node.right, source, where, divides=node)
            return left | right
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UN:
            return self._check(node.operand, source, where)
        if isinstance(node, ast.Compare) and all(type(o) in _CMP for o in node.ops):
            used = self._check(node.left, source, where)
            for c in node.comparators:
                used |= self._check(c, source, where)
            return used
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS
            and not node.keywords
        ):
            low, high = _ARITY[node.func.id]
            if not low <= len(node.args) <= high:
                takes = f"{low} or more" if high > 9 else f"{low}" if low == high else "1 or 2"
                raise SpecError(
                    source,
                    f"{where}.expression: {ast.unparse(node)!r}: {node.func.id} takes {takes} "
                    f"argument{'' if takes == '1' else 's'}, not {len(node.args)}",
                )
            used: set[str] = set()
            for a in node.args:
                used |= self._check(a, source, where)
            return used
        raise SpecError(
            source,
            f"{where}.expression: {ast.unparse(node)!r} is not allowed; use numbers, readings, "
            f"+ - * / ** and {', '.join(_FUNCS)}",
        )

    def __call__(self, readings: Mapping[str, Any]) -> float:
        if self._func is not None:
            # the function sees every reading under both of its names:
            # "reactor.yield_pct" (as in expressions) and its data key "reactor_yield_pct"
            both = dict(readings)
            both.update({n: readings[k] for n, k in self._keys.items() if k in readings})
            try:
                return float(self._func(both))
            except SystemExit as exc:  # not the campaign's exit: an evaluation failure
                raise RuntimeError(f"the function called sys.exit({exc.code!r})") from None
        assert self._tree is not None
        return float(self._eval(self._tree, readings))

    def _eval(self, node: ast.AST, r: Mapping[str, Any]) -> Any:
        name = _dotted(node)
        if name is not None and isinstance(node, ast.Name | ast.Attribute):
            if name in _CONSTS:
                return _CONSTS[name]
            return float(r[self._keys[name]])
        if isinstance(node, ast.Constant):
            # in floats: 9 ** 9 ** 9 overflows (an evaluation failure) instead of computing a
            # number with hundreds of millions of digits
            return float(node.value) if isinstance(node.value, int | float) else node.value
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](self._eval(node.left, r), self._eval(node.right, r))
        if isinstance(node, ast.UnaryOp):
            return _UN[type(node.op)](self._eval(node.operand, r))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, r)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comp, r)
                if not _CMP[type(op)](left, right):
                    return 0.0
                left = right
            return 1.0
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCS[node.func.id](*(self._eval(a, r) for a in node.args))
        raise AssertionError(f"unchecked node {ast.dump(node)}")


def _import_function(path: str, source: str, where: str) -> Callable[[dict[str, Any]], float]:
    mod_name, _, attr = (
        path.replace(":", ".").rpartition(".") if ":" not in path else (path.partition(":"))
    )
    try:
        obj: Any = importlib.import_module(mod_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise SpecError(
            source,
            f"{where}.function: cannot import {path!r} ({exc}); write module:function, with the "
            "module installed or on PYTHONPATH (the campaign's folder is not searched)",
        ) from None
    except Exception as exc:  # the user's module itself is broken (a SyntaxError, ...)
        raise SpecError(
            source,
            f"{where}.function: importing {mod_name!r} failed: {type(exc).__name__}: {exc}; "
            "fix the module",
        ) from None
    if not callable(obj):
        raise SpecError(source, f"{where}.function: {path!r} is not callable")
    return obj


def compile_objectives(campaign: Any, lab: Any, source: str) -> list[ObjectiveEvaluator]:
    """Compile every objective of ``campaign`` against the readings of its
    measured and moved devices; raises SpecError naming ``source``."""
    keys = lab.reading_keys(campaign.devices)
    return [ObjectiveEvaluator(o, keys, source) for o in campaign.objectives]


def compile_outcome_constraints(campaign: Any, lab: Any, source: str) -> list[tuple[Any, Any]]:
    """(evaluator, constraint) for every outcome constraint of ``campaign``."""
    keys = lab.reading_keys(campaign.devices)
    out = []
    for i, c in enumerate(campaign.constraints):
        if c.kind == "outcome":
            spec = Objective(name=f"constraint{i}", goal="minimize", expression=c.expression)
            out.append((ObjectiveEvaluator(spec, keys, source, f"constraints[{i}]"), c))
    return out
