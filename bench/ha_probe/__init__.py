"""Benchmark probe, loaded into the Home Assistant that `bench/ha_webhooks.py` starts.

Never installed with the integration. It offers, on loopback and without auth (the
benchmark's throw-away instance only):

- the reference webhook `bench-reference`: reads the body, fires one bus event;
- `POST /api/ha_probe/entry`: adds a PBX Bridge entry and times its setup, with the
  longest time the event loop was held meanwhile;
- `POST /api/ha_probe/watch`: records each new state of one entity with its time;
- `GET /api/ha_probe/results`: those records (and forgets them);
- `GET /api/ha_probe/memory`: the process's resident memory after a garbage collection;
- `GET /api/ha_probe/collections`: how many full collections ran so far, and their time;
- `POST /api/ha_probe/profile`: starts a cProfile of the process (`{"path": null}`), or stops
  it and writes its most costly functions to `path`.
"""

from __future__ import annotations

import asyncio
import cProfile
from datetime import timedelta
import gc
from http import HTTPStatus
import io
from pathlib import Path
import pstats
import time
from types import MappingProxyType
from typing import Any

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.components.http import HomeAssistantView
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.typing import ConfigType

DOMAIN = "ha_probe"
REFERENCE_WEBHOOK_ID = "bench-reference"
HEARTBEAT_SECONDS = 0.005


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    async def reference(hass: HomeAssistant, webhook_id: str, request: web.Request) -> web.Response:
        body = await request.read()
        hass.bus.async_fire("ha_probe_reference", {"length": len(body)})
        return web.Response(status=HTTPStatus.OK)

    webhook.async_register(
        hass, DOMAIN, "reference", REFERENCE_WEBHOOK_ID, reference, allowed_methods=("GET", "POST")
    )
    probe = Probe(hass)
    for view in (EntryView, WatchView, ResultsView, MemoryView, ProfileView, CollectionsView):
        hass.http.register_view(view(probe))
    return True


def timed_full_collection() -> tuple[float, int]:
    """How long a full collection of the whole heap takes (ms), and the objects it scans.

    Collected once first, so that the timed one scans the live heap and frees nothing.
    """
    gc.collect()
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000, len(gc.get_objects())


def resident_kib() -> int:
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class FullCollections:
    """Times each of Python's full collections: they scan Home Assistant's whole heap, so
    they are timed apart from the holds of the setup's own steps and counted per round."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._started = 0.0

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] < 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.durations.append(time.perf_counter() - self._started)

    def total_s(self) -> float:
        return sum(self.durations)


class Probe:
    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.records: list[tuple[str, float]] = []
        self._unwatch: Any = None
        self.profile: cProfile.Profile | None = None
        self.collections = FullCollections()
        gc.callbacks.append(self.collections.callback)

    async def add_entry(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add and set up one entry; time it and watch the loop meanwhile."""
        hass = self.hass
        entry = ConfigEntry(
            data=body["data"],
            discovery_keys=MappingProxyType({}),
            domain="pbx_bridge",
            minor_version=body.get("minor_version", 1),
            options=body.get("options", {}),
            source=SOURCE_USER,
            subentries_data=None,
            title=body["title"],
            unique_id=body["unique_id"],
            version=body.get("version", 1),
        )
        longest_hold = longest_own_hold = 0.0
        running = True
        # The reference for the holds: a full collection of Home Assistant's heap as it is
        # before the entry, and with it.
        collection_before_ms, objects_before = timed_full_collection()
        first_collection = len(self.collections.durations)

        async def heartbeat() -> None:
            nonlocal longest_hold, longest_own_hold
            last = time.perf_counter()
            collected = self.collections.total_s()
            while running:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                now = time.perf_counter()
                hold = now - last - HEARTBEAT_SECONDS
                longest_hold = max(longest_hold, hold)
                # The same hold without the full collections that ran in it.
                total = self.collections.total_s()
                longest_own_hold = max(longest_own_hold, hold - (total - collected))
                collected = total
                last = now

        beat = hass.async_create_background_task(heartbeat(), "ha_probe heartbeat")
        profile = cProfile.Profile() if body.get("profile") else None
        if profile is not None:
            profile.enable()
        started = time.perf_counter()
        await hass.config_entries.async_add(entry)
        loaded = time.perf_counter()
        await hass.async_block_till_done()
        done = time.perf_counter()
        running = False
        await beat
        collections = self.collections.durations[first_collection:]
        if profile is not None:
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
            await hass.async_add_executor_job(Path(body["profile"]).write_text, out.getvalue())
        collection_after_ms, objects_after = timed_full_collection()
        if entry.state is not ConfigEntryState.LOADED:
            return {"error": f"entry state {entry.state}"}
        coordinator = entry.runtime_data.coordinator
        if interval := body.get("poll_seconds"):
            coordinator.update_interval = timedelta(seconds=interval)
            await coordinator.async_refresh()
        entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        return {
            "entry_id": entry.entry_id,
            "loaded_s": loaded - started,
            "setup_s": done - started,
            "longest_hold_ms": longest_hold * 1000,
            "longest_own_hold_ms": longest_own_hold * 1000,
            "full_collections": len(collections),
            "longest_collection_ms": max(collections, default=0.0) * 1000,
            "gc_before_ms": collection_before_ms,
            "gc_after_ms": collection_after_ms,
            "objects_before": objects_before,
            "objects_after": objects_after,
            "entities": len(entities),
            "enabled_entities": sum(1 for e in entities if not e.disabled),
        }

    @callback
    def watch(self, entity_id: str) -> None:
        if self._unwatch is not None:
            self._unwatch()
        self.records = []

        @callback
        def record(event: Event[EventStateChangedData]) -> None:
            if (state := event.data["new_state"]) is not None:
                self.records.append((state.state, time.time()))

        self._unwatch = async_track_state_change_event(self.hass, entity_id, record)


