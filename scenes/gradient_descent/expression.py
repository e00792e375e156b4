"""Your own f(x, y): a whitelist parser into an expression tree, NumPy evaluation, and exact gradients
by forward-mode automatic differentiation of that tree.

The text is never given to ``eval``, ``exec``, ``compile`` or a symbolic-algebra parser: a hand-written
tokenizer accepts only numbers, the names ``x``, ``y``, ``pi``, ``e`` and the functions in FUNCTIONS,
the operators + − * / ** (and unary ±), parentheses and commas; anything else is refused with the column
where it starts. Numbers are floats from the start, so a constant like ``9**9**9`` is an overflow to
infinity (refused: "overflows"), never a huge integer that takes forever.

Trees are nested tuples (picklable, so a Surface built from one crosses to worker processes):
``("num", v)``, ``("var", "x" | "y")``, ``("neg", a)``, ``(op, a, b)`` for op in add/sub/mul/div/pow,
``("call", name, (args...))``.

Derivatives where the function is not differentiable: ``abs`` uses the subgradient sign(u) (0 at u = 0);
``min(a, b)`` / ``max(a, b)`` take the gradient of the argument that is chosen, the first one at a tie;
``sqrt`` at 0 and ``log`` at 0 have infinite derivatives (the optimiser then stops as diverged).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Longest expression accepted (characters), deepest nesting, most tree nodes.
MAX_LENGTH = 400
MAX_DEPTH = 40
MAX_NODES = 400

#: Function name -> number of arguments.
FUNCTIONS = {"sin": 1, "cos": 1, "tan": 1, "exp": 1, "log": 1, "sqrt": 1, "abs": 1, "tanh": 1, "sigmoid": 1,
             "sinh": 1, "cosh": 1, "atan": 1, "min": 2, "max": 2}
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")
OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


class ExpressionError(ValueError):
    """A refused expression; the message says what and where (1-based column)."""


# -- tokens ----------------------------------------------------------------------------------------------
def tokenize(text: str) -> list[tuple[str, Any, int]]:
    """(kind, value, column) tokens: kind in num, name, op ('+', '-', '*', '/', '**'), '(', ')', ','."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    tokens: list[tuple[str, Any, int]] = []
    i = 0
    while i < len(text):
        c = text[i]
        column = i + 1
        if c in " \t":
            i += 1
        elif c.isascii() and (c.isdigit() or (c == "." and i + 1 < len(text) and text[i + 1].isdigit())):
            j = i
            while j < len(text) and text[j].isascii() and text[j].isdigit():
                j += 1
            if j < len(text) and text[j] == ".":
                j += 1
                while j < len(text) and text[j].isascii() and text[j].isdigit():
                    j += 1
            if j < len(text) and text[j] in "eE":
                k = j + 1
                if k < len(text) and text[k] in "+-":
                    k += 1
                if k < len(text) and text[k].isascii() and text[k].isdigit():
                    while k < len(text) and text[k].isascii() and text[k].isdigit():
                        k += 1
                    j = k
            value = float(text[i:j])
            if not math.isfinite(value):
                raise ExpressionError(f"the number {text[i:j]} at column {column} is too large")
            tokens.append(("num", value, column))
            i = j
        elif c.isascii() and c.isalpha():
            j = i
            while j < len(text) and text[j].isascii() and (text[j].isalnum()):
                j += 1
            tokens.append(("name", text[i:j], column))
            i = j
        elif text.startswith("**", i):
            tokens.append(("op", "**", column))
            i += 2
        elif c in "+-*/":
            tokens.append(("op", c, column))
            i += 1
        elif c in "(),":
            tokens.append((c, c, column))
            i += 1
        elif c == "^":
            raise ExpressionError(f"'^' at column {column}: write powers as ** (x**2)")
        elif c == ".":
            raise ExpressionError(f"'.' at column {column}: attribute access is not allowed")
        else:
            raise ExpressionError(f"unexpected character {c!r} at column {column}; allowed: numbers, x, y, "
                                  f"+ - * / **, parentheses and the functions {', '.join(FUNCTIONS)}")
    return tokens


