"""The kit's contract for the component register and the duplicate check's reads.

See :class:`gridgov.ports.ComponentRepository` and ``CaseRepository.sightings``.
"""

from __future__ import annotations

import attrs
import pendulum
import pytest

from gridgov._levels import GridLevel
from gridgov.cases.components import Component
from gridgov.cases.model import Case, CaseSource, CaseState, Location, Reporter, Urgency
from gridgov.errors import ValidationError
from gridgov.testing._world import BUILDING_A1, GRID_A, GRID_B, T0, UowFactory, _Base

__all__ = ["ComponentRepositoryContract", "sample_component", "sample_reported_case"]


def sample_component(n: int, cell_code: str = GRID_A) -> Component:
    """Return the ``n``-th sample component: a supply-water manhole cover (01 01) in Xincheng."""
    return Component(
        id=f"6101020101{n:06d}",
        category="supply_water_cover",
        name=f"明宫路{n}号门前上水井盖",
        cell_code=cell_code,
        point=(108.96 + n / 10_000, 34.29),
        department="water",
    )


def sample_reported_case(
    cid: str,
    at: pendulum.DateTime,
    *,
    category: str = "exposed_rubbish",
    cell_code: str = BUILDING_A1,
    component_id: str | None = None,
    state: CaseState = CaseState.REPORTED,
) -> Case:
    """Return a case as reported at ``at`` (no deadlines: the reads under test ignore them)."""
    return Case(
        id=cid,
        category=category,
        source=CaseSource.PATROL,
        location=Location(cell_code, point=(108.96, 34.29)),
        reporter=Reporter(name="王秀英", phone="13812345678"),
        description="井盖破损",
        urgency=Urgency.NORMAL,
        state=state,
        owner_cell=GRID_A,
        owner_level=GridLevel.GRID,
        reported_at=at,
        component_id=component_id,
    )


class ComponentRepositoryContract(_Base):
    """What every ``ComponentRepository`` and ``CaseRepository.sightings`` do."""

    def test_components_of_a_subtree_by_id(self, store: UowFactory) -> None:
        """``in_subtree`` returns the subtree's components by id, in pages."""
        with store() as uow:
            uow.components.add_many(
                [sample_component(3), sample_component(1), sample_component(2, GRID_B)]
            )
            uow.commit()
        with store() as uow:
            first = uow.components.in_subtree(GRID_A, limit=1)
            rest = uow.components.in_subtree(GRID_A, limit=5, after=first.next_cursor)
            grid_b = uow.components.in_subtree(GRID_B)
        assert (["6101020101000001"], ["6101020101000003"], ["6101020101000002"]) == (
            [c.id for c in first.items],
            [c.id for c in rest.items],
            [c.id for c in grid_b.items],
        )

    def test_sightings_of_a_category_and_a_component_latest_first(self, store: UowFactory) -> None:
        """``sightings`` reads a category's or a component's cases in the window, latest first."""
        cover = sample_component(1)
        with store() as uow:
            uow.components.add(cover)
            uow.cases.add_many(
                [
                    sample_reported_case("ks1", T0),
                    sample_reported_case("ks2", T0.add(hours=1), component_id=cover.id),
                    sample_reported_case("ks3", T0.add(hours=2)),
                    sample_reported_case("ks4", T0.add(hours=3), category="dirty_road"),
                    sample_reported_case("ks5", T0.add(days=5)),
                ]
            )
            uow.commit()
        with store() as uow:
            rubbish = uow.cases.sightings(
                since=T0, until=T0.add(days=1), category="exposed_rubbish"
            )
            on_cover = uow.cases.sightings(since=T0, until=T0.add(days=1), component_id=cover.id)
            latest = uow.cases.sightings(
                since=T0, until=T0.add(days=1), category="exposed_rubbish", limit=1
            )
        assert (["ks3", "ks2", "ks1"], [("ks2", cover.id)], ["ks3"]) == (
            [s.case_id for s in rubbish],
            [(s.case_id, s.component_id) for s in on_cover],
            [s.case_id for s in latest],
        )

    def test_sightings_see_this_units_writes(self, store: UowFactory) -> None:
        """A case added in the unit is read back by ``sightings`` before the commit."""
        with store() as uow:
            uow.cases.add(sample_reported_case("ks1", T0))
            found = uow.cases.sightings(since=T0, until=T0.add(hours=1), category="exposed_rubbish")
        assert ["ks1"] == [s.case_id for s in found]

    @pytest.mark.parametrize(
        "given",
        [{}, {"category": "exposed_rubbish", "component_id": "6101020101000001"}],
    )
    def test_sightings_need_exactly_one_filter(
        self, store: UowFactory, given: dict[str, str]
    ) -> None:
        """Neither or both of category and component: a ValidationError naming the category."""
        with store() as uow, pytest.raises(ValidationError) as caught:
            uow.cases.sightings(
                since=T0,
                until=T0.add(hours=1),
                category=given.get("category"),
                component_id=given.get("component_id"),
            )
        assert "category" == caught.value.path

    def test_a_stored_component_is_updated_at_its_version(self, store: UowFactory) -> None:
        """A component's change (its department, say) is stored at version 2."""
        with store() as uow:
            added = uow.components.add(sample_component(1))
            uow.commit()
        with store() as uow:
            changed = uow.components.update(attrs.evolve(added, department="urban_management"))
            uow.commit()
        with store() as uow:
            stored = uow.components.get(added.id)
        assert (2, "urban_management") == (changed.version, stored.department)
