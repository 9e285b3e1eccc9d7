"""A longer schemathesis run than CI's: every operation of the description, more cases.

    .venv/bin/python bench/fuzz.py [--storage filestorage|postgresql] [--examples 50]
                                    [--stateful 50]

Prints each failure as it is found, then the figure: generated requests (and how many in
linked sequences), operations covered, failures, seconds. Exits 1 if anything failed. For
PostgreSQL it uses BAOBAB_TEST_DSN (as the tests do) and empties that database first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from baobab.asgi import BaobabApp
from baobab.testing.fuzz import FUZZ_OVERRIDES, fuzz, stop
from baobab.testing.kit import make_settings, require_postgres, zap_postgres


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", default="filestorage", choices=["filestorage", "postgresql"])
    parser.add_argument("--examples", type=int, default=50, help="cases per operation")
    parser.add_argument("--stateful", type=int, default=50, help="linked sequences")
    args = parser.parse_args()
    if args.storage == "postgresql":
        zap_postgres(require_postgres())
    with tempfile.TemporaryDirectory() as var:
        app = BaobabApp(make_settings(Path(var), args.storage, **FUZZ_OVERRIDES))
        try:
            report = fuzz(
                app,
                max_examples=args.examples,
                stateful_examples=args.stateful,
                log=lambda line: print(line, flush=True),
            )
        finally:
            stop(app)
    print(f"{args.storage}: {report.summary()}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
