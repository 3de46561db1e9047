"""One account's phone-system state, shared by every provider's wire format.

Provider modules read and change this model; they only translate it to and from their
own formats. Everything random comes from one seeded generator, so a seed gives the same
account every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import itertools
import random
from typing import Any

FIRST_NAMES = (
    "Jana",
    "Petr",
    "Eva",
    "Tomáš",
    "Lucie",
    "Martin",
    "Tereza",
    "Jakub",
    "Noa",
    "David",
    "Hana",
    "Ondřej",
    "Klára",
    "Adam",
    "Michal",
    "Yael",
    "Pavel",
    "Lenka",
    "Jiří",
    "Marie",
)
LAST_NAMES = (
    "Nováková",
    "Svoboda",
    "Dvořáková",
    "Černý",
    "Procházková",
    "Kučera",
    "Veselá",
    "Horák",
    "Levi",
    "Cohen",
    "Marek",
    "Pokorná",
    "Král",
    "Jelínková",
    "Růžička",
    "Friedman",
)
QUEUE_NAMES = ("Sales", "Support", "Billing", "Reception", "Technical", "Orders", "VIP", "Night")
USER_AGENTS = (
    "Yealink SIP-T46U 108.86.0.45",
    "Grandstream GXP2170 1.0.11.23",
    "Linphone/5.2.5",
    "Zoiper rv2.10.20",
    "Snom D785 10.1.159.12",
)
PAUSE_REASONS = ("Lunch", "Break", "Meeting", "Training")


class AgentStatus(StrEnum):
    """What an agent is doing (their login and pause are separate flags)."""

    IDLE = "idle"
    RINGING = "ringing"
    IN_CALL = "in_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"


class CallStatus(StrEnum):
    """Lifecycle of a simulated call: created -> ringing/queued -> answered -> ended."""

    RINGING = "ringing"
    QUEUED = "queued"
    ANSWERED = "answered"
    ON_HOLD = "on_hold"
    ENDED = "ended"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    INTERNAL = "internal"


@dataclass
class SimAgent:
    id: str
    login: str
    name: str
    extension: str
    mobile: str
    pin: str
    email: str
    logged_in: bool = True
    paused: bool = False
    pause_reason: str | None = None
    status: AgentStatus = AgentStatus.IDLE
    queue_ids: list[str] = field(default_factory=list)
    login_time: datetime | None = None


@dataclass
class SimQueue:
    id: str
    name: str
    extension: str
    number: str
    member_ids: list[str] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    total_hold_seconds: float = 0.0
    answered_within_sla: int = 0
    strategy: str = "ringall"


@dataclass
class SimLine:
    id: str
    name: str  # extension number or trunk name
    kind: str  # "extension" | "trunk"
    registered: bool
    user_agent: str
    ip: str
    port: int
    expires: int = 3600
    context: str = "from-internal"
    agent_id: str | None = None
    host: str | None = None  # trunks: the provider's host


@dataclass
class SimNumber:
    """A DID number of the account, with per-number webhook settings (Telfa)."""

    id: str
    number: str  # national form as the providers show it, e.g. "245008328"
    name: str
    hooks: dict[str, str] = field(default_factory=dict)
    gsm_gateway: bool = False  # a SIM card in a GSM gateway: it sends and receives SMS (Telfa)


@dataclass
class SimCall:
    id: str
    direction: Direction
    caller: str
    callee: str
    status: CallStatus
    created: datetime
    line_id: str | None = None
    agent_id: str | None = None
    queue_id: str | None = None
    number_id: str | None = None
    answered: datetime | None = None
    ended: datetime | None = None
    channel: str = ""
    hangup_cause: str | None = None
    recording: str | None = None
    announcement: str | None = None
    transferred_to: str | None = None

    @property
    def was_answered(self) -> bool:
        return self.answered is not None


@dataclass
class SimSms:
    id: str
    direction: Direction
    sender: str
    recipient: str
    text: str
    status: str  # queued | sent | delivered | failed | received
    created: datetime


@dataclass
class Timings:
    """How simulated calls progress on their own (off in tests: they script each step)."""

    auto: bool = False
    ring_seconds: float = 4.0
    talk_seconds: float = 20.0
    answer_probability: float = 0.8


@dataclass(frozen=True)
class SimEvent:
    """Something that happened, for webhooks (`kind` like "call.ringing", "sms.received")."""

    kind: str
    call: SimCall | None = None
    sms: SimSms | None = None
    data: dict[str, Any] = field(default_factory=dict)


type Listener = Callable[[SimEvent], None]


class SimError(Exception):
    """A request the simulated PBX refuses (unknown object, wrong state)."""


class SimState:
    """The whole simulated account."""

    def __init__(
        self, *, seed: int = 1, agents: int = 5, queues: int = 2, lines: int = 6, trunks: int = 1
    ) -> None:
        self.random = random.Random(seed)
        self.account_id = f"{self.random.randrange(100000, 999999)}"
        self.account_name = "Demo s.r.o."
        self.balance = 554.0288
        self.timings = Timings()
        self.agents: dict[str, SimAgent] = {}
        self.queues: dict[str, SimQueue] = {}
        self.lines: dict[str, SimLine] = {}
        self.numbers: dict[str, SimNumber] = {}
        self.calls: dict[str, SimCall] = {}
        self.sms: dict[str, SimSms] = {}
        self.pause_reasons = list(PAUSE_REASONS)
        self._ids = itertools.count(1000)
        self._call_ids = itertools.count(14990661)
        self._channel_ids = itertools.count(1)
        self._listeners: list[Listener] = []
        self._timers: set[asyncio.TimerHandle] = set()
        # Per provider: credential name -> value. Providers check requests against these.
        self.credentials: dict[str, dict[str, str]] = {}
        self.now_offset = timedelta()
        # Tests that compare times pin the clock (`freeze_clock`); `now_offset` still moves it.
        self.frozen_at: datetime | None = None
        for _ in range(agents):
            self.add_agent()
        for _ in range(queues):
            self.add_queue()
        for agent in self.agents.values():  # every agent in one or two queues
            for queue in list(self.queues.values())[: 1 + int(agent.id) % 2]:
                self.queue_login(agent.id, queue.id)
        for agent in list(self.agents.values())[:lines]:
            self.add_line(kind="extension", agent_id=agent.id)
        for _ in range(max(0, lines - len(self.agents))):
            self.add_line(kind="extension")
        for _ in range(trunks):
            self.add_line(kind="trunk")
        self.numbers["1"] = SimNumber("1", "245008328", "Main line")
        self.numbers["2"] = SimNumber("2", "245008329", "Support line", gsm_gateway=True)

    # --- helpers ------------------------------------------------------------

    def now(self) -> datetime:
        real = self.frozen_at or datetime.now(UTC).replace(microsecond=0)
        return real + self.now_offset

    def freeze_clock(self) -> None:
        """Stop the clock at this second, so that a busy machine cannot move times apart."""
        self.frozen_at = datetime.now(UTC).replace(microsecond=0)

    def next_id(self) -> str:
        return str(next(self._ids))

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(
        self, kind: str, *, call: SimCall | None = None, sms: SimSms | None = None, **data: Any
    ) -> None:
        event = SimEvent(kind, call, sms, data)
        for listener in list(self._listeners):
            listener(event)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._timers.discard(handle)
            callback()

        handle = loop.call_later(delay, run)
        self._timers.add(handle)

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    def _ip(self) -> str:
        return f"192.0.2.{self.random.randrange(2, 254)}"  # TEST-NET-1: documentation only

    # --- objects --------------------------------------------------------------

    def add_agent(self, name: str | None = None) -> SimAgent:
        index = len(self.agents) + 1
        while str(index) in self.agents:
            index += 1
        agent_id = str(index)
        if name is None:
            name = f"{self.random.choice(FIRST_NAMES)} {self.random.choice(LAST_NAMES)}"
        login = f"agent{agent_id}"
        agent = SimAgent(
            id=agent_id,
            login=login,
            name=name,
            extension=str(100 + index),
            mobile=f"+420601{index:06d}",
            pin=f"{1000 + index}",
            email=f"{login}@example.com",
            login_time=self.now(),
        )
        self.agents[agent_id] = agent
        return agent

    def remove_agent(self, agent_id: str) -> None:
        agent = self._agent(agent_id)
        for queue in self.queues.values():
            if agent.id in queue.member_ids:
                queue.member_ids.remove(agent.id)
        for line in self.lines.values():
            if line.agent_id == agent.id:
                line.agent_id = None
        del self.agents[agent.id]

    def add_queue(self, name: str | None = None) -> SimQueue:
        index = len(self.queues) + 1
        while str(index) in self.queues:
            index += 1
        queue_id = str(index)
        name = name or QUEUE_NAMES[(index - 1) % len(QUEUE_NAMES)] + (
            "" if index <= len(QUEUE_NAMES) else f" {index}"
        )
        queue = SimQueue(queue_id, name, extension=str(800 + index), number=f"24500{8400 + index}")
        self.queues[queue_id] = queue
        return queue

    def remove_queue(self, queue_id: str) -> None:
        queue = self._queue(queue_id)
        for agent in self.agents.values():
            if queue.id in agent.queue_ids:
                agent.queue_ids.remove(queue.id)
        del self.queues[queue.id]

    def add_line(
        self, *, kind: str = "extension", agent_id: str | None = None, registered: bool = True
    ) -> SimLine:
        index = len(self.lines) + 1
        while str(index) in self.lines:
            index += 1
        line_id = str(index)
        if kind == "trunk":
            name = f"trunk{index}"
            user_agent = "Asterisk PBX 20.5.0"
        else:
            name = self.agents[agent_id].extension if agent_id else str(200 + index)
            user_agent = self.random.choice(USER_AGENTS)
        line = SimLine(
            line_id,
            name,
            kind,
            registered,
            user_agent,
            self._ip(),
            5060 + self.random.randrange(0, 40),
            agent_id=agent_id,
            context="from-trunk" if kind == "trunk" else "from-internal",
            host="sip.example.net" if kind == "trunk" else None,
        )
        self.lines[line_id] = line
        return line

    def remove_line(self, line_id: str) -> None:
        del self.lines[self._line(line_id).id]

    def set_registered(self, line_id: str, registered: bool) -> SimLine:
        line = self._line(line_id)
        line.registered = registered
        return line

    def _agent(self, agent_id: str) -> SimAgent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise SimError(f"unknown agent {agent_id}") from None

    def _queue(self, queue_id: str) -> SimQueue:
        try:
            return self.queues[queue_id]
        except KeyError:
            raise SimError(f"unknown queue {queue_id}") from None

    def _line(self, line_id: str) -> SimLine:
        try:
            return self.lines[line_id]
        except KeyError:
            raise SimError(f"unknown line {line_id}") from None

    def call(self, call_id: str) -> SimCall:
        try:
            return self.calls[call_id]
        except KeyError:
            raise SimError(f"unknown call {call_id}") from None

    def find_agent(self, key: str) -> SimAgent | None:
        """An agent by id, login, extension, e-mail or mobile number."""
        for agent in self.agents.values():
            if key in (agent.id, agent.login, agent.extension, agent.email, agent.mobile):
                return agent
        return None

    def find_line(self, key: str) -> SimLine | None:
        for line in self.lines.values():
            if key in (line.id, line.name):
                return line
        return None

    def active_calls(self) -> list[SimCall]:
        return [call for call in self.calls.values() if call.status is not CallStatus.ENDED]

    def waiting_calls(self, queue_id: str) -> list[SimCall]:
        return [
            call
            for call in self.active_calls()
            if call.queue_id == queue_id and call.status is CallStatus.QUEUED
        ]

    def line_of_agent(self, agent: SimAgent) -> SimLine | None:
        return next((line for line in self.lines.values() if line.agent_id == agent.id), None)

    def lines_by_agent(self) -> dict[str, SimLine]:
        """Every agent's `line_of_agent` at once: answers that list thousands of agents
        would otherwise scan every line for each of them."""
        lines: dict[str, SimLine] = {}
        for line in self.lines.values():
            if line.agent_id is not None:
                lines.setdefault(line.agent_id, line)
        return lines

    # --- agents -----------------------------------------------------------------

    def agent_login(self, agent_id: str) -> SimAgent:
        agent = self._agent(agent_id)
        agent.logged_in = True
        agent.login_time = self.now()
        self.emit("agent.changed", agent=agent.id)
        return agent

    def agent_logout(self, agent_id: str) -> SimAgent:
        agent = self._agent(agent_id)
        agent.logged_in = False
        agent.paused = False
        agent.pause_reason = None
        self.emit("agent.changed", agent=agent.id)
        return agent

    def agent_pause(self, agent_id: str, reason: str | None = None) -> SimAgent:
        agent = self._agent(agent_id)
        if reason is not None and reason not in self.pause_reasons:
            raise SimError(f"unknown pause {reason}")
        agent.paused = True
        agent.pause_reason = reason
        self.emit("agent.changed", agent=agent.id)
        return agent

    def agent_unpause(self, agent_id: str) -> SimAgent:
        agent = self._agent(agent_id)
        agent.paused = False
        agent.pause_reason = None
        self.emit("agent.changed", agent=agent.id)
        return agent

    def queue_login(self, agent_id: str, queue_id: str) -> None:
        agent, queue = self._agent(agent_id), self._queue(queue_id)
        if agent.id not in queue.member_ids:
            queue.member_ids.append(agent.id)
        if queue.id not in agent.queue_ids:
            agent.queue_ids.append(queue.id)

    def queue_logout(self, agent_id: str, queue_id: str) -> None:
        agent, queue = self._agent(agent_id), self._queue(queue_id)
        if agent.id in queue.member_ids:
            queue.member_ids.remove(agent.id)
        if queue.id in agent.queue_ids:
            agent.queue_ids.remove(queue.id)

    # --- calls ------------------------------------------------------------------

    def _new_call(
        self, direction: Direction, caller: str, callee: str, status: CallStatus, **fields: Any
    ) -> SimCall:
        call_id = str(next(self._call_ids))
        channel_owner = fields.get("agent_id") and self.agents.get(fields["agent_id"])
        endpoint = channel_owner.extension if channel_owner else "trunk1"
        call = SimCall(
            call_id,
            direction,
            caller,
            callee,
            status,
            self.now(),
            channel=f"SIP/{endpoint}-{next(self._channel_ids):08x}",
            **fields,
        )
        self.calls[call_id] = call
        return call

    def incoming_call(
        self,
        caller: str,
        callee: str | None = None,
        *,
        queue_id: str | None = None,
        agent_id: str | None = None,
        number_id: str | None = None,
    ) -> SimCall:
        """A call from outside: rings an agent, or waits in a queue."""
        if number_id is None:
            number_id = next(iter(self.numbers), None)
        number = self.numbers.get(number_id) if number_id else None
        if queue_id is not None:
            queue = self._queue(queue_id)
            callee = callee or queue.number
        if agent_id is not None:
            self._agent(agent_id)
        callee = callee or (number.number if number else "0")
        call = self._new_call(
            Direction.IN,
            caller,
            callee,
            CallStatus.QUEUED if queue_id and not agent_id else CallStatus.RINGING,
            agent_id=agent_id,
            queue_id=queue_id,
            number_id=number_id,
        )
        self.emit("call.incoming", call=call)
        if call.status is CallStatus.QUEUED:
            self.emit("call.queued", call=call)
        else:
            self._ring(call)
        self._schedule_progress(call)
        return call

    def originate(
        self,
        caller: str,
        callee: str,
        *,
        agent_id: str | None = None,
        line_id: str | None = None,
        announcement: str | None = None,
    ) -> SimCall:
        """A call placed by the account (click-to-call, callback, announce)."""
        if agent_id is not None:
            self._agent(agent_id)
        call = self._new_call(
            Direction.OUT,
            caller,
            callee,
            CallStatus.RINGING,
            agent_id=agent_id,
            line_id=line_id,
            announcement=announcement,
        )
        self.emit("call.outgoing", call=call)
        self._ring(call)
        self._schedule_progress(call)
        return call

    def _ring(self, call: SimCall) -> None:
        call.status = CallStatus.RINGING
        if call.agent_id and (agent := self.agents.get(call.agent_id)):
            agent.status = AgentStatus.RINGING
        self.emit("call.ringing", call=call)

    def _schedule_progress(self, call: SimCall) -> None:
        if not self.timings.auto:
            return
        timings = self.timings

        def end_call() -> None:
            self.hangup(call.id, missing_ok=True)

        def ring_done() -> None:
            if call.status is CallStatus.ENDED:
                return
            if self.random.random() < timings.answer_probability:
                if call.status is CallStatus.QUEUED:
                    free = self.free_agents(call.queue_id)
                    if not free:
                        self._later(timings.ring_seconds, ring_done)
                        return
                    self.answer(call.id, free[0].id)
                else:
                    self.answer(call.id)
                self._later(timings.talk_seconds, end_call)
            else:
                end_call()

        self._later(timings.ring_seconds, ring_done)

    def free_agents(self, queue_id: str | None) -> list[SimAgent]:
        agents = (
            (self.agents[a] for a in self._queue(queue_id).member_ids)
            if queue_id
            else (iter(self.agents.values()))
        )
        return [a for a in agents if a.logged_in and not a.paused and a.status is AgentStatus.IDLE]

    def answer(self, call_id: str, agent_id: str | None = None) -> SimCall:
        call = self.call(call_id)
        if call.status not in (CallStatus.RINGING, CallStatus.QUEUED):
            raise SimError(f"call {call_id} is not ringing")
        if agent_id is not None:
            self._agent(agent_id)
            if call.agent_id and call.agent_id != agent_id:
                self.agents[call.agent_id].status = AgentStatus.IDLE
            call.agent_id = agent_id
        call.status = CallStatus.ANSWERED
        call.answered = self.now()
        if call.queue_id and (queue := self.queues.get(call.queue_id)):
            waited = (call.answered - call.created).total_seconds()
            queue.total_hold_seconds += waited
            if waited <= 20:
                queue.answered_within_sla += 1
        if call.agent_id and (agent := self.agents.get(call.agent_id)):
            agent.status = AgentStatus.IN_CALL
        self.emit("call.answered", call=call)
        return call

    def hold(self, call_id: str, on_hold: bool = True) -> SimCall:
        call = self.call(call_id)
        if call.status not in (CallStatus.ANSWERED, CallStatus.ON_HOLD):
            raise SimError(f"call {call_id} is not answered")
        call.status = CallStatus.ON_HOLD if on_hold else CallStatus.ANSWERED
        if call.agent_id and (agent := self.agents.get(call.agent_id)):
            agent.status = AgentStatus.ON_HOLD if on_hold else AgentStatus.IN_CALL
        return call

    def transfer(self, call_id: str, destination: str) -> SimCall:
        call = self.call(call_id)
        if call.status is CallStatus.ENDED:
            raise SimError(f"call {call_id} has ended")
        old_agent = self.agents.get(call.agent_id or "")
        target = self.find_agent(destination)
        if old_agent is not None:
            old_agent.status = AgentStatus.IDLE
        call.transferred_to = destination
        call.agent_id = target.id if target else None
        if target is not None:
            target.status = AgentStatus.IN_CALL if call.was_answered else AgentStatus.RINGING
        self.emit("call.transferred", call=call, destination=destination)
        return call

    def hangup(
        self, call_id: str, cause: str = "normal", *, missing_ok: bool = False
    ) -> SimCall | None:
        call = self.calls.get(call_id)
        if call is None or call.status is CallStatus.ENDED:
            if missing_ok:
                return None
            raise SimError(f"unknown call {call_id}")
        if call.queue_id and (queue := self.queues.get(call.queue_id)):
            if call.was_answered:
                queue.completed += 1
            elif call.direction is Direction.IN:
                queue.abandoned += 1
        call.status = CallStatus.ENDED
        call.ended = self.now()
        call.hangup_cause = cause
        if call.agent_id and (agent := self.agents.get(call.agent_id)):
            agent.status = AgentStatus.IDLE
        self.emit("call.hangup", call=call)
        return call

    # --- SMS --------------------------------------------------------------------

    def send_sms(self, sender: str, recipient: str, text: str) -> SimSms:
        sms = SimSms(self.next_id(), Direction.OUT, sender, recipient, text, "sent", self.now())
        self.sms[sms.id] = sms
        self.emit("sms.sent", sms=sms)
        return sms

    def receive_sms(self, sender: str, recipient: str, text: str) -> SimSms:
        sms = SimSms(self.next_id(), Direction.IN, sender, recipient, text, "received", self.now())
        self.sms[sms.id] = sms
        self.emit("sms.received", sms=sms)
        return sms

    # --- activity for the demo ----------------------------------------------------

    async def run_activity(self, interval: float = 8.0) -> None:
        """Keep the account busy: calls arrive, agents pause, phones (un)register."""
        self.timings.auto = True
        while True:
            await asyncio.sleep(interval)
            self.random_step()

    def random_step(self) -> None:
        roll = self.random.random()
        agents = list(self.agents.values())
        if roll < 0.45 and self.queues:
            queue = self.random.choice(list(self.queues.values()))
            self.incoming_call(
                f"+420{self.random.randrange(600000000, 799999999)}", queue_id=queue.id
            )
        elif roll < 0.6 and agents:
            agent = self.random.choice(agents)
            if agent.paused:
                self.agent_unpause(agent.id)
            elif agent.logged_in:
                self.agent_pause(agent.id, self.random.choice(self.pause_reasons))
        elif roll < 0.7 and self.lines:
            line = self.random.choice(list(self.lines.values()))
            self.set_registered(line.id, not line.registered)
        elif roll < 0.8 and agents:
            agent = self.random.choice(agents)
            self.originate(
                agent.extension,
                f"+420{self.random.randrange(200000000, 599999999)}",
                agent_id=agent.id,
            )
        elif roll < 0.85:
            self.receive_sms(
                f"+420{self.random.randrange(600000000, 799999999)}",
                next(iter(self.numbers.values())).number,
                "Hello from the simulator",
            )

    # --- views ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The whole state for the control API."""
        from dataclasses import asdict

        def dump(obj: Any) -> Any:
            data = asdict(obj)
            return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}

        return {
            "account": {"id": self.account_id, "name": self.account_name, "balance": self.balance},
            "agents": [dump(a) for a in self.agents.values()],
            "queues": [dump(q) for q in self.queues.values()],
            "lines": [dump(line) for line in self.lines.values()],
            "numbers": [dump(n) for n in self.numbers.values()],
            "calls": [dump(c) for c in self.calls.values()],
            "sms": [dump(s) for s in self.sms.values()],
            "pause_reasons": self.pause_reasons,
            "timings": dump(self.timings),
        }
