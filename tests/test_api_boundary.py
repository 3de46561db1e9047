"""The client library stays free of Home Assistant, so it could be published on its own."""

from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).parents[1] / "custom_components" / "pbx_bridge" / "api"


def test_api_never_imports_home_assistant() -> None:
    offenders = []
    for path in sorted(API.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "homeassistant"]
    assert offenders == []
    assert (API / "py.typed").exists()
