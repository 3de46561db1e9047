"""The demo the way a newcomer sees it, in Debian's Chromium driven by Playwright.

Logs in through the login page, adds a Telfa account by clicking through the config flow
(menu, form, webhook step), sees the integration's brand icon, opens the account's device
page and watches the simulator's calls show up, then opens the call-centre dashboard.
Screenshots of each step go to tests/artifacts/browser/ (git-ignored). Fails when the
frontend shows an error or stays on "Loading…".
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
import subprocess
import sys
import threading
import time
import urllib.request

from playwright.sync_api import Browser, Page, expect, sync_playwright
import pytest

from .conftest import REPO, DemoHomeAssistant, load_demo_script

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"
# Debian's Chromium, headless, without reaching out to Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
demo = load_demo_script()

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/setup --browser)"
)


@pytest.fixture
def browser(socket_enabled: None) -> Iterator[Browser]:
    threads_before = set(threading.enumerate())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    # Playwright's event loop is closed without waiting for its executor's threads; let
    # them finish, or the harness reports them as left behind.
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(timeout=10)


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def _expect_no_frontend_error(page: Page) -> None:
    """No card or dialog warns about a missing entity, a failed load or an error."""
    expect(page.get_by_text("Loading…", exact=False)).to_have_count(0, timeout=TIMEOUT_MS)
    for selector in ("hui-warning", "hui-error-card", 'ha-alert[alert-type="error"]'):
        expect(page.locator(selector)).to_have_count(0)
    expect(page.get_by_text("Unable to connect to Home Assistant")).to_have_count(0)


def _sim(sim_url: str, path: str, data: dict[str, object]) -> None:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1
        f"{sim_url}{path}",
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def _log_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(demo.DEMO_USER)
    page.get_by_role("textbox", name="Password").fill(demo.DEMO_PASSWORD)
    _shot(page, "01-login")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("ha-sidebar")).to_be_visible(timeout=TIMEOUT_MS)
    _expect_no_frontend_error(page)


def _add_telfa(page: Page, url: str, telfa: dict[str, str]) -> None:
    page.goto(f"{url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("PBX Bridge")
    page.get_by_text("PBX Bridge", exact=True).click()
    menu = page.get_by_text("Choose your phone system")
    expect(menu).to_be_visible(timeout=TIMEOUT_MS)
    _shot(page, "02-provider-menu")
    page.get_by_text("Telfa", exact=True).click()
    page.get_by_role("textbox", name=re.compile(r"^API key")).fill(telfa["api_key"])
    page.get_by_role("textbox", name=re.compile(r"^Address")).fill(telfa["base_url"])
    _shot(page, "03-telfa-form")
    page.get_by_role("button", name="Submit").click()
    webhook = page.get_by_text("must call this webhook address")
    expect(webhook).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"/api/webhook/"))).not_to_have_count(0)
    _shot(page, "04-webhook-step")
    page.get_by_role("button", name="Finish").click()
    expect(webhook).to_have_count(0, timeout=TIMEOUT_MS)


def _brand_icon(page: Page, url: str) -> None:
    """The integration's card shows our icon (custom_components/pbx_bridge/brand)."""
    page.goto(f"{url}/config/integrations/dashboard")
    icon = page.locator('img[src*="/brands/integration/pbx_bridge/icon"]').first
    expect(icon).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_function("image => image.complete", arg=icon.element_handle())
    assert icon.evaluate("image => image.naturalWidth") > 0, "broken brand image"
    _shot(page, "05-integrations")


def _device_page(page: Page, url: str, sim_url: str) -> None:
    page.goto(f"{url}/config/integrations/integration/pbx_bridge")
    # The hub lists its devices: the account's row is the one described as "Account".
    page.get_by_text(re.compile(r"^\s*Account\b")).first.click()
    expect(page.get_by_text("Active calls")).to_be_visible(timeout=TIMEOUT_MS)
    _expect_no_frontend_error(page)
    # The simulator's calls show up here while the page stays open: the sensor's state
    # changes and the Activity card logs each new caller, without reloading the page.
    last_caller = page.get_by_text("Last caller", exact=True)
    seen = last_caller.count()
    _sim(sim_url, "/_sim/calls", {"caller": "+420777123987"})
    deadline = time.monotonic() + 60
    while last_caller.count() <= seen:
        assert time.monotonic() < deadline, "the device page showed no new call in 60 s"
        page.wait_for_timeout(500)
    _shot(page, "06-device-page")


def _dashboard(page: Page, url: str) -> None:
    # What scripts/develop does after adding its accounts (a subprocess: Playwright's sync
    # API holds this thread's event loop).
    subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(REPO / "scripts" / "demo.py"), "dashboard", url], check=True
    )
    page.goto(url)
    page.wait_for_url(re.compile(r"/call-centre/"), timeout=TIMEOUT_MS)
    expect(page.get_by_text("Agents", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("Recent calls and SMS")).to_be_visible()
    expect(page.locator("hui-tile-card").first).to_be_visible()
    _expect_no_frontend_error(page)
    _shot(page, "07-dashboard")


def test_newcomer_sees_live_demo(demo_home_assistant: DemoHomeAssistant, browser: Browser) -> None:
    url, sim_url = demo_home_assistant.url, demo_home_assistant.sim_url
    with urllib.request.urlopen(f"{sim_url}/_sim/config", timeout=10) as response:  # noqa: S310
        telfa = json.load(response)["telfa"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _log_in(page, url)
        _add_telfa(page, url, telfa)
        _brand_icon(page, url)
        _device_page(page, url, sim_url)
        _dashboard(page, url)
    finally:
        _shot(page, "99-last")
        page.close()
