"""The storefront's TypeScript types come from the API's own contract: regenerating
storefront/src/lib/api/schema.d.ts from the running API's /openapi.json (what `npm run gen:api`
does) must give the committed file, so client and API cannot drift apart unnoticed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.browser.conftest import NODE_ENV, STOREFRONT, Stack

COMMITTED = STOREFRONT / "src" / "lib" / "api" / "schema.d.ts"


def test_the_committed_types_are_what_the_running_api_generates(site: Stack, tmp_path: Path) -> None:
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        [
            str(STOREFRONT / "node_modules" / ".bin" / "openapi-typescript"),
            f"{site.api_url}/openapi.json",
            "-o",
            str(generated),
        ],
        cwd=STOREFRONT,
        env={**os.environ, **NODE_ENV},
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert generated.read_text() == COMMITTED.read_text(), (
        "storefront/src/lib/api/schema.d.ts is stale: run `npm run gen:api` in storefront/ against `make dev`"
    )
    assert '"/cart/items"' in COMMITTED.read_text() and "CartItem" in COMMITTED.read_text()
