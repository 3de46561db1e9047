"""Helpers of scripts/develop: install what the demo needs, prepare a login, add entries.

`prepare CONFIG_DIR`: installs the requirements of the components the demo configuration
loads (Home Assistant would otherwise install them at first start), adds the demo user and
marks onboarding done. `entries URL SIM_URL`: adds one PBX Bridge entry per provider through
Home Assistant's own config flow (REST API), skipping providers that already have one.
"""

from __future__ import annotations

import asyncio
from importlib import metadata
import json
from pathlib import Path
import subprocess
import sys
from typing import Any

import aiohttp
import homeassistant
from homeassistant import bootstrap
from packaging.requirements import Requirement

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-pbx-bridge"  # noqa: S105 - local demo login, printed on the terminal
CLIENT_ID = "http://localhost:8123/"
CONF_SCAN_INTERVAL = "scan_interval"
DEMO_SCAN_INTERVAL = 10  # seconds: the simulator's activity shows up quickly
COMPONENTS = Path(homeassistant.__file__).parent / "components"
INTEGRATION_DEPENDENCIES = ("http", "webhook", "diagnostics", "device_automation", "notify")


def _requirements(config_dir: Path) -> set[str]:
    """Requirements of every component the configuration loads, with their dependencies."""
    wanted = [
        line.split(":")[0].strip()
        for line in (config_dir / "configuration.yaml").read_text().splitlines()
        if line and not line.startswith((" ", "#")) and line.rstrip().endswith(":")
    ]
    # Home Assistant also sets up its default integrations and every entity platform.
    todo = [
        *wanted,
        *INTEGRATION_DEPENDENCIES,
        *bootstrap.DEFAULT_INTEGRATIONS,
        *bootstrap.FRONTEND_INTEGRATIONS,
        *bootstrap.LOGGING_AND_HTTP_DEPS_INTEGRATIONS,
    ]
    seen: set[str] = set()
    requirements: set[str] = set()
    while todo:
        name = todo.pop()
        manifest_path = COMPONENTS / name / "manifest.json"
        if name in seen or not manifest_path.exists():
            continue
        seen.add(name)
        manifest = json.loads(manifest_path.read_text())
        requirements.update(manifest.get("requirements", []))
        todo += manifest.get("dependencies", []) + manifest.get("after_dependencies", [])
    return requirements


def _missing(requirements: set[str]) -> list[str]:
    missing = []
    for line in sorted(requirements):
        requirement = Requirement(line)
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(line)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(line)
    return missing


def prepare(config_dir: Path) -> None:
    """Install requirements one by one; remember those that cannot be built here.

    Home Assistant then starts with `--skip-pip-packages` for them instead of trying to
    build them again at every start (the assist packages need compilers and headers).
    """
    skip_file = config_dir / ".skip-pip-packages"
    known_bad = set(skip_file.read_text().split(",")) - {""} if skip_file.exists() else set()
    missing = [
        r for r in _missing(_requirements(config_dir)) if Requirement(r).name not in known_bad
    ]
    if missing:
        print(f"==> installing what Home Assistant's components need: {' '.join(missing)}")
    for requirement in missing:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", requirement],
            check=False,
            capture_output=True,
        )
        if done.returncode:
            print(f"==> {requirement} does not install here; Home Assistant will skip it")
            known_bad.add(Requirement(requirement).name)
    skip_file.write_text(",".join(sorted(known_bad)))
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    if not (storage / "auth_provider.homeassistant").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "homeassistant",
                "--script",
                "auth",
                "--config",
                str(config_dir),
                "add",
                DEMO_USER,
                DEMO_PASSWORD,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["user", "core_config", "analytics", "integration"]},
                }
            )
        )


async def _token(session: aiohttp.ClientSession, url: str) -> str:
    async with session.post(
        f"{url}/auth/login_flow",
        json={
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": CLIENT_ID,
        },
    ) as response:
        flow = await response.json()
    async with session.post(
        f"{url}/auth/login_flow/{flow['flow_id']}",
        json={
            "client_id": CLIENT_ID,
            "username": DEMO_USER,
            "password": DEMO_PASSWORD,
        },
    ) as response:
        code = (await response.json())["result"]
    async with session.post(
        f"{url}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
        },
    ) as response:
        return str((await response.json())["access_token"])


async def _add_entries(url: str, sim_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim_url}/_sim/config") as response:
            sim_config: dict[str, dict[str, str]] = await response.json()
        async with session.get(f"{sim_url}/_sim/demo-options") as response:
            demo_options: dict[str, dict[str, Any]] = await response.json()
        headers = {"Authorization": f"Bearer {await _token(session, url)}"}
        api = f"{url}/api/config/config_entries"
        async with session.get(
            f"{api}/entry", params={"domain": "pbx_bridge"}, headers=headers
        ) as response:
            existing = await response.json()
        configured = {entry["title"] for entry in existing}
        for provider, values in sim_config.items():
            if any(provider.lower() in title.lower() for title in configured):
                continue
            async with session.post(
                f"{api}/flow", headers=headers, json={"handler": "pbx_bridge"}
            ) as response:
                flow: dict[str, Any] = await response.json()
            async with session.post(
                f"{api}/flow/{flow['flow_id']}", headers=headers, json={"next_step_id": provider}
            ) as response:
                form: dict[str, Any] = await response.json()
            fields = {field["name"] for field in form.get("data_schema", [])}
            data = {key: value for key, value in values.items() if key in fields}
            async with session.post(
                f"{api}/flow/{flow['flow_id']}", headers=headers, json=data
            ) as response:
                result: dict[str, Any] = await response.json()
            shown = result.get("title") or result.get("errors") or result.get("reason")
            print(f"==> {provider}: {result.get('type')} {shown}")
            if entry := result.get("result"):
                await _set_options(
                    session,
                    api,
                    headers,
                    entry["entry_id"],
                    {CONF_SCAN_INTERVAL: DEMO_SCAN_INTERVAL, **demo_options.get(provider, {})},
                )


async def _set_options(
    session: aiohttp.ClientSession,
    api: str,
    headers: dict[str, str],
    entry_id: str,
    options: dict[str, Any],
) -> None:
    """Set an entry's options through its options flow, as the UI would."""
    async with session.post(
        f"{api}/options/flow", headers=headers, json={"handler": entry_id}
    ) as response:
        form: dict[str, Any] = await response.json()
    fields = {field["name"] for field in form.get("data_schema", [])}
    data = {key: value for key, value in options.items() if key in fields}
    async with session.post(
        f"{api}/options/flow/{form['flow_id']}", headers=headers, json=data
    ) as response:
        result: dict[str, Any] = await response.json()
    if result.get("type") != "create_entry":
        print(f"==> could not set the demo options: {result.get('errors')}")


def main() -> None:
    match sys.argv[1:]:
        case ["prepare", config_dir]:
            prepare(Path(config_dir))
        case ["entries", url, sim_url]:
            asyncio.run(_add_entries(url, sim_url))
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main()
