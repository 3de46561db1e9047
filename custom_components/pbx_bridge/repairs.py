"""Repair issues: what the user has to fix, shown once in Settings instead of logged again.

Every issue belongs to one loaded entry (its id starts with the entry id), is translated
under `issues.<key>` and clears itself when the cause is gone:

- `no_reachable_url`: a provider that pushes, and Home Assistant has no URL it can reach
  (no external URL); checked again whenever Home Assistant's URLs change;
- `webhook_registration_failed`: the provider refused our webhook URL; the next
  registration that works clears it, and its fix flow tries again;
- `missing_permission`: the credentials are valid but lack a right, either raised by a
  refresh or action (`PbxPermissionError`, one issue per refresh or action) or reported
  in a snapshot's problems; the next refresh or action of that kind that works clears it;
- `unknown_queue`, `unknown_number`: a snapshot reports a configured queue, path or
  number the provider does not know; the first snapshot without it clears it.
"""

from __future__ import annotations

from typing import Protocol

from homeassistant.components import webhook
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.network import NoURLAvailableError
import probatio

from .api.models import ProviderProblem
from .const import DOMAIN

LEARN_MORE_URL = "https://github.com/pbx-bridge/pbx_bridge#repairs"

ISSUE_NO_REACHABLE_URL = "no_reachable_url"
ISSUE_REGISTRATION_FAILED = "webhook_registration_failed"
ISSUE_MISSING_PERMISSION = "missing_permission"
# The origin of a permission refused during a refresh (actions use their own name).
ORIGIN_REFRESH = "refresh"


class IssueOwner(Protocol):
    """The entry an issue belongs to (any config entry has these)."""

    @property
    def entry_id(self) -> str: ...

    @property
    def title(self) -> str: ...


def _issue_id(entry: IssueOwner, *parts: str) -> str:
    return "_".join((entry.entry_id, *parts))


@callback
def _async_raise(
    hass: HomeAssistant,
    entry: IssueOwner,
    issue_id: str,
    key: str,
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    fixable: bool = False,
    **placeholders: str,
) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        data={"entry_id": entry.entry_id},
        is_fixable=fixable,
        learn_more_url=LEARN_MORE_URL,
        severity=severity,
        translation_key=key,
        translation_placeholders={"account": entry.title, **placeholders},
    )


@callback
def async_check_reachable_url(
    hass: HomeAssistant, entry: IssueOwner, webhook_id: str, provider: str
) -> None:
    """Raise or clear `no_reachable_url`: a pushing provider needs an external URL."""
    issue_id = _issue_id(entry, ISSUE_NO_REACHABLE_URL)
    try:
        webhook.async_generate_url(hass, webhook_id, allow_internal=False)
    except NoURLAvailableError:
        _async_raise(hass, entry, issue_id, ISSUE_NO_REACHABLE_URL, provider=provider)
    else:
        ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def async_registration_failed(
    hass: HomeAssistant, entry: IssueOwner, provider: str, error: str
) -> None:
    """The provider refused to take (or give back) our webhook URL; `error` says why."""
    _async_raise(
        hass,
        entry,
        _issue_id(entry, ISSUE_REGISTRATION_FAILED),
        ISSUE_REGISTRATION_FAILED,
        severity=ir.IssueSeverity.ERROR,
        fixable=True,
        provider=provider,
        error=error,
    )


@callback
def async_clear_registration_failed(hass: HomeAssistant, entry: IssueOwner) -> None:
    """The provider holds what the options say."""
    ir.async_delete_issue(hass, DOMAIN, _issue_id(entry, ISSUE_REGISTRATION_FAILED))


@callback
def async_permission_refused(
    hass: HomeAssistant, entry: IssueOwner, origin: str, permission: str
) -> None:
    """A refresh or the action `origin` was refused for want of `permission`."""
    _async_raise(
        hass,
        entry,
        _issue_id(entry, "refused", origin),
        ISSUE_MISSING_PERMISSION,
        severity=ir.IssueSeverity.ERROR,
        subject=permission,
    )


@callback
def async_permission_granted(hass: HomeAssistant, entry: IssueOwner, origin: str) -> None:
    """A refresh or the action `origin` worked: no right is missing for it."""
    ir.async_delete_issue(hass, DOMAIN, _issue_id(entry, "refused", origin))


def _problem_issue_id(entry: IssueOwner, problem: ProviderProblem) -> str:
    return _issue_id(entry, "problem", problem.kind, problem.subject)


@callback
def async_sync_problems(
    hass: HomeAssistant, entry: IssueOwner, problems: tuple[ProviderProblem, ...]
) -> None:
    """Keep one issue for each of the `problems` the latest snapshot reports.

    Called when a snapshot differs from the one before; it looks through this entry's
    issues only (the registry holds a handful), not through agents or lines.
    """
    wanted = {_problem_issue_id(entry, problem): problem for problem in problems}
    for issue_id in _entry_issue_ids(hass, entry, "problem") - wanted.keys():
        ir.async_delete_issue(hass, DOMAIN, issue_id)
    for issue_id, problem in wanted.items():
        _async_raise(hass, entry, issue_id, problem.kind, subject=problem.subject)


def _entry_issue_ids(hass: HomeAssistant, entry: IssueOwner, *parts: str) -> set[str]:
    prefix = _issue_id(entry, *parts, "")
    return {
        issue_id
        for domain, issue_id in ir.async_get(hass).issues
        if domain == DOMAIN and issue_id.startswith(prefix)
    }


@callback
def async_delete_entry_issues(hass: HomeAssistant, entry: IssueOwner) -> None:
    """Forget every issue of `entry` (it is unloaded: nothing keeps them current)."""
    for issue_id in _entry_issue_ids(hass, entry):
        ir.async_delete_issue(hass, DOMAIN, issue_id)


class RegisterAgainFlow(RepairsFlow):
    """Fix `webhook_registration_failed`: reload the account, which registers again."""

    def __init__(self, entry_id: str) -> None:
        self.entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        if user_input is not None:
            if self.hass.config_entries.async_get_entry(self.entry_id) is not None:
                await self.hass.config_entries.async_reload(self.entry_id)
            return self.async_create_entry(data={})
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            description_placeholders=issue.translation_placeholders if issue else None,
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue (only `webhook_registration_failed` is)."""
    # Every issue of ours carries the id of its entry.
    return RegisterAgainFlow(str((data or {}).get("entry_id")))