# -- parser ----------------------------------------------------------------------------------------------
class _Parser:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ;
    unary := ('+'|'-') unary | power ; power := atom ('**' unary)? ; atom := num | name | call | '(' expr ')'."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.nodes = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", None, len(self.text) + 1)

    def take(self):
        token = self.peek()
        self.i += 1
        return token

    def node(self, tree: tuple) -> tuple:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts")
        return _fold(tree, self.peek()[2])

    def enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested too deeply at column {column} (at most {MAX_DEPTH} levels)")

    def parse(self) -> tuple:
        if not self.tokens:
            raise ExpressionError("the expression is empty: type a function of x and y, e.g. x**2 + y**2")
        tree = self.expr()
        kind, value, column = self.peek()
        if kind == ")":
            raise ExpressionError(f"unbalanced parenthesis: ')' at column {column} has no '('")
        if kind != "end":
            raise ExpressionError(f"unexpected {value!r} at column {column}")
        return tree

    def expr(self) -> tuple:
        tree = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            _, op, _ = self.take()
            tree = self.node((OPERATORS[op], tree, self.term()))
        return tree

    def term(self) -> tuple:
        tree = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            _, op, _ = self.take()
            tree = self.node((OPERATORS[op], tree, self.unary()))
        return tree

    def unary(self) -> tuple:
        kind, value, column = self.peek()
        if kind == "op" and value in ("+", "-"):
            self.take()
            self.enter(column)
            operand = self.unary()
            self.depth -= 1
            return operand if value == "+" else self.node(("neg", operand))
        return self.power()

    def power(self) -> tuple:
        base = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] == "**":
            _, _, column = self.take()
            self.enter(column)
            exponent = self.unary()  # right-associative: 2**3**2 = 2**9
            self.depth -= 1
            return self.node(("pow", base, exponent))
        return base

    def atom(self) -> tuple:
        kind, value, column = self.take()
        if kind == "num":
            return self.node(("num", value))
        if kind == "(":
            self.enter(column)
            tree = self.expr()
            self.depth -= 1
            if self.peek()[0] != ")":
                raise ExpressionError(f"unbalanced parenthesis: '(' at column {column} is never closed")
            self.take()
            return tree
        if kind == "name":
            if value in VARIABLES:
                return self.node(("var", value))
            if value in CONSTANTS:
                return self.node(("num", CONSTANTS[value]))
            if value in FUNCTIONS:
                return self.call(value, column)
            raise ExpressionError(f"unknown name {value!r} at column {column}; allowed: x, y, pi, e and "
                                  f"{', '.join(FUNCTIONS)}")
        if kind == "end":
            raise ExpressionError(f"the expression ends too early at column {column}: a number, x, y or '(' "
                                  f"is missing")
        if kind == ")":
            raise ExpressionError(f"unexpected ')' at column {column}")
        raise ExpressionError(f"unexpected {value!r} at column {column}")

    def call(self, name: str, column: int) -> tuple:
        if self.peek()[0] != "(":
            raise ExpressionError(f"{name} at column {column} needs parentheses: {name}(...)")
        _, _, open_column = self.take()
        self.enter(open_column)
        args = [self.expr()]
        while self.peek()[0] == ",":
            self.take()
            args.append(self.expr())
        self.depth -= 1
        if self.peek()[0] != ")":
            raise ExpressionError(f"unbalanced parenthesis: '(' at column {open_column} is never closed")
        self.take()
        if len(args) != FUNCTIONS[name]:
            raise ExpressionError(f"{name} at column {column} takes {FUNCTIONS[name]} argument"
                                  f"{'s' if FUNCTIONS[name] > 1 else ''}, got {len(args)}")
        return self.node(("call", name, tuple(args)))


def _fold(tree: tuple, column: int) -> tuple:
    """A constant subtree becomes its value; a constant that overflows or is undefined is refused."""
    if tree[0] in ("num", "var"):
        return tree
    children = tree[2] if tree[0] == "call" else tree[1:]
    if all(child[0] == "num" for child in children):
        value = float(evaluate(tree, np.float64(0.0), np.float64(0.0)))
        if not math.isfinite(value):
            raise ExpressionError(f"a constant part before column {column} overflows or is undefined ({value})")
        return ("num", value)
    return tree


def parse(text: str) -> tuple:
    """The expression tree of ``text``, or ExpressionError saying what is wrong and where."""
    if not isinstance(text, str):
        raise ExpressionError("the expression must be text")
    return _Parser(text).parse()


def uses_variables(tree: tuple) -> bool:
    if tree[0] == "var":
        return True
    if tree[0] == "num":
        return False
    children = tree[2] if tree[0] == "call" else tree[1:]
    return any(uses_variables(child) for child in children)


