"""A web service embedding gridgov over a loaded scenario: docs/embedding.md#an-example-service.

Every route acts as the worker in its path (a platform would take them from its login), in one
unit of work; results are projected for that worker; errors are RFC 9457 problem documents.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any

from fastapi import Body, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pendulum import Date

from gridgov import open_store
from gridgov.clock import Clock, SystemClock
from gridgov.errors import GridgovError, ValidationError
from gridgov.problems import PROBLEM_MEDIA_TYPE, problem_document
from gridgov.projections import project
from gridgov.serialization import parse_date, parse_instant, structure_arguments
from gridgov.services.care import record_contact, worklist
from gridgov.services.cases import report_case
from gridgov.services.scheduling import register_for_occurrence
from gridgov.services.scoped import ScopedUnitOfWork, as_worker
from gridgov.services.units import run_unit
from gridgov.settings import loaded_scenario

TZ = "Asia/Shanghai"
Json = Annotated[Any, Body()]
Key = Annotated[str | None, Header(alias="Idempotency-Key")]
Work = Callable[[ScopedUnitOfWork], object]
CASE = ("category", "source", "cell_code", "description", "reporter", "address", "point")
CONTACT = ("resident_id", "method", "outcome", "at", "notes", "task_id", "contact_id")


def create_app(url: str | None = None, clock: Clock | None = None) -> FastAPI:
    """Return the service over the store at ``url`` (default ``$GRIDGOV_DB``), once it is loaded."""
    at = os.environ.get("GRIDGOV_NOW")  # e.g. the scenario's morning; else the system's time
    now = clock or SystemClock(TZ, starting_at=parse_instant(at, "GRIDGOV_NOW") if at else None)
    store = open_store(url or os.environ["GRIDGOV_DB"])
    with store() as uow:
        loaded = loaded_scenario(uow)
    if loaded is None:
        store.close()
        raise SystemExit("the store holds no scenario: run `gridgov load --db URL` first")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title=f"gridgov: {loaded.name}", lifespan=lifespan)

    def act(worker_id: str, work: Work, status: int = 201, on: Date | None = None) -> JSONResponse:
        """Do ``work`` in one unit as the worker; answer its result projected for them."""
        unit = partial(as_worker, store, worker_id, on=on or now.today())
        body = run_unit(unit, lambda uow: project(work(uow), uow.principal, tz=TZ))
        return JSONResponse(body, status_code=status)

    @app.exception_handler(GridgovError)
    def problem(request: Request, exc: Exception) -> JSONResponse:
        doc = problem_document(exc)  # type: ignore[arg-type]  # registered for GridgovError
        return JSONResponse(doc, status_code=doc["status"], media_type=PROBLEM_MEDIA_TYPE)

    @app.exception_handler(RequestValidationError)
    def unreadable(request: Request, exc: Exception) -> JSONResponse:
        return problem(request, ValidationError("body", "expected a JSON document"))

    @app.get("/workers/{worker_id}/worklist")
    def get_worklist(worker_id: str, on: str | None = None) -> JSONResponse:
        day = now.today() if on is None else parse_date(on, "on")
        return act(worker_id, lambda uow: worklist(uow, worker_id, on=day, now=now.now()), 200, day)

    @app.post("/workers/{worker_id}/cases")
    def report(worker_id: str, body: Json, key: Key = None) -> JSONResponse:
        asked = structure_arguments(report_case, body, CASE)
        asked |= {"at": now.now(), "actor": worker_id, "idempotency_key": key}
        return act(worker_id, lambda uow: report_case(uow, **asked).case)

    @app.post("/workers/{worker_id}/occurrences/{occurrence}/registrations")
    def register(worker_id: str, occurrence: str, body: Json, key: Key = None) -> JSONResponse:
        asked = structure_arguments(register_for_occurrence, body, ("resident_id",))
        asked |= {"occurrence_id": occurrence, "at": now.now(), "idempotency_key": key}
        return act(worker_id, partial(register_for_occurrence, **asked))

    @app.post("/workers/{worker_id}/contacts")
    def contact(worker_id: str, body: Json, key: Key = None) -> JSONResponse:
        asked = structure_arguments(record_contact, body, CONTACT)
        asked |= {"by": worker_id, "now": now.now(), "idempotency_key": key}
        return act(worker_id, partial(record_contact, **asked))

    return app
