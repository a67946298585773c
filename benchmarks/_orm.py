"""SQLAlchemy ORM mapping of the same tables: the code a user would otherwise write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import ForeignKey, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from gridgov import _json
from gridgov.households import Household
from gridgov.serialization import unstructure


class Base(DeclarativeBase):
    """Declarative base of the benchmark's mapping."""


class HouseholdRow(Base):
    """A household row with its document."""

    __tablename__ = "orm_households"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    cell_code: Mapped[str] = mapped_column(String, index=True)
    version: Mapped[int]
    doc: Mapped[str]
    residents: Mapped[list[ResidentRow]] = relationship()


class ResidentRow(Base):
    """A resident row, indexed by household and birth date."""

    __tablename__ = "orm_residents"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("orm_households.id"), index=True)
    cell_code: Mapped[str]
    birth_date: Mapped[str | None] = mapped_column(index=True)
    tags: Mapped[list[TagRow]] = relationship()


class TagRow(Base):
    """A resident's tag."""

    __tablename__ = "orm_resident_tags"
    tag: Mapped[str] = mapped_column(primary_key=True)
    cell_code: Mapped[str] = mapped_column(primary_key=True)
    household_id: Mapped[str] = mapped_column(primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("orm_residents.id"), primary_key=True)


def orm_save(path: Path, population: list[Household]) -> None:
    """Map every household to rows and save them with ``session.add_all`` and one commit."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _wal(conn: Any, _: Any) -> None:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")

    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(
            HouseholdRow(
                id=h.id,
                cell_code=h.cell_code,
                version=1,
                doc=_json.dumps(unstructure(h)),
                residents=[
                    ResidentRow(
                        id=m.id,
                        household_id=h.id,
                        cell_code=h.cell_code,
                        birth_date=None if m.birth_date is None else m.birth_date.isoformat(),
                        tags=[
                            TagRow(tag=t.code, cell_code=h.cell_code, household_id=h.id)
                            for t in m.tags
                        ],
                    )
                    for m in h.members
                ],
            )
            for h in population
        )
        session.commit()
    engine.dispose()
