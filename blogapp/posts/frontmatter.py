"""Front matter YAML loaded with bounded work: PyYAML's safe loaders, measured before they build.

PyYAML composes a graph of nodes in which an alias is the very node its anchor names, so the
graph stays as small as the text; building Python values from it copies every alias, and a
merge key (``<<: [*a, *a]``) copies the merged pairs, which is where a 1.4 KB text turns into
2**40 values (a billion laughs, or merges nested 40 deep). ``load`` measures the graph as if
every alias were a copy, in time linear in the graph, and refuses it before construction
starts; the pure-Python loader also stops composing at the first node over the limits.

Pure: no Flask, no file access (posts.py calls it).
"""

from __future__ import annotations

from typing import Any

import yaml

#: Most values (keys included) front matter may hold once aliases and merge keys are expanded.
MAX_VALUES = 10_000
#: Deepest nesting of lists and mappings front matter may use.
MAX_DEPTH = 50
#: libyaml's loader is much faster, which matters with thousands of posts.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Unbounded(Exception):
    """Front matter whose values, once aliases and merge keys expand, are too many or too deep."""

    def __init__(self, mark: yaml.Mark, problem: str) -> None:
        super().__init__(problem)
        self.problem_mark = mark
        self.problem = problem


class _CountingLoader(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, stopping as soon as it has composed more nodes than
    front matter may hold, or nests deeper than it may: long front matter (up to
    BLOG_MAX_POST_BYTES of keys) costs a moment, not the seconds composing all of it takes."""

    _nodes = 0
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._nodes += 1
        self._depth += 1
        try:
            if self._nodes > MAX_VALUES or self._depth > MAX_DEPTH + 1:
                problem = (
                    f"front matter nests deeper than {MAX_DEPTH} levels"
                    if self._depth > MAX_DEPTH + 1
                    else f"front matter has over {MAX_VALUES} values"
                )
                raise Unbounded(self.peek_event().start_mark, problem)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


SAFE_LOADER = _CountingLoader


def load(front: str, loader_class: type) -> Any:
    """The value of the YAML document ``front``, read with ``loader_class`` (FAST_LOADER or
    SAFE_LOADER), or None for an empty document.

    :raise Unbounded: (with the mark of the node at fault) when the document would expand
        past MAX_VALUES or MAX_DEPTH, or refers to itself; yaml.YAMLError when it is no YAML.
    """
    loader = loader_class(front)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Raise Unbounded if ``root`` expands (aliases as copies) to more than
    MAX_VALUES nodes, nests deeper than MAX_DEPTH, or refers to
    itself (a cycle expands without end).

    Each node is measured once (a post-order walk with memo, no recursion), however often
    aliases repeat it; a merge key's value counts as what it merges, an upper bound of the
    pairs PyYAML's constructor copies.
    """
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)
    open_: set[int] = {id(root)}
    stack = [(root, iter(_children(root)))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if id(child) in measured:
                continue
            if id(child) in open_:
                raise Unbounded(child.start_mark, "front matter refers to itself (an alias inside its own anchor)")
            open_.add(id(child))
            stack.append((child, iter(_children(child))))
            break
        else:
            stack.pop()
            open_.discard(id(node))
            parts = [measured[id(child)] for child in _children(node)]
            size = 1 + sum(part[0] for part in parts)
            height = 1 + max((part[1] for part in parts), default=0)
            if size > MAX_VALUES:
                raise Unbounded(
                    node.start_mark,
                    f"front matter is too big once aliases and merge keys expand (over {MAX_VALUES} values)",
                )
            if height > MAX_DEPTH + 1:  # the root is at depth 0
                raise Unbounded(node.start_mark, f"front matter nests deeper than {MAX_DEPTH} levels")
            measured[id(node)] = (size, height)
