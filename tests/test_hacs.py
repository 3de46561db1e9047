"""The checks HACS runs on a repository that need no network: hacs.json's schema, the
manifest keys, the brand images and the licence file."""

from __future__ import annotations

import json
from pathlib import Path
import struct
from typing import Any
from urllib.parse import urlparse

from awesomeversion import AwesomeVersion
import pytest

ROOT = Path(__file__).parents[1]
BRAND = ROOT / "custom_components" / "pbx_bridge" / "brand"
# hacs.json keys HACS accepts, and their types; "name" is required.
HACS_KEYS: dict[str, type] = {
    "name": str,
    "content_in_root": bool,
    "country": list,
    "filename": str,
    "hacs": str,
    "hide_default_branch": bool,
    "homeassistant": str,
    "persistent_directory": str,
    "render_readme": bool,
    "zip_release": bool,
}
# Home Assistant serves a custom integration's own brand/ folder from 2026.3 on.
BRAND_FOLDER_SINCE = AwesomeVersion("2026.3.0")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def hacs() -> dict[str, Any]:
    return json.loads((ROOT / "hacs.json").read_text())


def test_hacs_json_schema(hacs: dict[str, Any]) -> None:
    assert set(hacs) <= set(HACS_KEYS), f"HACS refuses the keys {set(hacs) - set(HACS_KEYS)}"
    assert isinstance(hacs.get("name"), str)
    for key, value in hacs.items():
        assert isinstance(value, HACS_KEYS[key]), key
    # ISO 3166-1 alpha-2 codes of the providers' countries.
    assert hacs["country"] == ["CZ", "IL"]
    assert not hacs["content_in_root"]


def test_minimum_home_assistant_version(hacs: dict[str, Any]) -> None:
    """At least what the brand folder needs, and what the README promises."""
    minimum = AwesomeVersion(hacs["homeassistant"])
    assert minimum >= BRAND_FOLDER_SINCE
    readme = (ROOT / "README.md").read_text()
    assert f"({minimum.major}.{minimum.minor} or newer)" in readme


def test_one_integration_with_manifest_keys() -> None:
    integrations = [p for p in (ROOT / "custom_components").iterdir() if p.is_dir()]
    assert [p.name for p in integrations] == ["pbx_bridge"]
    manifest = json.loads((integrations[0] / "manifest.json").read_text())
    assert manifest["domain"] == "pbx_bridge"
    assert isinstance(manifest["name"], str)
    assert isinstance(manifest["codeowners"], list)
    assert manifest["codeowners"]
    for key in ("documentation", "issue_tracker"):
        url = urlparse(manifest[key])
        assert url.scheme == "https", key
        assert url.netloc, key
    assert AwesomeVersion(manifest["version"]).valid


def test_brand_images() -> None:
    assert _png_size(BRAND / "icon.png") == (256, 256)
    assert _png_size(BRAND / "icon@2x.png") == (512, 512)
    width, height = _png_size(BRAND / "logo.png")
    assert 128 <= min(width, height) <= 256
    assert _png_size(BRAND / "logo@2x.png") == (2 * width, 2 * height)
    # Dark variants, where present, match their light counterparts.
    for dark in BRAND.glob("dark_*.png"):
        assert _png_size(dark) == _png_size(BRAND / dark.name.removeprefix("dark_"))
    # Rendered from our own sources (scripts/brand).
    assert (ROOT / "brand" / "icon.svg").exists()
    assert (ROOT / "brand" / "logo.svg").exists()


def test_licence_file() -> None:
    licence = ROOT / "LICENSE"
    assert licence.is_file()
    assert "MIT License" in licence.read_text()
