"""The entry's entity queue: a batch a loop step, across platforms, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import itertools

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.pbx_bridge.const import DOMAIN
from custom_components.pbx_bridge.entity_queue import BATCH_SIZE, EntityQueue


class Labelled(Entity):
    def __init__(self, label: str) -> None:
        self.label = label


async def test_entities_are_added_a_batch_a_loop_step_across_platforms(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    queue = EntityQueue(hass, entry)
    ticks = 0  # loop steps a ticker saw: calls in the same step see the same count
    calls: list[tuple[int, str, list[str]]] = []

    async def ticker() -> None:
        nonlocal ticks
        while queue._adding is not None and ticks < 10_000:
            ticks += 1
            await asyncio.sleep(0)

    def platform(name: str) -> Callable[..., None]:
        def add_entities(entities: Iterable[Labelled], *_: object) -> None:
            calls.append((ticks, name, [entity.label for entity in entities]))

        return add_entities

    def three(n: int) -> Callable[[], Iterable[Entity]]:
        return lambda: [Labelled(f"s{n}{part}") for part in "abc"]

    def one(n: int) -> Callable[[], Iterable[Entity]]:
        return lambda: [Labelled(f"w{n}")]

    # Three entities per object on one platform, one on the other; object 7 is gone again.
    queue.add(platform("sensor"), [three(n) if n != 7 else tuple for n in range(40)])
    queue.add(platform("switch"), [one(n) for n in range(60)])
    ticking = hass.async_create_task(ticker())
    await hass.async_block_till_done()
    await ticking

    added = [label for _, _, labels in calls for label in labels]
    assert added == [
        *(f"s{n}{part}" for n in range(40) if n != 7 for part in "abc"),
        *(f"w{n}" for n in range(60)),
    ]
    per_step: dict[int, int] = {}
    for step, _, labels in calls:
        per_step[step] = per_step.get(step, 0) + len(labels)
    # A batch closes once it holds BATCH_SIZE: at most one object's entities more.
    assert max(per_step.values()) <= BATCH_SIZE + 2
    assert len(per_step) >= len(added) // (BATCH_SIZE + 2)
    # Both platforms were served in one step where a batch spanned them.
    assert any(a[0] == b[0] and a[1] != b[1] for a, b in itertools.pairwise(calls))
