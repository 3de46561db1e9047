"""The simulator's aiohttp application: provider APIs, control API, faults, request log."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .faults import Fault, FaultKind, apply_fault
from .providers.base import BaseProviderSim
from .state import SimError, SimState
from .webhooks import WebhookSender

CONTROL_PREFIX = "/_sim"
SIMULATOR_KEY: web.AppKey[Simulator] = web.AppKey("simulator")


@dataclass
class LoggedRequest:
    """One provider API request the simulator answered."""

    provider: str
    endpoint: str
    method: str
    path: str  # below the provider's prefix, e.g. "/calls.xml"
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    status: int = 0
    at: float = field(default_factory=time.time)


class Simulator:
    """Everything one simulator instance holds."""

    def __init__(self, state: SimState) -> None:
        from .providers import PROVIDER_CLASSES

        self.state = state
        self.webhooks = WebhookSender()
        self.faults: list[Fault] = []
        self.requests: list[LoggedRequest] = []
        self.counters: Counter[tuple[str, str]] = Counter()
        self.providers: dict[str, BaseProviderSim] = {
            cls.provider: cls(self) for cls in PROVIDER_CLASSES
        }

    def requests_for(self, provider: str, endpoint: str | None = None) -> list[LoggedRequest]:
        return [
            r for r in self.requests if r.provider == provider and endpoint in (None, r.endpoint)
        ]

    def count(self, provider: str) -> int:
        return sum(n for (p, _), n in self.counters.items() if p == provider)

    def config(self, origin: str) -> dict[str, dict[str, str]]:
        """Each provider's base URL and working credentials, for `--print-config`."""
        return {
            provider: {"base_url": f"{origin}/{provider}{sim.base_path}", **sim.demo_credentials()}
            for provider, sim in self.providers.items()
        }

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=4 * 1024 * 1024)
        app[SIMULATOR_KEY] = self
        for provider, sim in self.providers.items():
            sub = web.Application()
            sim.setup_routes(sub)
            app.add_subapp(f"/{provider}", sub)
        _add_control_routes(app, self)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, _app: web.Application) -> None:
        self.state.cancel_timers()
        await self.webhooks.close()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        provider, _, rest = request.path.lstrip("/").partition("/")
        sim = self.providers.get(provider)
        if sim is None:
            return await handler(request)
        path = "/" + rest
        endpoint = sim.endpoint_key(request, path)
        body = (await request.read()).decode("utf-8", errors="replace")
        entry = LoggedRequest(
            provider,
            endpoint,
            request.method,
            path,
            dict(request.query),
            dict(request.headers),
            body,
        )
        self.requests.append(entry)
        self.counters[provider, endpoint] += 1
        fault = next((f for f in self.faults if f.matches(provider, endpoint)), None)
        if fault is not None:
            response = await apply_fault(fault, handler, request)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as err:
                entry.status = err.status
                raise
        entry.status = response.status
        return response


# --- control API -----------------------------------------------------------------