class _ProbeView(HomeAssistantView):
    requires_auth = False

    def __init__(self, probe: Probe) -> None:
        self.probe = probe


class EntryView(_ProbeView):
    url = "/api/ha_probe/entry"
    name = "api:ha_probe:entry"

    async def post(self, request: web.Request) -> web.Response:
        return self.json(await self.probe.add_entry(await request.json()))


class WatchView(_ProbeView):
    url = "/api/ha_probe/watch"
    name = "api:ha_probe:watch"

    async def post(self, request: web.Request) -> web.Response:
        body = await request.json()
        registry = er.async_get(self.probe.hass)
        entity_id = registry.async_get_entity_id(body["domain"], "pbx_bridge", body["unique_id"])
        if entity_id is None:
            return self.json({"error": "no such entity"}, HTTPStatus.NOT_FOUND)
        self.probe.watch(entity_id)
        return self.json({"entity_id": entity_id})


class ResultsView(_ProbeView):
    url = "/api/ha_probe/results"
    name = "api:ha_probe:results"

    async def get(self, request: web.Request) -> web.Response:
        records, self.probe.records = self.probe.records, []
        return self.json(records)


class MemoryView(_ProbeView):
    url = "/api/ha_probe/memory"
    name = "api:ha_probe:memory"

    async def get(self, request: web.Request) -> web.Response:
        gc.collect()
        return self.json({"rss_kib": resident_kib()})


class ProfileView(_ProbeView):
    url = "/api/ha_probe/profile"
    name = "api:ha_probe:profile"

    async def post(self, request: web.Request) -> web.Response:
        path = (await request.json()).get("path")
        probe = self.probe
        if path is None:
            probe.profile = cProfile.Profile()
            probe.profile.enable()
        elif probe.profile is not None:
            probe.profile.disable()
            out = io.StringIO()
            stats = pstats.Stats(probe.profile, stream=out)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
            probe.profile = None
            await probe.hass.async_add_executor_job(Path(path).write_text, out.getvalue())
        return self.json({})


class CollectionsView(_ProbeView):
    url = "/api/ha_probe/collections"
    name = "api:ha_probe:collections"

    async def get(self, request: web.Request) -> web.Response:
        durations = self.probe.collections.durations
        return self.json({"count": len(durations), "total_ms": sum(durations) * 1000})
