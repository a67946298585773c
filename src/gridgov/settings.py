"""A deployment's settings, kept in its store: the rules its services run by, and their history.

A district's catalogue, escalation policy, working calendar (with the additions it announced),
care policy, notification policy and targets are data, saved in the store with
:meth:`~gridgov.ports.SettingsRepository.save` and read by the services from the unit of work;
every saved version stays in :meth:`~gridgov.ports.SettingsRepository.history`. A service given
no rule of its own takes the store's; only a store holding none of a rule falls back to the
library's default
(:func:`care_policy`, :func:`case_workflow`, :func:`notification_policy`,
:func:`indicator_targets`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.calendar import WorkCalendar
from gridgov.care.policy import DEFAULT_POLICY, CarePolicy
from gridgov.cases.catalogue import DEFAULT_CATALOGUE, ServiceCatalogue, TimeLimit
from gridgov.cases.departments import Department, check_departments
from gridgov.cases.duplicates import DEFAULT_DUPLICATES, DuplicateRule
from gridgov.cases.escalation import DEFAULT_ESCALATION, EscalationPolicy
from gridgov.cases.workflow import DEFAULT_CALLBACK_WITHIN, CaseWorkflow
from gridgov.codes import CodeScheme
from gridgov.errors import NotFoundError, ValidationError
from gridgov.notify import DEFAULT_POLICY as DEFAULT_NOTIFICATIONS
from gridgov.notify import NotificationPolicy
from gridgov.targets import DEFAULT_TARGETS, Targets

if TYPE_CHECKING:  # the ports name Settings: importing them here would be circular
    from gridgov.ports import UnitOfWork

__all__ = [
    "DEFAULT_REQUESTS_KEPT",
    "DEFAULT_RETENTION",
    "LoadedScenario",
    "Retention",
    "Settings",
    "care_policy",
    "case_workflow",
    "duplicate_rule",
    "indicator_targets",
    "loaded_scenario",
    "notification_policy",
    "stored_settings",
]

DEFAULT_REQUESTS_KEPT = 24
"""Hours a request's idempotency key is kept when the settings say nothing."""


def _hours(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 8760:
        raise ValidationError(attribute.name, "expected a whole number of hours, 1 to 8760")


@attrs.frozen
class LoadedScenario:
    """Which scenario filled a store: what a platform checks before it serves from it.

    Args:
        name: The scenario's name.
        as_of: The scenario's reference day, if it has one.
    """

    name: str = attrs.field(validator=v.text())
    as_of: pendulum.Date | None = attrs.field(default=None, validator=v.optional(v.plain_date))


def _departments(value: Iterable[Department]) -> tuple[Department, ...]:
    return v.to_tuple(value)


def _check_departments(_inst: Any, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise ValidationError("departments", "expected a list of departments")
    check_departments(value)


def _days(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 36500:
        raise ValidationError(attribute.name, "expected a whole number of days, 1 to 36500")


@attrs.frozen
class Retention:
    """How long personal data is kept once its purpose is served (PIPL article 19).

    :func:`gridgov.services.retention.purge` erases what is older. ``None``: kept.

    Args:
        contact_notes_days: Days a contact's notes are kept after the contact (the contact,
            its outcome and instant stay: the coverage figures rest on them). Proposal: two
            years, a care cycle and the next one's comparison.
        case_reporter_days: Days a closed case keeps its reporter's name and phone (for the
            call-back, 回访) after it was closed. Proposal: one year.
    """

    contact_notes_days: int | None = attrs.field(default=730, validator=_days)
    case_reporter_days: int | None = attrs.field(default=365, validator=_days)


DEFAULT_RETENTION = Retention()
"""The retention a store without its own keeps (proposals: see :class:`Retention`)."""


@attrs.frozen
class Settings:
    """The rules a store's services run by, saved in the store and versioned.

    Args:
        catalogue: The service catalogue of cases.
        escalation: The escalation policy of cases.
        calendar: The working calendar time limits are counted on, with the deployment's own
            additions; ``None`` when the store holds none (services then need one given).
        care_policy: The elder-care policy; ``None`` when the store holds none (services then
            use :data:`~gridgov.care.DEFAULT_POLICY`).
        notifications: Who is notified of what (:mod:`gridgov.notify`); ``None`` when the
            store holds none (:data:`~gridgov.notify.DEFAULT_POLICY` applies).
        requests_kept_hours: How long a request's idempotency key and first result are kept.
        scenario: The scenario that filled the store, if one did.
        scheme: The code scheme the store's cells follow, if saved: :func:`gridgov.open_store`
            opens the store with it when given none, and refuses another.
        departments: The functional departments cases are routed to
            (:mod:`gridgov.cases.departments`); none in a store that declares none.
        retention: How long personal data is kept; ``None``: :data:`DEFAULT_RETENTION`.
        duplicates: When two reports may be one problem (:mod:`gridgov.cases.duplicates`);
            ``None``: :data:`~gridgov.cases.duplicates.DEFAULT_DUPLICATES`.
        targets: The share each indicator should reach, per cell (:mod:`gridgov.targets`);
            ``None``: :data:`~gridgov.targets.DEFAULT_TARGETS`.
        callback_within: How soon after closing a case its reporter is called back (回访);
            ``None``: :data:`~gridgov.cases.workflow.DEFAULT_CALLBACK_WITHIN`.
        version: The stored version, managed by repositories.
    """

    catalogue: ServiceCatalogue = attrs.field(
        default=DEFAULT_CATALOGUE, validator=v.instance_of(ServiceCatalogue), repr=False
    )
    escalation: EscalationPolicy = attrs.field(
        default=DEFAULT_ESCALATION, validator=v.instance_of(EscalationPolicy), repr=False
    )
    calendar: WorkCalendar | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(WorkCalendar)), repr=False
    )
    care_policy: CarePolicy | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(CarePolicy)), repr=False
    )
    notifications: NotificationPolicy | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(NotificationPolicy)), repr=False
    )
    requests_kept_hours: int = attrs.field(default=DEFAULT_REQUESTS_KEPT, validator=_hours)
    scenario: LoadedScenario | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(LoadedScenario))
    )
    scheme: CodeScheme | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(CodeScheme)), repr=False
    )
    departments: tuple[Department, ...] = attrs.field(
        default=(), converter=_departments, validator=_check_departments, repr=False
    )
    retention: Retention | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(Retention))
    )
    duplicates: DuplicateRule | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(DuplicateRule))
    )
    targets: Targets | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(Targets)), repr=False
    )
    callback_within: TimeLimit | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(TimeLimit))
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)


