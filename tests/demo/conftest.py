"""A real Home Assistant with the demo configuration, and the simulator, as processes.

Started once per module on free loopback ports, from a copy of `config/` (so the working
tree's demo state is untouched), the way `scripts/develop` starts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import importlib.util
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import time
from types import ModuleType
import urllib.error
import urllib.request

import pytest
import pytest_socket

REPO = Path(__file__).parents[2]
CONFIG_FILES = ("configuration.yaml", "automations.yaml", "scripts.yaml")
STARTUP_TIMEOUT = 240.0  # seconds; a loaded 2-core machine is slow to start the frontend


def load_demo_script() -> ModuleType:
    """`scripts/demo.py`, the helpers `scripts/develop` uses."""
    spec = importlib.util.spec_from_file_location("pbx_demo", REPO / "scripts" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class DemoHomeAssistant:
    """Where the demo's Home Assistant and simulator run."""

    url: str
    sim_url: str
    config_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build_env() -> dict[str, str]:
    """The environment scripts/develop gives Home Assistant (compiler finds the headers)."""
    cpath = subprocess.run(
        [  # noqa: S607 - bash from PATH, as scripts/develop runs
            "bash",
            "-c",
            '. scripts/build-env && export_build_env "$1" && printf %s "${CPATH:-}"',
            "bash",
            sys.executable,
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    env = dict(os.environ)
    if cpath.stdout:
        env["CPATH"] = cpath.stdout
    return env


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - http://127.0.0.1
                return
        except urllib.error.URLError, OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {STARTUP_TIMEOUT:.0f} s; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def demo_home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHomeAssistant]:
    """Home Assistant with the demo configuration and no entries, and a busy simulator."""
    pytest_socket.enable_socket()  # loopback only: both servers listen on 127.0.0.1
    config_dir = tmp_path_factory.mktemp("demo-config")
    for name in CONFIG_FILES:
        shutil.copy(REPO / "config" / name, config_dir / name)
    (config_dir / "custom_components").mkdir()
    (config_dir / "custom_components" / "pbx_bridge").symlink_to(
        REPO / "custom_components" / "pbx_bridge"
    )
    ha_port, sim_port = _free_port(), _free_port()
    url, sim_url = f"http://127.0.0.1:{ha_port}", f"http://127.0.0.1:{sim_port}"
    env = _build_env() | {"PBX_DEMO_URL": url}
    script = str(REPO / "scripts" / "demo.py")
    subprocess.run(  # noqa: S603 - our own script
        [sys.executable, script, "prepare", str(config_dir), str(ha_port)], check=True
    )
    sim_log = config_dir / "simulator.log"
    ha_log = config_dir / "home-assistant.log"
    with sim_log.open("wb") as sim_out, (config_dir / "console.log").open("wb") as ha_out:
        simulator = subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "pbx_simulator", "--port", str(sim_port), "--activity", "4"],
            stdout=sim_out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        home_assistant = subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "homeassistant", "--config", str(config_dir)],
            stdout=ha_out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_for(f"{sim_url}/_sim/config", simulator, sim_log)
        _wait_for(f"{url}/manifest.json", home_assistant, ha_log)
        yield DemoHomeAssistant(url, sim_url, config_dir)
    finally:
        _stop(home_assistant)
        _stop(simulator)
