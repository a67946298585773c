"""JSON projections of the services' results, redacted by role, and their JSON Schemas.

What a platform's web service returns, and what ``gridgov ... --json`` prints:

- :func:`project` turns a service result (a worklist, a coverage, a case transition, a week's
  programme, ...) into JSON values, showing personal data as a ``Redaction`` or a principal's
  roles allow: to a masked role, ID and phone numbers, names, units and rooms, hidden addresses
  and the personal data in free texts are masked wherever a result holds them.
- :func:`schema` gives the JSON Schema (draft 2020-12) of those projections, for one redaction:
  a contract to publish, and a test that a masked document holds nothing in full.

Both are derived from the results' attrs classes with cattrs, from one declaration of what is
personal (:data:`PERSONAL`); :data:`RESULT_TYPES` lists the results. See docs/embedding.md.
"""

from gridgov.projections._declarations import (
    LEAVE_OUT,
    PERSONAL,
    RESULT_TYPES,
    TAG_KEY,
    FieldMask,
    JSONValue,
    Mask,
    projected_types,
)
from gridgov.projections._engine import project
from gridgov.projections._schema import DIALECT, schema

__all__ = [
    "DIALECT",
    "LEAVE_OUT",
    "PERSONAL",
    "RESULT_TYPES",
    "TAG_KEY",
    "FieldMask",
    "JSONValue",
    "Mask",
    "project",
    "projected_types",
    "schema",
]
