"""The booking contracts: registrations for occurrences, volunteer shifts and sign-ups."""

from __future__ import annotations

import uuid

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.errors import NotFoundError, ValidationError
from gridgov.scheduling.registrations import Occupancy, Registration, RegistrationState
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.testing import strategies as gst
from gridgov.testing._samples import (
    _HOMES,
    _KIT_HYPOTHESIS,
    _WEEKLY,
    _keys,
    _occurrence,
    _registration,
    _RegistrationBase,
    _SchedulingBase,
    _series,
    _shift,
    _signup,
    _stored,
)
from gridgov.testing._world import (
    GRID_B,
    ON,
    T0,
    UowFactory,
    _household,
    _resident,
)


class RegistrationRepositoryContract(_RegistrationBase):
    """What every ``RegistrationRepository`` does: by occurrence, and by resident and time."""

    def test_occupancy_and_promotion_count_every_registration_staged_included(
        self, scheduled: UowFactory
    ) -> None:
        """occupancy() counts places and waitlist; promotion confirms the earliest waiting."""
        waiting = RegistrationState.WAITLISTED
        self.add_and_commit(
            scheduled,
            "registrations",
            [
                _registration("g1", "r1"),
                _registration("g2", "r2", state=RegistrationState.ATTENDED),
                _registration("g3", "r3", state=waiting, registered_at=T0.subtract(hours=2)),
            ],
        )
        with scheduled() as uow:
            uow.registrations.add(
                _registration("g4", "r4", state=waiting, registered_at=T0.subtract(hours=3))
            )
            uow.registrations.add(_registration("g5", "r5", state=RegistrationState.CANCELLED))
            occurrence = uow.registrations.get("g1").occurrence_id
            before = uow.registrations.occupancy(occurrence)
            promoted = uow.registrations.promote_first_waiting(occurrence)
            after = uow.registrations.occupancy(occurrence)
            nobody = uow.registrations.occupancy("a1@19990101T000000Z")
        expected = (Occupancy(2, 2), "g4", RegistrationState.CONFIRMED, Occupancy(3, 1))
        assert expected == (
            before,
            promoted.id if promoted else None,
            promoted.state if promoted else None,
            after,
        )
        assert Occupancy(0, 0) == nobody

    def test_registration_for_records_added_in_the_same_unit(self, scheduled: UowFactory) -> None:
        """A unit may register a resident and for a series it added before committing."""
        with scheduled() as uow:
            uow.households.add(_household("h9", GRID_B, _resident("r9", ON)))
            uow.series.add(_series("a9", venue="v2"))
            uow.registrations.add(_registration("g1", "r9", series="a9"))
            uow.commit()
        with scheduled() as uow:
            got = uow.registrations.for_resident("r9", start=T0, end=T0.add(hours=1))
        assert ["g1"] == _keys(got)

    def test_registration_for_occurrence_orders_by_registered_at_then_id(
        self, scheduled: UowFactory
    ) -> None:
        """for_occurrence returns the occurrence's registrations by registration instant, id."""
        week = T0.add(weeks=1)
        self.add_and_commit(
            scheduled,
            "registrations",
            [
                _registration("g5", "r1", registered_at=T0.subtract(hours=1)),
                _registration("g2", "r2", registered_at=T0.subtract(hours=3).in_timezone("UTC")),
                _registration("g4", "r3", registered_at=T0.subtract(hours=2)),
                _registration("g3", "r4", registered_at=T0.subtract(hours=2).in_timezone("UTC")),
                _registration("g1", "r5", registered_at=T0.subtract(hours=1, microseconds=1)),
                _registration("g6", "r1", week, registered_at=T0.subtract(days=2)),
            ],
        )
        with scheduled() as uow:
            got = (
                _keys(uow.registrations.for_occurrence(_occurrence("a1", T0))),
                _keys(uow.registrations.for_occurrence(_occurrence("a1", week))),
                uow.registrations.for_occurrence(_occurrence("a1", T0.add(weeks=2))),
            )
        assert (["g2", "g3", "g4", "g1", "g5"], ["g6"], ()) == got

    def test_registration_for_resident_keeps_overlaps_by_start_then_id(
        self, scheduled: UowFactory
    ) -> None:
        """for_resident keeps occurrences overlapping ``[start, end)``, by start then id."""
        end = T0.add(days=1)
        self.add_and_commit(
            scheduled,
            "registrations",
            [
                _registration("a", "r1", T0.subtract(hours=2), minutes=120),  # ends at start
                _registration("b", "r1", T0.subtract(hours=1).in_timezone("UTC"), minutes=61),
                _registration("c", "r1", T0.add(hours=1), minutes=60),
                _registration("d", "r1", end, minutes=30),  # starts at the end
                _registration("e", "r1", end.subtract(minutes=1).in_timezone("Europe/Berlin")),
                _registration("f", "r1", T0.subtract(days=1), minutes=3 * 24 * 60),
                _registration("g", "r2", T0, minutes=60),  # someone else
                _registration("h", "r1", T0.add(hours=1).in_timezone("America/New_York")),
            ],
        )
        with scheduled() as uow:
            got = _keys(uow.registrations.for_resident("r1", start=T0, end=end))
            none = uow.registrations.for_resident("r5", start=T0, end=end)
        assert (["f", "b", "c", "h", "e"], ()) == (got, none)

    def test_staged_registrations_are_visible_in_their_own_unit_only(
        self, scheduled: UowFactory
    ) -> None:
        """A unit's new and changed registrations show in its own queries; others see none."""
        self.add_and_commit(scheduled, "registrations", [_registration("g1", "r1")])
        occurrence = _occurrence("a1", T0)
        window = {"start": T0, "end": T0.add(hours=1)}
        with scheduled() as uow:
            uow.registrations.add(_registration("g2", "r2", registered_at=T0.subtract(days=3)))
            uow.registrations.update(
                attrs.evolve(uow.registrations.get("g1"), state=RegistrationState.CANCELLED)
            )
            mine = (
                _keys(uow.registrations.for_occurrence(occurrence)),
                _keys(uow.registrations.for_resident("r2", **window)),
                uow.registrations.for_resident("r1", **window)[0].state,
            )
            with scheduled() as other:
                theirs = (
                    _keys(other.registrations.for_occurrence(occurrence)),
                    other.registrations.for_resident("r2", **window),
                    other.registrations.for_resident("r1", **window)[0].state,
                )
        assert (
            (["g2", "g1"], ["g2"], RegistrationState.CANCELLED),
            (["g1"], (), RegistrationState.CONFIRMED),
        ) == (mine, theirs)

    def test_registration_rollback_leaves_nothing(self, scheduled: UowFactory) -> None:
        """Registrations added then rolled back are gone from every query."""
        occurrence = _occurrence("a1", T0)
        window = {"start": T0, "end": T0.add(days=1)}
        with scheduled() as uow:
            uow.registrations.add(_registration("g1"))
            uow.rollback()
            inside = (
                uow.registrations.for_occurrence(occurrence),
                uow.registrations.for_resident("r1", **window),
            )
        with scheduled() as uow:
            after = (
                uow.registrations.for_occurrence(occurrence),
                uow.registrations.for_resident("r1", **window),
                _stored(lambda: uow.registrations.get("g1")),
            )
        assert (((), ()), ((), (), False)) == (inside, after)

    @pytest.mark.parametrize(
        ("method", "args", "kwargs", "path"),
        [
            ("for_resident", ("r1",), {"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ("for_resident", ("r1",), {"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": ON}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": T0.subtract(days=1)}, "end"),
            ("for_resident", ("",), {"start": T0, "end": T0.add(days=1)}, "resident_id"),
            ("for_occurrence", ("",), {}, "occurrence_id"),
            ("for_occurrence", (7,), {}, "occurrence_id"),
        ],
    )
    def test_registration_bad_query_arguments_raise_validation_error(
        self,
        scheduled: UowFactory,
        method: str,
        args: tuple[object, ...],
        kwargs: dict[str, object],
        path: str,
    ) -> None:
        """Naive or non-instants, windows ending before they start and empty keys raise."""
        with scheduled() as uow, pytest.raises(ValidationError) as info:
            getattr(uow.registrations, method)(*args, **kwargs)
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(
        drawn=gst.registrations(
            series=_series("a1", rrule=_WEEKLY), resident_id=st.sampled_from(sorted(_HOMES))
        )
    )
    def test_generated_registrations_round_trip(
        self, scheduled: UowFactory, drawn: Registration
    ) -> None:
        """Any registration comes back equal and is found by its occurrence and its times."""
        registration = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with scheduled() as uow:
            uow.registrations.add(registration)
            uow.commit()
        with scheduled() as uow:
            got = uow.registrations.get(registration.id)
            by_occurrence = registration.id in _keys(
                uow.registrations.for_occurrence(registration.occurrence_id)
            )
            by_resident = registration.id in _keys(
                uow.registrations.for_resident(
                    registration.resident_id, start=registration.start, end=registration.end
                )
            )
        assert (attrs.evolve(registration, version=1), True, True) == (
            got,
            by_occurrence,
            by_resident,
        )


