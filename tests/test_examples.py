"""Run every example script and check what it prints; regenerate the Minggong ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Lines each example must print; a new example needs an entry here.
EXPECTED = {
    "quickstart.py": [
        "独居 living alone: r1 in household h1",
        "60+: r1 aged 71 in cell 610102003006001",
        "Resident(id='r1', name='王**', national_id=NationalId('610102**********18'), "
        "phone=None, tags=['living_alone'])",
    ],
}


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with this interpreter from a neutral directory and capture its output."""
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        cwd=script.parent.parent,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("script", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    """The example exits with 0 and prints its expected lines."""
    result = run(script)
    assert (0, "") == (result.returncode, result.stderr)
    assert EXPECTED[script.name] == [
        line for line in result.stdout.splitlines() if line in EXPECTED[script.name]
    ]


def test_minggong_generator_reproduces_the_committed_csv(tmp_path: Path) -> None:
    """Regenerating the Minggong ledger, contacts and registrations gives the committed files."""
    result = run(EXAMPLES / "minggong" / "generate.py", str(tmp_path))
    assert (0, "") == (result.returncode, result.stderr)
    households, contacts = tmp_path / "households.csv", tmp_path / "contacts.csv"
    registrations = tmp_path / "registrations.csv"
    assert [
        f"wrote 2043 households to {households}",
        f"wrote 8313 contacts to {contacts}",
        f"wrote 91 registrations to {registrations}",
    ] == result.stdout.splitlines()
    for target in (households, contacts, registrations):
        assert (EXAMPLES / "minggong" / target.name).read_bytes() == target.read_bytes()
