"""Parse YAML while remembering where every key and list item stood.

Validation happens on plain Python data (dicts, lists, scalars); the positions live in a separate
map from *paths* (tuples of keys and indices, the same shape as pydantic's error ``loc``) to 1-based
``(line, column)``. Keeping the two apart means the models never see ``__line__`` keys.

Parsing is bounded, so a pathological bank is a located error in bounded time and memory, never a
traceback or minutes of CPU: at most ``MAX_BYTES`` of text, ``MAX_DEPTH`` levels of nesting,
``MAX_NODES`` nodes counting every expansion of an alias (an alias bomb of a few lines would expand
to billions), and integers of at most ``MAX_INT_DIGITS`` digits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, ScalarEvent
from ruamel.yaml.nodes import MappingNode, SequenceNode
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from .bounded_read import NotRegularFile, TooLarge, read_regular
from .errors import BankError, BankIssue
from .safetext import has_lone_surrogate

Path_ = tuple[Any, ...]
MAX_BYTES = 2_000_000
MAX_DEPTH = 50
MAX_NODES = 100_000
MAX_INT_DIGITS = 100
_INTEGER = re.compile(r"^[-+]?(?:0[xo])?[0-9a-fA-F_]+$")


class _LimitError(MarkedYAMLError):
    """A limit of this module was hit at a position in the file."""


class _BoundedComposer(Composer):
    """ruamel's composer, counting nodes (aliases by the size they expand to) and refusing huge integers."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._nodes = 0
        self._sizes: dict[int, int] = {}

    def _size(self, node: Any) -> int:
        """Nodes under ``node``, aliases expanded (memoised: a bomb's layers are measured once each)."""
        if id(node) in self._sizes:
            return self._sizes[id(node)]
        total, stack = 0, [node]
        while stack:
            item = stack.pop()
            if id(item) in self._sizes and item is not node:
                total += self._sizes[id(item)]
                continue
            total += 1
            if isinstance(item, SequenceNode):
                stack.extend(item.value)
            elif isinstance(item, MappingNode):
                stack.extend(part for pair in item.value for part in pair)
            if total > MAX_NODES:
                break
        self._sizes[id(node)] = total
        return total

    def _spend(self, count: int, mark: Any, what: str) -> None:
        self._nodes += count
        if self._nodes > MAX_NODES:
            raise _LimitError(None, None, f"the bank holds more than {MAX_NODES:,} nodes{what}", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            anchored = self.anchors.get(event.anchor)
            if anchored is not None:
                self._spend(self._size(anchored), event.start_mark,
                            f" once its aliases are expanded (*{event.anchor} repeats {self._size(anchored):,})")
        else:
            self._spend(1, event.start_mark, "")
            if isinstance(event, ScalarEvent) and event.style is None and len(event.value) > MAX_INT_DIGITS \
                    and _INTEGER.match(event.value):
                raise _LimitError(None, None, f"an integer with {len(event.value):,} digits; at most {MAX_INT_DIGITS}",
                                  event.start_mark)
        return super().compose_node(parent, index)


def format_loc(loc: tuple[Any, ...]) -> str:
    """``('questions', 2, 'options')`` → ``questions[2].options``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class SourceMap:
    """Positions of the nodes of one YAML document, looked up by path."""

    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    block_starts: dict[Path_, int] = field(default_factory=dict)
    """Path → the file line where a block scalar's (``|`` or ``>``) first line of text stands."""

    def text_line(self, loc: Path_, line: int) -> int | None:
        """The file line of line ``line`` (1-based) of the block scalar at ``loc`` (None if it is not one)."""
        start = self.block_starts.get(tuple(loc))
        return None if start is None else start + line - 1

    def locate(self, loc: Path_) -> tuple[int | None, int | None, Path_]:
        """The position of the deepest existing node on ``loc`` and the part of ``loc`` it covers.

        A missing field has no node of its own, so its error points at its parent mapping.
        """
        for end in range(len(loc), -1, -1):
            prefix = tuple(loc[:end])
            if prefix in self.positions:
                line, col = self.positions[prefix]
                return line, col, prefix
        return None, None, ()


def _plain(node: Any, path: Path_, positions: dict[Path_, tuple[int, int]], blocks: dict[Path_, int]) -> Any:
    """Convert ruamel's round-trip nodes to plain data, recording each child's position."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            try:
                line, col = node.lc.key(key)
            except (KeyError, TypeError):
                line, col = node.lc.line, node.lc.col
            positions[path + (key,)] = (line + 1, col + 1)
            if isinstance(value, (LiteralScalarString, FoldedScalarString)):
                try:
                    blocks[path + (key,)] = node.lc.value(key)[0] + 2  # the line after the `|`
                except (KeyError, TypeError):
                    pass
            out[key] = _plain(value, path + (key,), positions, blocks)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for index, value in enumerate(node):
            try:
                line, col = node.lc.item(index)
            except (KeyError, TypeError):
                line, col = node.lc.line, node.lc.col
            positions[path + (index,)] = (line + 1, col + 1)
            out_list.append(_plain(value, path + (index,), positions, blocks))
        return out_list
    if isinstance(node, str):
        return str(node)  # drop ruamel's scalar-string subclasses (folded/literal markers)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def parse_yaml_text(text: str, path: str) -> tuple[Any, SourceMap]:
    """Parse ``text`` (already decoded) into plain data and its source map.

    Syntax errors and duplicate keys become a :class:`BankError` at the line ruamel reports.
    """
    if len(text) > MAX_BYTES:
        raise BankError.single(path, f"the file has {len(text):,} characters, more than the {MAX_BYTES:,} a bank may have",
                               line=1)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.max_depth = MAX_DEPTH
    yaml.Composer = _BoundedComposer
    try:
        document = yaml.load(text)
    except (_LimitError, MaxDepthExceededError) as exc:
        mark = exc.problem_mark
        problem = exc.problem if isinstance(exc, _LimitError) else f"the bank is nested more than {MAX_DEPTH} levels deep"
        raise BankError.single(path, problem, line=mark.line + 1 if mark else 1,
                               column=mark.column + 1 if mark else None) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or "invalid YAML").strip()
        if exc.context and exc.context not in problem:
            problem = f"{exc.context.strip()}: {problem}"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise BankError.single(path, f"YAML syntax error: {problem}", line=line, column=column) from None
    except YAMLError as exc:
        raise BankError.single(path, f"YAML error: {str(exc)[:300]}", line=1) from None
    except RecursionError:
        raise BankError.single(path, "YAML error: the file is nested too deeply", line=1) from None
    except ValueError as exc:  # a value ruamel could not convert (e.g. a date out of range)
        raise BankError.single(path, f"YAML error: {str(exc)[:200]}", line=1) from None
    positions: dict[Path_, tuple[int, int]] = {(): (1, 1)}
    blocks: dict[Path_, int] = {}
    data, source = _plain(document, (), positions, blocks), SourceMap(positions, blocks)
    bad = list(_invalid_strings(data, ()))
    if bad:
        issues = []
        for loc in bad:
            line, column, _ = source.locate(loc)
            issues.append(BankIssue(path, line, column, format_loc(loc),
                                    "a text with a lone surrogate escape (\\ud800-\\udfff) is not valid Unicode; "
                                    "write the character itself"))
        raise BankError(issues)
    return data, source


def _invalid_strings(node: Any, loc: Path_):
    """Paths of the strings (keys included) that hold a lone surrogate: no file, notebook or page can hold them."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and has_lone_surrogate(key):
                yield loc + (key,)
            yield from _invalid_strings(value, loc + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _invalid_strings(value, loc + (index,))
    elif isinstance(node, str) and has_lone_surrogate(node):
        yield loc


def read_text(path: Path) -> str:
    """Read a bank file as UTF-8, turning undecodable bytes into a located error."""
    try:
        raw = read_regular(path, MAX_BYTES)
    except NotRegularFile:
        raise BankError.single(path, "not a regular file (a pipe or a device); nothing was read", line=1) from None
    except TooLarge:
        raise BankError.single(path, f"the file is more than the {MAX_BYTES:,} bytes a bank may have", line=1) from None
    except FileNotFoundError:
        raise BankError.single(path, "no such file") from None
    except IsADirectoryError:
        raise BankError.single(path, "is a folder, expected a .yaml file") from None
    except OSError as exc:
        raise BankError.single(path, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BankError.single(
            path, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the file as UTF-8",
            line=line, column=column) from None
    return text.removeprefix("\ufeff")
