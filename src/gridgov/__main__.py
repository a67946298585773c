"""Run the ``gridgov`` command: ``python -m gridgov demo``."""

from gridgov.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
