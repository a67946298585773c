"""Quickstart: an area hierarchy, one household with an elder living alone, two ledger queries."""

import pendulum

from gridgov import (
    Address,
    EmergencyContact,
    GridCell,
    GridLevel,
    Household,
    LivingArrangement,
    NationalId,
    Resident,
    Tag,
    open_store,
)
from gridgov.codes import id_check_character

store = open_store("memory://")
with store() as uow:  # nothing is stored unless the unit of work commits
    uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
    uow.cells.add(GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"))
    uow.cells.add(GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"))
    uow.cells.add(GridCell("610102003006001", "铁一村网格", GridLevel.GRID, "610102003006"))
    body = "61010219550312001"  # address code, born 1955-03-12, sequence 001 (odd: male)
    elder = Resident(
        "r1",
        "王建国",
        national_id=NationalId(body + id_check_character(body)),
        tags=frozenset({Tag.LIVING_ALONE}),
        living_arrangement=LivingArrangement.ALONE,
        emergency_contacts=(EmergencyContact("王浩", "13900000002", "儿子"),),
    )
    address = Address("铁一村3号楼", unit="2", room="301")
    uow.households.add(Household("h1", "610102003006001", address, members=(elder,)))
    uow.commit()

today = pendulum.Date(2026, 11, 28)
with store() as uow:
    for entry in uow.households.with_tag(Tag.LIVING_ALONE).items:
        print(f"独居 living alone: {entry.resident.id} in household {entry.household_id}")
    for entry in uow.households.aged(on=today, min_age=60).items:
        age = entry.resident.age_on(today)
        print(f"60+: {entry.resident.id} aged {age} in cell {entry.cell_code}")
    print(repr(uow.households.get("h1").members[0]))  # personal data is masked in repr