class ShiftRepositoryContract(_SchedulingBase):
    """What every ``ShiftRepository`` does: volunteer shifts of a venue by time."""

    def test_shift_in_venue_keeps_overlaps_by_start_then_id(self, venued: UowFactory) -> None:
        """in_venue keeps the venue's shifts overlapping ``[start, end)``, by start then id."""
        end = T0.add(days=1)
        self.add_and_commit(
            venued,
            "shifts",
            [
                _shift("a", T0.subtract(hours=3), minutes=180),  # ends at start
                _shift("b", T0.subtract(hours=1).in_timezone("UTC"), minutes=61),
                _shift("c", T0.add(hours=1)),
                _shift("d", end, minutes=30),  # starts at the end
                _shift("e", end.subtract(minutes=1).in_timezone("Europe/Berlin")),
                _shift("f", T0.subtract(days=1), minutes=3 * 24 * 60),
                _shift("g", T0, venue="v2"),  # another venue
                _shift("h", T0.add(hours=1).in_timezone("America/New_York")),
            ],
        )
        with venued() as uow:
            got = _keys(uow.shifts.in_venue("v1", start=T0, end=end))
            none = uow.shifts.in_venue("v3", start=T0, end=end)
        assert (["f", "b", "c", "h", "e"], ()) == (got, none)

    def test_shift_in_unknown_venue_raises_not_found(self, venued: UowFactory) -> None:
        """Asking for the shifts of an unknown venue raises NotFoundError."""
        with venued() as uow, pytest.raises(NotFoundError):
            uow.shifts.in_venue("v404", start=T0, end=T0.add(days=1))

    def test_staged_shifts_are_visible_in_their_own_unit_only(self, venued: UowFactory) -> None:
        """A unit's new and moved shifts show in its own queries; others see none."""
        self.add_and_commit(venued, "shifts", [_shift("sh1")])
        window = {"start": T0, "end": T0.add(hours=1)}
        with venued() as uow:
            uow.shifts.add(_shift("sh0", T0.subtract(minutes=30)))
            uow.shifts.update(attrs.evolve(uow.shifts.get("sh1"), venue_id="v2"))
            mine = (_keys(uow.shifts.in_venue("v1", **window)), uow.shifts.get("sh0").version)
            with venued() as other:
                theirs = (
                    _keys(other.shifts.in_venue("v1", **window)),
                    _stored(lambda: other.shifts.get("sh0")),
                )
        assert ((["sh0"], 1), (["sh1"], False)) == (mine, theirs)

    def test_shift_rollback_leaves_nothing(self, venued: UowFactory) -> None:
        """Shifts added then rolled back are gone, in the unit and after it."""
        window = {"start": T0, "end": T0.add(days=1)}
        with venued() as uow:
            uow.shifts.add(_shift("sh1"))
            uow.rollback()
            inside = uow.shifts.in_venue("v1", **window)
        with venued() as uow:
            after = (uow.shifts.in_venue("v1", **window), _stored(lambda: uow.shifts.get("sh1")))
        assert ((), ((), False)) == (inside, after)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ({"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ({"start": ON, "end": T0}, "start"),
            ({"start": T0, "end": T0.subtract(microseconds=1)}, "end"),
        ],
    )
    def test_shift_bad_query_arguments_raise_validation_error(
        self, venued: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Naive or non-instants and a window ending before it starts raise ValidationError."""
        with venued() as uow, pytest.raises(ValidationError) as info:
            uow.shifts.in_venue("v1", **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.shifts(venue_id="v1"))
    def test_generated_shifts_round_trip(self, venued: UowFactory, drawn: Shift) -> None:
        """Any shift comes back equal at version 1 and is found over its own hours."""
        shift = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with venued() as uow:
            uow.shifts.add(shift)
            uow.commit()
        with venued() as uow:
            got = uow.shifts.get(shift.id)
            found = shift.id in _keys(uow.shifts.in_venue("v1", start=shift.start, end=shift.end))
        assert (attrs.evolve(shift, version=1), True) == (got, found)


class SignUpRepositoryContract(_SchedulingBase):
    """What every ``SignUpRepository`` does: volunteers' sign-ups by shift and by resident."""

    @pytest.fixture
    def staffed(self, venued: UowFactory) -> UowFactory:
        """Return the store with venues and two shifts: sh1 at v1 from T0, sh2 at v2 a day on."""
        with venued() as uow:
            uow.shifts.add(_shift("sh1"))
            uow.shifts.add(_shift("sh2", T0.add(days=1), venue="v2"))
            uow.commit()
        return venued

    def test_taken_counts_the_signed_up_of_a_shift_staged_included(
        self, staffed: UowFactory
    ) -> None:
        """taken() counts the signed-up volunteers of a shift, the unit's own included."""
        self.add_and_commit(
            staffed,
            "signups",
            [_signup("u1", "r1"), _signup("u2", "r2", state=SignUpState.CANCELLED)],
        )
        with staffed() as uow:
            uow.signups.add(_signup("u3", "r3"))
            uow.signups.add(_signup("u4", "r4", T0.add(days=1), shift="sh2"))
            counts = (uow.signups.taken("sh1"), uow.signups.taken("sh2"))
            with pytest.raises(NotFoundError):
                uow.signups.taken("sh-none")
        assert (2, 1) == counts

    def test_signup_for_records_added_in_the_same_unit(self, staffed: UowFactory) -> None:
        """A unit may sign up a resident it added for a shift it added, before committing."""
        with staffed() as uow:
            uow.households.add(_household("h9", GRID_B, _resident("r9", ON)))
            uow.shifts.add(_shift("sh9", venue="v3"))
            uow.signups.add(_signup("su1", "r9", shift="sh9"))
            uow.commit()
        with staffed() as uow:
            got = (
                _keys(uow.signups.for_shift("sh9")),
                _keys(uow.signups.for_resident("r9", start=T0, end=T0.add(hours=1))),
            )
        assert (["su1"], ["su1"]) == got

    def test_signup_for_shift_orders_by_at_then_id(self, staffed: UowFactory) -> None:
        """for_shift returns the shift's sign-ups by sign-up instant then id, others left out."""
        self.add_and_commit(
            staffed,
            "signups",
            [
                _signup("su5", "r1", at=T0.subtract(hours=1)),
                _signup("su2", "r2", at=T0.subtract(hours=3).in_timezone("UTC")),
                _signup("su4", "r3", at=T0.subtract(hours=2)),
                _signup("su3", "r4", at=T0.subtract(hours=2).in_timezone("America/New_York")),
                _signup("su1", "r5", at=T0.subtract(hours=1, microseconds=1)),
                _signup("su6", "r1", T0.add(days=1), shift="sh2"),
            ],
        )
        with staffed() as uow:
            got = (_keys(uow.signups.for_shift("sh1")), _keys(uow.signups.for_shift("sh2")))
        assert (["su2", "su3", "su4", "su1", "su5"], ["su6"]) == got

    def test_signup_for_unknown_shift_raises_not_found(self, staffed: UowFactory) -> None:
        """Asking for the sign-ups of an unknown shift raises NotFoundError."""
        with staffed() as uow, pytest.raises(NotFoundError):
            uow.signups.for_shift("sh404")

    def test_signup_for_resident_keeps_overlaps_by_start_then_id(self, staffed: UowFactory) -> None:
        """for_resident keeps sign-ups overlapping ``[start, end)``, by start then id."""
        end = T0.add(days=1)
        self.add_and_commit(
            staffed,
            "signups",
            [
                _signup("a", "r1", T0.subtract(hours=2), minutes=120),  # ends at start
                _signup("b", "r1", T0.subtract(hours=1).in_timezone("UTC"), minutes=61),
                _signup("c", "r1", T0.add(hours=1), minutes=60),
                _signup("d", "r1", end, minutes=30, shift="sh2"),  # starts at the end
                _signup("e", "r1", end.subtract(minutes=1).in_timezone("Europe/Berlin")),
                _signup("f", "r1", T0.subtract(days=1), minutes=3 * 24 * 60),
                _signup("g", "r2", T0, minutes=60),  # someone else
                _signup("h", "r1", T0.add(hours=1).in_timezone("America/New_York")),
            ],
        )
        with staffed() as uow:
            got = _keys(uow.signups.for_resident("r1", start=T0, end=end))
            none = uow.signups.for_resident("r5", start=T0, end=end)
        assert (["f", "b", "c", "h", "e"], ()) == (got, none)

    def test_staged_signups_are_visible_in_their_own_unit_only(self, staffed: UowFactory) -> None:
        """A unit's new and changed sign-ups show in its own queries; others see none."""
        self.add_and_commit(staffed, "signups", [_signup("su1", "r1")])
        window = {"start": T0, "end": T0.add(hours=1)}
        with staffed() as uow:
            uow.signups.add(_signup("su2", "r2", at=T0.subtract(days=3)))
            uow.signups.update(attrs.evolve(uow.signups.get("su1"), state=SignUpState.CANCELLED))
            mine = (
                _keys(uow.signups.for_shift("sh1")),
                _keys(uow.signups.for_resident("r2", **window)),
                uow.signups.for_resident("r1", **window)[0].state,
            )
            with staffed() as other:
                theirs = (
                    _keys(other.signups.for_shift("sh1")),
                    other.signups.for_resident("r2", **window),
                    other.signups.for_resident("r1", **window)[0].state,
                )
        assert (
            (["su2", "su1"], ["su2"], SignUpState.CANCELLED),
            (["su1"], (), SignUpState.SIGNED_UP),
        ) == (mine, theirs)

    def test_signup_rollback_leaves_nothing(self, staffed: UowFactory) -> None:
        """Sign-ups added then rolled back are gone from every query."""
        window = {"start": T0, "end": T0.add(days=1)}
        with staffed() as uow:
            uow.signups.add(_signup("su1"))
            uow.rollback()
            inside = (uow.signups.for_shift("sh1"), uow.signups.for_resident("r1", **window))
        with staffed() as uow:
            after = (
                uow.signups.for_shift("sh1"),
                uow.signups.for_resident("r1", **window),
                _stored(lambda: uow.signups.get("su1")),
            )
        assert (((), ()), ((), (), False)) == (inside, after)

    @pytest.mark.parametrize(
        ("method", "args", "kwargs", "path"),
        [
            ("for_resident", ("r1",), {"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ("for_resident", ("r1",), {"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": "tomorrow"}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": T0.subtract(days=1)}, "end"),
            ("for_resident", ("",), {"start": T0, "end": T0.add(days=1)}, "resident_id"),
            ("for_shift", ("",), {}, "shift_id"),
        ],
    )
    def test_signup_bad_query_arguments_raise_validation_error(
        self,
        staffed: UowFactory,
        method: str,
        args: tuple[object, ...],
        kwargs: dict[str, object],
        path: str,
    ) -> None:
        """Naive or non-instants, windows ending before they start and empty keys raise."""
        with staffed() as uow, pytest.raises(ValidationError) as info:
            getattr(uow.signups, method)(*args, **kwargs)
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.signups(shift=_shift("sh1"), resident_id=st.sampled_from(sorted(_HOMES))))
    def test_generated_signups_round_trip(self, staffed: UowFactory, drawn: SignUp) -> None:
        """Any sign-up comes back equal and is found by its shift and its volunteer's time."""
        signup = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with staffed() as uow:
            uow.signups.add(signup)
            uow.commit()
        with staffed() as uow:
            got = uow.signups.get(signup.id)
            by_shift = signup.id in _keys(uow.signups.for_shift("sh1"))
            by_resident = signup.id in _keys(
                uow.signups.for_resident(signup.resident_id, start=signup.start, end=signup.end)
            )
        assert (attrs.evolve(signup, version=1), True, True) == (got, by_shift, by_resident)
