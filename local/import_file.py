"""``make import FILE=path``: imports a catalog file into the local database through the same code as
the ImportCatalogFunction in AWS (cart_common/catalog_import.py), only read from a file instead of S3.

Same set-up as ``make dev`` (the embedded server, or DATABASE_URL; migrations; the application role
through PgBouncer), so it works whether or not ``make dev`` is running. ``--budget-s`` plays the
Lambda's remaining time: a run that reaches it stops after a batch, and running the same command
again continues where it stopped. The report is written to ``reports/<name>.json`` beside the file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from local import dev


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make import", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a .jsonl (JSON Lines) or .csv catalog file")
    parser.add_argument("--budget-s", type=float, default=900.0, help="stop after a batch once this is spent")
    parser.add_argument("--batch-size", type=int, default=None, help="lines a batch (IMPORT_BATCH_SIZE, 200)")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    url = dev.prepare_environment()
    _, bouncer = dev.connect_api_database(url)
    try:
        from cart_common import catalog_import

        deadline = time.monotonic() + args.budget_s

        def remaining_ms() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

        result = catalog_import.run(
            catalog_import.FileSource(args.file), remaining_ms, batch_size=args.batch_size, lease_s=args.budget_s + 60
        )
    finally:
        if bouncer:
            bouncer.stop()
    summary = {key: value for key, value in result.as_dict().items() if key != "rejections"}
    print(json.dumps(summary, indent=2))
    if result.busy:
        print("Another run is importing this file; try again when it is done.", file=sys.stderr)
        return 1
    if not result.complete:
        print("Stopped before the end of the file: run the same command again to continue.", file=sys.stderr)
        return 2
    print(f"Report: {result.report} ({result.rejected} line(s) rejected)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