def _add_control_routes(app: web.Application, sim: Simulator) -> None:
    state = sim.state
    routes = web.RouteTableDef()

    async def body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        data = await request.json()
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return data

    def ok(data: Any = None) -> web.Response:
        return web.json_response({"ok": True, "result": data})

    @routes.get(f"{CONTROL_PREFIX}/state")
    async def get_state(_request: web.Request) -> web.Response:
        return web.json_response(state.to_json())

    @routes.get(f"{CONTROL_PREFIX}/config")
    async def get_config(request: web.Request) -> web.Response:
        return web.json_response(sim.config(f"{request.scheme}://{request.host}"))

    @routes.get(f"{CONTROL_PREFIX}/demo-options")
    async def get_demo_options(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                provider: provider_sim.demo_options()
                for provider, provider_sim in sim.providers.items()
            }
        )

    @routes.post(f"{CONTROL_PREFIX}/calls")
    async def new_call(request: web.Request) -> web.Response:
        data = await body(request)
        if data.get("direction", "in") == "out":
            call = state.originate(
                data["caller"],
                data["callee"],
                agent_id=data.get("agent_id"),
                line_id=data.get("line_id"),
            )
        else:
            call = state.incoming_call(
                data["caller"],
                data.get("callee"),
                queue_id=data.get("queue_id"),
                agent_id=data.get("agent_id"),
                number_id=data.get("number_id"),
            )
        return ok(asdict(call) | {"created": call.created.isoformat()})

    @routes.post(CONTROL_PREFIX + "/calls/{call_id}/{action}")
    async def call_action(request: web.Request) -> web.Response:
        data = await body(request)
        call_id, action = request.match_info["call_id"], request.match_info["action"]
        match action:
            case "answer":
                state.answer(call_id, data.get("agent_id"))
            case "hangup":
                state.hangup(call_id, data.get("cause", "normal"))
            case "hold":
                state.hold(call_id, bool(data.get("on", True)))
            case "transfer":
                state.transfer(call_id, data["destination"])
            case _:
                raise web.HTTPNotFound(text=f"unknown call action {action}")
        return ok()

    @routes.post(f"{CONTROL_PREFIX}/agents")
    async def add_agent(request: web.Request) -> web.Response:
        agent = state.add_agent((await body(request)).get("name"))
        return ok({"id": agent.id})

    @routes.patch(CONTROL_PREFIX + "/agents/{agent_id}")
    async def change_agent(request: web.Request) -> web.Response:
        data = await body(request)
        agent_id = request.match_info["agent_id"]
        if "logged_in" in data:
            (state.agent_login if data["logged_in"] else state.agent_logout)(agent_id)
        if data.get("paused"):
            state.agent_pause(agent_id, data.get("pause_reason"))
        elif data.get("paused") is False:
            state.agent_unpause(agent_id)
        if "status" in data:
            from .state import AgentStatus

            state.agents[agent_id].status = AgentStatus(data["status"])
        return ok()

    @routes.delete(CONTROL_PREFIX + "/agents/{agent_id}")
    async def remove_agent(request: web.Request) -> web.Response:
        state.remove_agent(request.match_info["agent_id"])
        return ok()

    @routes.post(f"{CONTROL_PREFIX}/queues")
    async def add_queue(request: web.Request) -> web.Response:
        queue = state.add_queue((await body(request)).get("name"))
        return ok({"id": queue.id})

    @routes.delete(CONTROL_PREFIX + "/queues/{queue_id}")
    async def remove_queue(request: web.Request) -> web.Response:
        state.remove_queue(request.match_info["queue_id"])
        return ok()

    @routes.post(f"{CONTROL_PREFIX}/lines")
    async def add_line(request: web.Request) -> web.Response:
        data = await body(request)
        line = state.add_line(
            kind=data.get("kind", "extension"),
            agent_id=data.get("agent_id"),
            registered=data.get("registered", True),
        )
        return ok({"id": line.id})

    @routes.patch(CONTROL_PREFIX + "/lines/{line_id}")
    async def change_line(request: web.Request) -> web.Response:
        data = await body(request)
        state.set_registered(request.match_info["line_id"], bool(data["registered"]))
        return ok()

    @routes.delete(CONTROL_PREFIX + "/lines/{line_id}")
    async def remove_line(request: web.Request) -> web.Response:
        state.remove_line(request.match_info["line_id"])
        return ok()

    @routes.post(f"{CONTROL_PREFIX}/sms")
    async def incoming_sms(request: web.Request) -> web.Response:
        data = await body(request)
        sms = state.receive_sms(data["sender"], data["recipient"], data["text"])
        return ok({"id": sms.id})

    @routes.post(f"{CONTROL_PREFIX}/daktela/version")
    async def set_daktela_version(request: web.Request) -> web.Response:
        # Which legacy API version the server is (3.9: a 3.x server without 4.x actions).
        from .providers.daktela import DaktelaSim

        daktela = sim.providers["daktela"]
        if not isinstance(daktela, DaktelaSim):
            raise web.HTTPNotFound
        try:
            daktela.set_max_version(str((await body(request))["version"]))
        except (KeyError, ValueError) as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        return ok()

    @routes.post(CONTROL_PREFIX + "/{provider}/admin-hook")
    async def set_admin_hook(request: web.Request) -> web.Response:
        provider_sim = sim.providers.get(request.match_info["provider"])
        if provider_sim is None:
            raise web.HTTPNotFound
        try:
            provider_sim.set_admin_hook(await body(request))
        except LookupError as err:
            raise web.HTTPNotFound(text=str(err)) from None
        return ok()

    @routes.post(f"{CONTROL_PREFIX}/credentials")
    async def set_credentials(request: web.Request) -> web.Response:
        for provider, values in (await body(request)).items():
            state.credentials.setdefault(provider, {}).update(values)
        return ok()

    @routes.post(f"{CONTROL_PREFIX}/timings")
    async def set_timings(request: web.Request) -> web.Response:
        for key, value in (await body(request)).items():
            if not hasattr(state.timings, key):
                raise web.HTTPBadRequest(text=f"unknown timing {key}")
            setattr(state.timings, key, value)
        return ok()

    @routes.post(f"{CONTROL_PREFIX}/faults")
    async def add_fault(request: web.Request) -> web.Response:
        data = await body(request)
        fault = Fault(
            provider=data["provider"],
            kind=FaultKind(data["kind"]),
            endpoint=data.get("endpoint"),
            count=data.get("count"),
            seconds=float(data.get("seconds", 1.0)),
            retry_after=int(data.get("retry_after", 30)),
            status=int(data.get("status", 503)),
        )
        sim.faults.append(fault)
        return ok()

    @routes.delete(f"{CONTROL_PREFIX}/faults")
    async def clear_faults(_request: web.Request) -> web.Response:
        sim.faults.clear()
        return ok()

    @routes.get(f"{CONTROL_PREFIX}/requests")
    async def get_requests(request: web.Request) -> web.Response:
        provider = request.query.get("provider")
        return web.json_response(
            [asdict(r) for r in sim.requests if provider in (None, r.provider)]
        )

    @routes.delete(f"{CONTROL_PREFIX}/requests")
    async def clear_requests(_request: web.Request) -> web.Response:
        sim.requests.clear()
        sim.counters.clear()
        return ok()

    @routes.get(f"{CONTROL_PREFIX}/counters")
    async def get_counters(_request: web.Request) -> web.Response:
        return web.json_response(
            [{"provider": p, "endpoint": e, "count": n} for (p, e), n in sim.counters.items()]
        )

    @routes.get(f"{CONTROL_PREFIX}/webhooks")
    async def get_webhooks(_request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "provider": d.provider,
                    "method": d.method,
                    "url": d.url,
                    "body": d.body,
                    "status": d.status,
                    "error": d.error,
                }
                for d in sim.webhooks.deliveries
            ]
        )

    app.add_routes(routes)

    @web.middleware
    async def sim_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except SimError as err:
            return web.json_response({"ok": False, "error": str(err)}, status=409)
        except (KeyError, ValueError) as err:
            if request.path.startswith(CONTROL_PREFIX):
                return web.json_response({"ok": False, "error": f"bad request: {err}"}, status=400)
            raise

    app.middlewares.append(sim_errors)
