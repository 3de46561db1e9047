"""The Home Assistant layer names no provider: everything provider-specific is declared in
the provider's client module (`api/providers/`), and the integration derives it from there."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
import re

import pytest

from custom_components.pbx_bridge.api import PROVIDERS

PACKAGE = Path(__file__).parents[1] / "custom_components/pbx_bridge"
HA_MODULES = sorted(PACKAGE.glob("*.py"))


def _provider_names() -> re.Pattern[str]:
    """Provider ids and the words of their titles ("Yemot (call2all)": yemot, call2all)."""
    words: set[str] = set()
    for provider, cls in PROVIDERS.items():
        words.add(provider)
        words |= {w for w in re.findall(r"[a-z0-9]+", cls.declaration.title.lower()) if len(w) > 3}
    words -= {"bridge"}
    return re.compile("|".join(sorted(map(re.escape, words))), re.IGNORECASE)


NAMES = _provider_names()


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the nodes that are docstrings."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                found.add(id(body[0].value))
    return found


def _code_words(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every identifier and string in code: comments and docstrings left out."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        match node:
            case ast.Constant(value=str() as text) if id(node) not in docstrings:
                yield line, text
            case ast.Name(id=name) | ast.Attribute(attr=name) | ast.arg(arg=name):
                yield line, name
            case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name):
                yield line, name
            case ast.ClassDef(name=name):
                yield line, name
            case ast.ImportFrom(module=module):
                yield line, module or ""
            case ast.alias(name=name, asname=asname):
                yield line, f"{name} {asname or ''}"
            case ast.keyword(arg=str() as name):
                yield line, name


def provider_names_in_code(source: str) -> list[tuple[int, str]]:
    """Where `source` names a provider outside comments and docstrings."""
    return [(line, text) for line, text in _code_words(source) if NAMES.search(text)]


def test_the_check_finds_provider_names() -> None:
    """The check sees names in code, and only there."""
    source = '''"""Telfa in a docstring is fine."""
# so is Daktela in a comment
from .api.providers.yemot import OPTION_QUEUE_PATHS


def f(x: str) -> str:
    """Odorik here is fine too."""
    return "voipsun" if x else f"{x} Call2All"
'''
    found = provider_names_in_code(source)
    assert [line for line, _ in found] == [3, 8, 8]


@pytest.mark.parametrize("path", HA_MODULES, ids=lambda path: path.name)
def test_home_assistant_layer_names_no_provider(path: Path) -> None:
    assert provider_names_in_code(path.read_text(encoding="utf-8")) == []