def stored_settings(uow: UnitOfWork) -> Settings | None:
    """Return the store's settings, or ``None`` if none were ever saved."""
    try:
        return uow.settings.get()
    except NotFoundError:
        return None


def loaded_scenario(uow: UnitOfWork) -> LoadedScenario | None:
    """Return the scenario that filled the store, or ``None`` if no scenario did."""
    stored = stored_settings(uow)
    return None if stored is None else stored.scenario


def care_policy(uow: UnitOfWork, given: CarePolicy | None = None) -> CarePolicy:
    """Return ``given`` if there is one, else the store's care policy, else the default."""
    if given is not None:
        return given
    stored = stored_settings(uow)
    if stored is not None and stored.care_policy is not None:
        return stored.care_policy
    return DEFAULT_POLICY


def notification_policy(
    uow: UnitOfWork, given: NotificationPolicy | None = None
) -> NotificationPolicy:
    """Return ``given`` if there is one, else the store's notification policy, else the default."""
    if given is not None:
        return given
    stored = stored_settings(uow)
    if stored is not None and stored.notifications is not None:
        return stored.notifications
    return DEFAULT_NOTIFICATIONS


def duplicate_rule(uow: UnitOfWork, given: DuplicateRule | None = None) -> DuplicateRule:
    """Return ``given`` if there is one, else the store's duplicate rule, else the default."""
    if given is not None:
        return given
    stored = stored_settings(uow)
    if stored is not None and stored.duplicates is not None:
        return stored.duplicates
    return DEFAULT_DUPLICATES


def indicator_targets(uow: UnitOfWork, given: Targets | None = None) -> Targets:
    """Return ``given`` if there is one, else the store's targets, else the default."""
    if given is not None:
        return given
    stored = stored_settings(uow)
    if stored is not None and stored.targets is not None:
        return stored.targets
    return DEFAULT_TARGETS


def case_workflow(uow: UnitOfWork, given: CaseWorkflow | None = None) -> CaseWorkflow:
    """Return ``given`` if there is one, else the workflow of the store's settings.

    Raises:
        ValidationError: On ``workflow`` if neither is there: the store holds no settings or
            no calendar (a deadline cannot be counted on a calendar nobody chose).
    """
    if given is not None:
        return given
    stored = stored_settings(uow)
    if stored is None or stored.calendar is None:
        raise ValidationError(
            "workflow",
            "the store holds no working calendar: pass a workflow or save Settings(calendar=...)",
        )
    return CaseWorkflow(
        stored.calendar,
        stored.catalogue,
        stored.escalation,
        callback_within=stored.callback_within or DEFAULT_CALLBACK_WITHIN,
    )
