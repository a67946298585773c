"""Ledger workbooks out: ``write_ledger`` of 100,000 residents, its time and memory.

Run: ``python -m benchmarks.ledger_export [--rows 100000]``

Each step runs in a process of its own, which first makes the households in memory (not
measured: a ledger as the store would page them) and then measures the step:

- ``write_ledger`` full: the households and residents sheets, styled, in openpyxl's write-only
  mode, the cells streamed to disk;
- ``write_ledger`` masked: the same, each household redacted on the way;
- openpyxl's ordinary (not write-only) workbook holding the same residents sheet's cells, for
  the memory write-only mode saves;
- ``read_ledger`` of the full export: every household back, compared with the ones written.

Seconds are wall-clock time, CPU seconds the process's own (a loaded machine stretches the
first, not the second). Memory is the process's peak resident set (``VmHWM``) over its resident
set once the households were made (``VmRSS``): what the step added at its peak.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from gridgov.access import Redaction
from gridgov.codes import id_check_character
from gridgov.households import Address, Household, Resident, Tag
from gridgov.ledger import ledger_sheets, read_ledger, write_ledger

GRID = "610102003006001"


def households(rows: int) -> list[Household]:
    """Return households of one to four residents, ``rows`` residents in all."""
    import datetime as dt

    made: list[Household] = []
    n = 0
    while n < rows:
        size = min(1 + len(made) % 4, rows - n)
        members = []
        for k in range(size):
            born = dt.date(1930, 1, 1) + dt.timedelta(days=(n * 37) % 25000)
            body = f"610102{born:%Y%m%d}{n // 25000 % 1000:03d}"
            members.append(
                Resident(
                    f"h{len(made):06d}-{k + 1}",
                    "田林" if n % 2 else "王秀英",
                    national_id=body + id_check_character(body),
                    phone=f"139{n:08d}",
                    tags=frozenset({Tag.ADVANCED_AGE} if n % 3 else ()),
                )
            )
            n += 1
        made.append(
            Household(
                f"h{len(made):06d}",
                GRID,
                Address(f"明宫小区 {len(made) % 40 + 1}号楼", str(1 + len(made) % 3), "301"),
                members=members,
            )
        )
    return made


def _status(key: str) -> float:
    """Return a ``/proc/self/status`` figure in MiB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(key)


def ordinary(ledger: list[Household], path: Path) -> None:
    """Write the residents sheet's cells in an ordinary (not write-only) openpyxl workbook."""
    book = Workbook()
    sheet = book.create_sheet("residents")
    residents = ledger_sheets(ledger, redaction=Redaction.FULL)[1]
    sheet.append([c.header for c in residents.columns])
    for row in residents.rows:
        sheet.append(list(row))
    book.save(path)


STEPS = {
    "full": "write_ledger, full (write-only)",
    "masked": "write_ledger, masked (write-only)",
    "ordinary": "openpyxl ordinary workbook, residents sheet only",
    "read": "read_ledger of the full export",
}


def step(name: str, rows: int, folder: Path) -> dict[str, object]:
    """Run one step in this process; return its seconds, added peak MiB and result."""
    ledger = households(rows)
    before = _status("VmRSS")
    began, cpu = time.perf_counter(), time.process_time()
    result: object = None
    if name in ("full", "masked"):
        redaction = Redaction.FULL if name == "full" else Redaction.MASKED
        result = write_ledger(ledger, folder / f"{name}.xlsx", redaction=redaction)
    elif name == "ordinary":
        ordinary(ledger, folder / "ordinary.xlsx")
    else:
        result = list(read_ledger(folder / "full.xlsx").households) == ledger
    took, used = time.perf_counter() - began, time.process_time() - cpu
    return {"seconds": took, "cpu": used, "peak": _status("VmHWM") - before, "result": result}


def main(argv: list[str] | None = None) -> None:
    """Run each step in a process of its own; print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ledger_export")
    parser.add_argument("--rows", type=int, default=100_000, help="residents (default 100000)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step is not None:
        print(json.dumps(step(args.step, args.rows, args.folder)))
        return
    measured = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in STEPS:
            command = [sys.executable, "-m", "benchmarks.ledger_export", "--step", name]
            command += ["--rows", str(args.rows), "--folder", folder]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            measured[name] = json.loads(done.stdout)
        size = (Path(folder) / "full.xlsx").stat().st_size / 2**20
    print(f"{args.rows} residents; the full export is {size:.1f} MiB")
    print(f"{'step':<50}{'seconds':>9}{'CPU s':>9}{'added peak MiB':>16}")
    for name, label in STEPS.items():
        m = measured[name]
        print(f"{label:<50}{m['seconds']:>9.2f}{m['cpu']:>9.2f}{m['peak']:>16.1f}")
    print(f"read back equal to the households written: {measured['read']['result']}")


if __name__ == "__main__":
    main()
