"""The shop's catalog coming in (migration 0015): catalog events (cart_common/catalog_sync.py) and import
files (cart_common/catalog_import.py) write products through ``catalog_apply``, one round trip a batch.

Every statement here is a short transaction of its own: a batch of events, or a batch of an import
file with its progress. Products are locked in id order (catalog_apply sorts its items), so two
batches, or a batch and a completing checkout of one product, wait for each other at most one batch's
time and never deadlock; cart reads take no lock and never wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from cart_common.db import pipeline
from cart_common.store._compose import Row, plain

_APPLY = "select i, product_id, outcome from catalog_apply(%(items)s::jsonb)"


def apply(conn: psycopg.Connection, items: Sequence[dict[str, Any]]) -> list[Row]:
    """Each item's outcome (``i``, ``product_id``, ``outcome``), in product id order."""
    return pipeline(conn, [plain(_APPLY, items=Jsonb(list(items)))])[0]


# A job per source, created on first sight; the lease makes one invocation at a time work on it (an
# S3 event delivered twice, or the resume schedule meeting a run still going). A lease ends with its
# invocation's timeout, so a run that died is taken over by the next.
_CLAIM = """
insert into import_job as j (source, format, lease, lease_until)
values (%(job_source)s, %(format)s, %(lease)s::uuid, now() + %(lease_s)s::float8 * interval '1 second')
on conflict (source) do update
set lease = excluded.lease, lease_until = excluded.lease_until, updated_at = now()
where j.finished_at is null and (j.lease_until is null or j.lease_until < now())
returning id, source, format, header, byte_offset, line_number, applied, unchanged, rejected, finished_at
"""

_JOB = """
select id, source, format, header, byte_offset, line_number, applied, unchanged, rejected, rejections,
       lease_until, report, finished_at
from import_job where source = %(job_source)s
"""


def claim_job(
    conn: psycopg.Connection, *, source: str, fmt: str, lease: UUID, lease_s: float
) -> tuple[Row | None, Row]:
    """(the job leased to ``lease``, or None when another invocation holds it or it is finished;
    the job as it stands)."""
    claimed, current = pipeline(
        conn,
        [plain(_CLAIM, job_source=source, format=fmt, lease=lease, lease_s=lease_s), plain(_JOB, job_source=source)],
    )
    return (claimed[0] if claimed else None), current[0]


_HEADER = "update import_job set header = %(header)s where id = %(job)s::uuid and lease = %(lease)s::uuid"


def import_batch(
    conn: psycopg.Connection,
    *,
    job: UUID,
    lease: UUID,
    items: Sequence[dict[str, Any]],
    rejections: Sequence[dict[str, Any]],
    byte_offset: int,
    line_number: int,
    header: str | None = None,
) -> Row:
    """A batch applied with its progress (store/sql/catalog_import_batch.sql): ``attempted``,
    ``clamped`` and ``progressed`` (0: the lease was lost, nothing of the progress was recorded)."""
    statements = [] if header is None else [plain(_HEADER, header=header, job=job, lease=lease)]
    statements.append(
        plain(
            "catalog_import_batch.sql",
            job=job,
            lease=lease,
            items=Jsonb(list(items)),
            rejections=Jsonb(list(rejections)[:1000]),
            invalid=len(rejections),
            byte_offset=byte_offset,
            line_number=line_number,
        )
    )
    return pipeline(conn, statements)[-1][0]


_FINISH = """
update import_job set finished_at = now(), report = %(report)s, lease = null, lease_until = null, updated_at = now()
where id = %(job)s::uuid and lease = %(lease)s::uuid
returning id, source, format, byte_offset, line_number, applied, unchanged, rejected, rejections, report,
          created_at, finished_at
"""


def finish_job(conn: psycopg.Connection, *, job: UUID, lease: UUID, report: str) -> Row | None:
    rows = pipeline(conn, [plain(_FINISH, job=job, lease=lease, report=report)])[0]
    return rows[0] if rows else None


_RELEASE = "update import_job set lease = null, lease_until = null where id = %(job)s::uuid and lease = %(lease)s::uuid"


def release_job(conn: psycopg.Connection, *, job: UUID, lease: UUID) -> None:
    """A run that stopped before the end gives its lease back, so the next one need not wait for it to lapse."""
    pipeline(conn, [plain(_RELEASE, job=job, lease=lease)])


def job(conn: psycopg.Connection, source: str) -> Row | None:
    rows = pipeline(conn, [plain(_JOB, job_source=source)])[0]
    return rows[0] if rows else None


_UNFINISHED = """
select source from import_job
where finished_at is null and (lease_until is null or lease_until < now())
order by updated_at limit %(limit)s
"""


def unfinished_jobs(conn: psycopg.Connection, *, limit: int = 10) -> list[str]:
    """Sources of jobs that stopped before their end and nobody is working on (the resume schedule's)."""
    return [row["source"] for row in pipeline(conn, [plain(_UNFINISHED, limit=limit)])[0]]
