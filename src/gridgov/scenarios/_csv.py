"""Opening a scenario's CSV files: one place for their encoding and their faults."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from gridgov.errors import NotFoundError, ValidationError

__all__ = ["opened_csv"]


@contextlib.contextmanager
def opened_csv(file: Path, source: str) -> Iterator[TextIO]:
    """Open a CSV file for reading rows; a fault in it is a gridgov error naming ``source``.

    ``utf-8-sig``: spreadsheet programs save CSV with a byte-order mark, which is read away.

    Raises:
        NotFoundError: If the file does not exist.
        ValidationError: If it cannot be read, is not UTF-8 text or is not CSV.
    """
    try:
        handle = file.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise NotFoundError("file", str(file)) from None
    except OSError as exc:
        raise ValidationError("", f"cannot read the file ({exc.strerror})", source=source) from None
    with handle:
        try:
            yield handle
        except UnicodeDecodeError:
            raise ValidationError("", "not UTF-8 text", source=source) from None
        except csv.Error as exc:
            raise ValidationError("", f"not a CSV file ({exc})", source=source) from None