# -- evaluation with derivatives ----------------------------------------------------------------------------
def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def dual(tree: tuple, x, y) -> tuple[Any, Any, Any]:
    """(f, ∂f/∂x, ∂f/∂y) at (x, y) (scalars or equal-shaped arrays), by forward-mode differentiation."""
    kind = tree[0]
    if kind == "num":
        zero = np.zeros_like(x, dtype=float) if isinstance(x, np.ndarray) else np.float64(0.0)
        return np.float64(tree[1]), zero, zero  # NumPy floats: an overflow is inf, never OverflowError
    if kind == "var":
        one = np.ones_like(x, dtype=float) if isinstance(x, np.ndarray) else np.float64(1.0)
        zero = one * 0.0
        return (x, one, zero) if tree[1] == "x" else (y, zero, one)
    if kind == "neg":
        v, dx, dy = dual(tree[1], x, y)
        return -v, -dx, -dy
    if kind in ("add", "sub", "mul", "div"):
        a, ax, ay = dual(tree[1], x, y)
        b, bx, by = dual(tree[2], x, y)
        if kind == "add":
            return a + b, ax + bx, ay + by
        if kind == "sub":
            return a - b, ax - bx, ay - by
        if kind == "mul":
            return a * b, ax * b + a * bx, ay * b + a * by
        q = a / b
        return q, (ax - q * bx) / b, (ay - q * by) / b
    if kind == "pow":
        a, ax, ay = dual(tree[1], x, y)
        if tree[2][0] == "num":  # a**c: c·a^(c−1)·a' (defined for negative a and whole c)
            c = tree[2][1]
            value = a ** c
            slope = c * a ** (c - 1.0) if c != 0 else 0.0 * a
            return value, slope * ax, slope * ay
        b, bx, by = dual(tree[2], x, y)
        value = a ** b
        log_a = np.log(a)
        return value, value * (bx * log_a + b * ax / a), value * (by * log_a + b * ay / a)
    # call
    name, args = tree[1], tree[2]
    if name in ("min", "max"):
        a, ax, ay = dual(args[0], x, y)
        b, bx, by = dual(args[1], x, y)
        first = (a <= b) if name == "min" else (a >= b)
        return np.where(first, a, b), np.where(first, ax, bx), np.where(first, ay, by)
    u, ux, uy = dual(args[0], x, y)
    if name == "sin":
        value, slope = np.sin(u), np.cos(u)
    elif name == "cos":
        value, slope = np.cos(u), -np.sin(u)
    elif name == "tan":
        value = np.tan(u)
        slope = 1.0 + value * value
    elif name == "exp":
        value = np.exp(u)
        slope = value
    elif name == "log":
        value, slope = np.log(u), 1.0 / u
    elif name == "sqrt":
        value = np.sqrt(u)
        slope = 0.5 / value
    elif name == "abs":
        value, slope = np.abs(u), np.sign(u)
    elif name == "tanh":
        value = np.tanh(u)
        slope = 1.0 - value * value
    elif name == "sigmoid":
        value = _sigmoid(u)
        slope = value * (1.0 - value)
    elif name == "sinh":
        value, slope = np.sinh(u), np.cosh(u)
    elif name == "cosh":
        value, slope = np.cosh(u), np.sinh(u)
    elif name == "atan":
        value, slope = np.arctan(u), 1.0 / (1.0 + u * u)
    else:  # pragma: no cover - the parser admits only FUNCTIONS
        raise ExpressionError(f"unknown function {name!r}")
    return value, slope * ux, slope * uy


def evaluate(tree: tuple, x, y):
    """f at (x, y); NaN where undefined, ±inf where it overflows (no warnings)."""
    with np.errstate(all="ignore"):
        return dual(tree, x, y)[0]


def gradient(tree: tuple, x, y):
    """(∂f/∂x, ∂f/∂y) at (x, y), exact (automatic differentiation of the tree)."""
    with np.errstate(all="ignore"):
        _, gx, gy = dual(tree, x, y)
    return gx, gy


def check(text: str) -> None:
    """The expression parameter's check (explorer.params.Text.check): ParamError for a refused text."""
    from explorer.params import ParamError

    try:
        parse(text)
    except ExpressionError as error:
        raise ParamError(str(error)) from None
