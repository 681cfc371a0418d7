"""Parse YAML while remembering where every key and list item stood.

Validation happens on plain Python data (dicts, lists, scalars); the positions live in a separate
map from *paths* (tuples of keys and indices, the same shape as pydantic's error ``loc``) to 1-based
``(line, column)``. Keeping the two apart means the models never see ``__line__`` keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import BankError

Path_ = tuple[Any, ...]


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
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or "invalid YAML").strip()
        if exc.context and exc.context not in problem:
            problem = f"{exc.context.strip()}: {problem}"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise BankError.single(path, f"YAML syntax error: {problem}", line=line, column=column) from None
    except YAMLError as exc:
        raise BankError.single(path, f"YAML error: {exc}") from None
    positions: dict[Path_, tuple[int, int]] = {(): (1, 1)}
    blocks: dict[Path_, int] = {}
    return _plain(document, (), positions, blocks), SourceMap(positions, blocks)


def read_text(path: Path) -> str:
    """Read a bank file as UTF-8, turning undecodable bytes into a located error."""
    try:
        raw = path.read_bytes()
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
