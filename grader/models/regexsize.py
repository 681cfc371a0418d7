"""How big a bank's regular expression gets when the ``regex`` package compiles it.

A counted repeat is expanded while compiling: ``a{4294967294}`` asks for a four-gigabyte program, and
``(?:(?:a{1000}){1000}){1000}`` for a billion steps, before a single answer is matched (the match-time
limit of grader/scoring/patterns.py comes too late). Loading a bank (``validate``, ``release``,
``grade``, the widgets) compiles every pattern, so the bank is refused first, by a static estimate:
each atom counts 1, a counted repeat multiplies what it repeats by its upper bound (its lower bound
when it has none), nested repeats multiply, alternatives add. The scan treats every ``{m}``,
``{m,n}`` or ``{,n}`` outside an escape as a repeat, so it can only over-estimate.
"""
from __future__ import annotations

import re

MAX_PATTERN_CHARS = 5_000
MAX_GROUP_DEPTH = 100
"""Groups inside groups: the regex package parses a pattern recursively, one Python frame per level."""
MAX_EXPANSION = 100_000
"""Atoms a pattern may expand to (``[a-z]{1,100000}`` is the most a bank may ask for)."""
_COUNT = re.compile(r"\{(\d*)(?:,(\d*))?\}")
_CAP = 10 ** 12


def expansion(pattern: str) -> tuple[int, int]:
    """An upper estimate of the atoms ``pattern`` compiles to once its counted repeats are expanded, and how
    deep its groups nest (both over-estimates: a parenthesis in a character class counts too)."""
    stack = [[0, 0]]  # per open group: [total so far, size of the last atom]
    depth = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        level = stack[-1]
        if char == "\\":
            level[0], level[1] = level[0] + 1, 1
            index += 2
            continue
        if char == "(":
            stack.append([0, 0])
            depth = max(depth, len(stack) - 1)
        elif char == ")" and len(stack) > 1:
            size = stack.pop()[0]
            parent = stack[-1]
            parent[0], parent[1] = parent[0] + size, size
        elif char == "|":
            level[1] = 0
        elif char == "{" and (match := _COUNT.match(pattern, index)) and (match.group(1) or match.group(2)):
            low, high = match.group(1), match.group(2)
            bound = int(high) if high else int(low or 0)
            bound = max(1, min(bound, _CAP))
            level[0] = min(level[0] + level[1] * (bound - 1), _CAP)
            level[1] = min(level[1] * bound, _CAP)
            index = match.end()
            continue
        else:
            level[0], level[1] = level[0] + 1, 1
        index += 1
    while len(stack) > 1:  # an unclosed group (the compiler reports it)
        size = stack.pop()[0]
        stack[-1][0] += size
    return stack[0][0], depth


def size_problem(pattern: str) -> str | None:
    """Why ``pattern`` is too big to compile safely (None when it is fine)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"the pattern has {len(pattern):,} characters, more than the {MAX_PATTERN_CHARS:,} a pattern may have"
    size, depth = expansion(pattern)
    if depth > MAX_GROUP_DEPTH:
        return f"the pattern's groups are nested {depth} deep, more than the {MAX_GROUP_DEPTH} allowed"
    if size > MAX_EXPANSION:
        return (f"the pattern's counted repeats expand to about {size:,} steps when it is compiled, more than the "
                f"{MAX_EXPANSION:,} allowed; use an open repeat such as a+ or a{{1,}} instead of a huge count")
    return None
