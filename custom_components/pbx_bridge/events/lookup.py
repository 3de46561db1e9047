"""Finding the agent or line an event names, in O(1) whatever the size of the account."""

from __future__ import annotations

from ..api.models import Snapshot


class ObjectLookup:
    """Agents by id, extension or name and lines by id or name, indexed once per poll.

    Webhook effects change agents' states, never the set of agents or their names, so an
    index built from the polled snapshot stays right until the next poll.
    """

    def __init__(self) -> None:
        self._indexed: Snapshot | None = None
        self._agents: dict[str, str] = {}
        self._lines: dict[str, str] = {}

    def polled(self, snapshot: Snapshot) -> None:
        """A new polled snapshot: index it (the first match wins, as the provider lists)."""
        if snapshot is self._indexed:
            return
        self._indexed = snapshot
        agents: dict[str, str] = {}
        for agent in snapshot.agents.values():
            for key in (agent.extension, agent.name):
                if key:
                    agents.setdefault(key, agent.agent_id)
        # An id always means its own object, whatever another one is called.
        agents.update((agent_id, agent_id) for agent_id in snapshot.agents)
        self._agents = agents
        lines = {line.name: line.registration_id for line in snapshot.registrations.values()}
        lines.update((line_id, line_id) for line_id in snapshot.registrations)
        self._lines = lines

    def agent_id(self, key: str | None) -> str | None:
        """The id of the agent a provider names by id, extension or name."""
        return self._agents.get(key) if key else None

    def line_id(self, key: str | None) -> str | None:
        """The id of the SIP registration a provider names by id or name."""
        return self._lines.get(key) if key else None
