"""The demo configuration starts completely: every component sets up, the frontend's
service list loads (it failed while assist packages could not be built: "Loading…")."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from homeassistant.util.yaml import loader

from .conftest import DemoHomeAssistant, load_demo_script

demo = load_demo_script()


def _configured_components(config_dir: Path) -> set[str]:
    config = loader.load_yaml_dict(config_dir / "configuration.yaml")
    return {key.split(" ")[0] for key in config}


async def _ask(url: str, *commands: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers of Home Assistant's websocket API to `commands`, logged in as the demo."""
    async with aiohttp.ClientSession() as session:
        token = await demo.access_token(session, url)
        await demo.wait_until_running(session, url, {"Authorization": f"Bearer {token}"})
        async with session.ws_connect(f"{url}/api/websocket") as socket:
            await socket.receive_json()
            await socket.send_json({"type": "auth", "access_token": token})
            assert (await socket.receive_json())["type"] == "auth_ok"
            answers = []
            for number, command in enumerate(commands, start=1):
                await socket.send_json({"id": number, **command})
                answers.append(await socket.receive_json())
            return answers


def test_demo_configuration_sets_up_and_services_load(
    demo_home_assistant: DemoHomeAssistant, socket_enabled: None
) -> None:
    config, services, log = asyncio.run(
        _ask(
            demo_home_assistant.url,
            {"type": "get_config"},
            {"type": "get_services"},
            {"type": "system_log/list"},
        )
    )
    assert config["success"], config
    missing = _configured_components(demo_home_assistant.config_dir) - set(
        config["result"]["components"]
    )
    assert not missing, f"not set up: {missing}"
    assert services["success"], services  # failed with unknown_error before (issue 14)
    assert {"automation", "script", "input_text"} <= set(services["result"])
    failures = [
        entry
        for entry in log["result"]
        if (entry["level"] in ("ERROR", "CRITICAL") or "Setup failed" in str(entry["message"]))
        # The ffmpeg integration (a dependency of assist_satellite) probes for the binary,
        # logs its absence and still sets up; nothing in the demo plays or records media.
        and entry["name"] != "haffmpeg.core"
    ]
    assert not failures, failures
