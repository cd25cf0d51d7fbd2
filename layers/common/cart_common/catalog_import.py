"""Bulk import of the shop's catalog (docs/catalog.md): a JSON Lines or CSV file, one product a line
(CSV: one row per variant, a product's rows one after another), validated line by line with the
models of the catalog events (cart_common/catalog_sync.py), applied in bounded batches, each one
short transaction with the job's progress (store/sql/catalog_import_batch.sql), and a report of the
rejected lines written next to the file (``reports/<key>.json``).

Resumable: the job (``import_job``, one per S3 object version or local file) records the byte offset
and line number where its last committed batch ended. A run stops before its timeout (a margin of
twice its slowest batch, at least ``IMPORT_SAFETY_MARGIN_MS``) and gives its lease back; the next
invocation (the resume schedule in AWS, ``make import`` again locally) reads on from that offset (S3:
a ranged GET). A run that died without giving its lease back is taken over once the lease lapses.

Where the file is read from is the only difference between AWS and ``make import``: ``S3Source``
(boto3, in the Lambda) or ``FileSource`` (local/import_file.py); everything else is this module.
"""

from __future__ import annotations

import csv
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from pydantic import ValidationError

from cart_common.catalog_sync import REASONS, Product, Rejected, describe, item_of
from cart_common.store import catalog_sync as store_sync

MAX_LINE_BYTES = 256 * 1024
DEFAULT_BATCH = 200
_TOO_LONG = object()
_INT_COLUMNS = {"version", "price", "stock", "maxPerOrder", "maxPerCustomer", "variantPrice", "variantStock"}
_BOOL_COLUMNS = {"requiresAuth", "active", "variantActive"}
_VARIANT_COLUMNS = {"variantId": "id", "sku": "sku", "variantPrice": "price", "variantStock": "stock",
                    "variantActive": "active", "attributes": "attributes"}  # fmt: skip
_SNAKE = {"max_per_order": "maxPerOrder", "max_per_customer": "maxPerCustomer", "requires_auth": "requiresAuth",
          "exclusive_group": "exclusiveGroup", "variant_id": "variantId", "variant_price": "variantPrice",
          "variant_stock": "variantStock", "variant_active": "variantActive", "image_url": "image"}  # fmt: skip


class Source(Protocol):
    name: str  # the job's identity: a new object version or a changed file is a new job
    fmt: str  # "jsonl" or "csv"

    def chunks(self, offset: int) -> Iterable[bytes]: ...

    def write_report(self, report: dict[str, Any]) -> str: ...


def format_of(path: str) -> str:
    return "csv" if path.lower().endswith(".csv") else "jsonl"


class FileSource:
    """A local file (``make import FILE=…``); the report goes to ``reports/<name>.json`` beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        stat = self.path.stat()
        self.name = f"file://{quote(str(self.path))}?size={stat.st_size}&mtime={stat.st_mtime_ns}"
        self.fmt = format_of(self.path.name)

    def chunks(self, offset: int) -> Iterator[bytes]:
        with self.path.open("rb") as file:
            file.seek(offset)
            while chunk := file.read(1 << 20):
                yield chunk

    def write_report(self, report: dict[str, Any]) -> str:
        target = self.path.parent / "reports" / f"{self.path.name}.json"
        target.parent.mkdir(exist_ok=True)
        target.write_text(json.dumps(report, indent=2))
        return str(target)


class S3Source:
    """One version of an object in the import bucket; the report goes to ``reports/<key>.json``."""

    def __init__(self, bucket: str, key: str, version_id: str | None = None, client: Any = None) -> None:
        self.bucket, self.key, self.version_id = bucket, key, version_id
        self.name = f"s3://{bucket}/{quote(key)}" + (f"?versionId={quote(version_id)}" if version_id else "")
        self.fmt = format_of(key)
        self._client = client

    @classmethod
    def from_name(cls, name: str, client: Any = None) -> S3Source:
        parts = urlsplit(name)
        version = parse_qs(parts.query).get("versionId", [None])[0]
        return cls(parts.netloc, unquote(parts.path.lstrip("/")), version, client)

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def chunks(self, offset: int) -> Iterator[bytes]:
        extra = {"VersionId": self.version_id} if self.version_id else {}
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={offset}-", **extra)["Body"]
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidRange":  # the offset is the end
                return
            raise
        yield from body.iter_chunks(1 << 20)

    def write_report(self, report: dict[str, Any]) -> str:
        key = f"reports/{self.key}.json"
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=json.dumps(report, indent=2).encode(), ContentType="application/json"
        )
        return f"s3://{self.bucket}/{key}"


def lines(chunks: Iterable[bytes], offset: int, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[Any, int]]:
    """``(line, end)``: each line without its newline (``_TOO_LONG`` for one over ``limit`` bytes) and
    the byte offset just after it."""
    pending = bytearray()
    position = offset
    skipping = False
    for chunk in chunks:
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                rest = len(chunk) - start
                position += rest
                if not skipping:
                    pending += chunk[start:]
                    if len(pending) > limit:
                        skipping, pending = True, bytearray()
                break
            position += newline + 1 - start
            if skipping or newline - start + len(pending) > limit:
                yield _TOO_LONG, position
            else:
                yield (bytes(pending) + chunk[start:newline]) if pending else chunk[start:newline], position
            pending, skipping, start = bytearray(), False, newline + 1
    if skipping:
        yield _TOO_LONG, position
    elif pending:
        yield bytes(pending), position


def _text(raw: Any) -> str:
    if raw is _TOO_LONG:
        raise Rejected("line_too_long", f"the line is longer than {MAX_LINE_BYTES} bytes")
    try:
        return str(raw.decode("utf-8")).rstrip("\r")
    except UnicodeDecodeError:
        raise Rejected("invalid", "the line is not UTF-8") from None


def _validate(data: Any) -> Product:
    if not isinstance(data, dict):
        raise Rejected("not_json")
    try:
        return Product.model_validate(data)
    except ValidationError as error:
        raise Rejected("invalid", describe(error)) from None


def _csv_value(column: str, value: str) -> Any:
    if column in _INT_COLUMNS and value.lstrip("-").isdigit() and len(value) <= 20:
        return int(value)
    if column in _BOOL_COLUMNS and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    if column == "attributes":
        try:
            return json.loads(value)
        except ValueError:
            return value  # refused by the model, naming the field
    return value


def _csv_row(header: list[str], text: str) -> dict[str, Any]:
    values = next(csv.reader([text]), [])
    if len(values) != len(header):
        raise Rejected("invalid", f"{len(values)} fields, the header has {len(header)}")
    return {column: _csv_value(column, value) for column, value in zip(header, values, strict=True) if value != ""}


def _csv_product(rows: list[dict[str, Any]]) -> Product:
    """A product from its rows: the product's columns from the first, a variant from each row that names one."""
    first = rows[0]
    data = {key: value for key, value in first.items() if key not in _VARIANT_COLUMNS}
    variants = [{_VARIANT_COLUMNS[k]: v for k, v in row.items() if k in _VARIANT_COLUMNS} for row in rows]
    if any(variants):
        if not all(variant.get("id") for variant in variants):
            raise Rejected("invalid", "a product with variants needs variantId on each of its rows")
        data["variants"] = variants
    return _validate(data)


@dataclass
class ImportResult:
    source: str
    job_id: str | None = None
    complete: bool = False
    busy: bool = False  # another invocation holds the job's lease
    lines: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: int = 0
    batches: int = 0
    lines_this_run: int = 0
    duration_ms: int = 0
    slowest_batch_ms: int = 0
    report: str | None = None
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Batch:
    items: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    first_lines: dict[str, int] = field(default_factory=dict)
    slugs: dict[str, int] = field(default_factory=dict)
    skus: dict[str, int] = field(default_factory=dict)
    lines: int = 0

    def product(self, line: int, product: Product) -> None:
        """A line's product, unless an earlier line of the batch has its id, slug or a SKU of it (the
        database refuses what an earlier batch holds; within one, the earlier line wins)."""
        key = str(product.id)
        if key in self.first_lines:
            self.reject(line, Rejected("duplicate_id"), firstLine=self.first_lines[key])
        elif product.slug in self.slugs:
            self.reject(line, Rejected("slug_taken"), firstLine=self.slugs[product.slug])
        elif taken := [v.sku for v in product.variants if v.sku in self.skus]:
            self.reject(line, Rejected("sku_taken"), firstLine=self.skus[taken[0]])
        else:
            self.first_lines[key] = self.slugs[product.slug] = line
            self.skus.update((variant.sku, line) for variant in product.variants)
            self.items.append(item_of("ProductUpserted", product, line))

    def reject(self, line: int, rejection: Rejected, **extra: Any) -> None:
        self.rejections.append({"line": line, "code": rejection.code, "reason": rejection.reason, **extra})


def run(
    source: Source,
    remaining_ms: Callable[[], int],
    database: Any = None,
    *,
    batch_size: int | None = None,
    lease_s: float | None = None,
) -> ImportResult:
    """One run over ``source``: from where its job stands to the end of the file or of the time."""
    from cart_common import db
    from cart_common.oplog import logger

    database = database or db.get_database()
    batch_size = batch_size or int(os.environ.get("IMPORT_BATCH_SIZE", str(DEFAULT_BATCH)))
    margin_ms = min(int(os.environ.get("IMPORT_SAFETY_MARGIN_MS", "20000")), remaining_ms() // 2)
    started = time.monotonic()
    lease = uuid.uuid4()
    result = ImportResult(source=source.name)
    job, current = database.run(
        lambda conn: store_sync.claim_job(
            conn, source=source.name, fmt=source.fmt, lease=lease, lease_s=lease_s or remaining_ms() / 1000 + 60
        )
    )
    result.job_id = str(current["id"])
    if job is None:  # finished before (a replayed S3 event), or another invocation has it
        result.complete, result.busy = current["finished_at"] is not None, current["finished_at"] is None
        result.report = current["report"]
        _count_from(result, current)
        return result
    header: list[str] | None = json.loads(job["header"]) if job["header"] else None
    new_header: str | None = None
    offset, line_number = int(job["byte_offset"]), int(job["line_number"])
    committed = offset  # where the next run starts: the end of the last complete product
    batch = _Batch()
    group: list[dict[str, Any]] = []  # a CSV product's rows so far
    group_line = 0

    def flush(end: int, last_line: int) -> bool:
        """The batch applied with the progress ``end``/``last_line``; whether the lease still holds."""
        nonlocal batch, new_header, committed
        begun = time.monotonic()
        row = database.run(
            lambda conn: store_sync.import_batch(
                conn, job=job["id"], lease=lease, items=batch.items, rejections=batch.rejections,
                byte_offset=end, line_number=last_line, header=new_header,
            )
        )  # fmt: skip
        result.slowest_batch_ms = max(result.slowest_batch_ms, int((time.monotonic() - begun) * 1000))
        result.batches += 1
        result.lines_this_run += batch.lines
        batch, new_header, committed = _Batch(), None, end
        return bool(row["progressed"])

    def time_left() -> bool:
        return remaining_ms() >= max(margin_ms, 3 * result.slowest_batch_ms)

    def close_group() -> None:
        nonlocal group
        if group:
            try:
                batch.product(group_line, _csv_product(group))
            except Rejected as rejection:
                batch.reject(group_line, rejection)
            group = []

    def full() -> bool:
        return len(batch.items) + len(batch.rejections) >= batch_size

    lost = stopped = False
    for raw, end in lines(source.chunks(offset), offset):
        line_number += 1
        batch.lines += 1
        if source.fmt == "csv" and header is None:
            try:
                header = [_SNAKE.get(name.strip(), name.strip()) for name in next(csv.reader([_text(raw)]))]
            except Rejected as rejection:
                batch.reject(line_number, rejection)
                header = []
            new_header = json.dumps(header)
            offset = end
            continue
        try:
            text = _text(raw)
            if source.fmt == "csv":
                row = _csv_row(header or [], text) if text.strip() else None
                if row is not None and group and row.get("id") != group[0].get("id"):
                    close_group()  # the product ends where this row starts: a batch may end there
                    if full():
                        if not flush(offset, line_number - 1):
                            lost = True
                            break
                        if not time_left():
                            stopped = True
                            break
                if row is not None:
                    if not group:
                        group_line = line_number
                    group.append(row)
            elif text.strip():
                try:
                    data = json.loads(text)
                except ValueError:
                    raise Rejected("not_json") from None
                batch.product(line_number, _validate(data))
        except Rejected as rejection:
            batch.reject(line_number, rejection)
        offset = end
        if not group and full():
            if not flush(end, line_number):
                lost = True
                break
            if not time_left():
                stopped = True
                break
    if not lost and not stopped:
        close_group()
        if batch.items or batch.rejections or batch.lines or new_header:
            lost = not flush(offset, line_number)
        if not lost:
            _finish(database, source, job["id"], lease, result)
            result.duration_ms = int((time.monotonic() - started) * 1000)
            logger.info(
                "Catalog import", extra={"import": {k: v for k, v in result.as_dict().items() if k != "rejections"}}
            )
            return result
    if not lost:
        database.run(lambda conn: store_sync.release_job(conn, job=job["id"], lease=lease))
    final = database.run(lambda conn: store_sync.job(conn, source.name))
    _count_from(result, final)
    result.duration_ms = int((time.monotonic() - started) * 1000)
    logger.info(
        "Catalog import stopped before the end (continued by the next run)",
        extra={"import": {k: v for k, v in result.as_dict().items() if k != "rejections"}, "offset": committed},
    )
    return result


def _count_from(result: ImportResult, job: dict[str, Any] | None) -> None:
    if job:
        result.lines, result.applied = job["line_number"], job["applied"]
        result.unchanged, result.rejected = job["unchanged"], job["rejected"]
        result.rejections = _described(job.get("rejections") or [])


def _described(rejections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "reason": r.get("reason") or REASONS.get(r["code"], r["code"])} for r in rejections]


def _finish(database: Any, source: Source, job_id: Any, lease: uuid.UUID, result: ImportResult) -> None:
    current = database.run(lambda conn: store_sync.job(conn, source.name))
    report = {
        "source": source.name,
        "format": source.fmt,
        "lines": current["line_number"],
        "applied": current["applied"],
        "unchanged": current["unchanged"],
        "rejected": current["rejected"],
        "rejections": _described(current["rejections"]),
        "rejectionsTruncated": current["rejected"] > len(current["rejections"]),
        "finishedAt": datetime.now(UTC).isoformat(),
    }
    location = source.write_report(report)
    database.run(lambda conn: store_sync.finish_job(conn, job=job_id, lease=lease, report=location))
    result.complete, result.report = True, location
    _count_from(result, current)


# --- the Lambda: an object put (S3 → EventBridge), or the resume schedule --------------------------


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``Object Created`` in the import bucket starts (or continues) that object's import; the
    schedule continues every import that stopped before its end."""
    from cart_common import db

    def remaining_ms() -> int:
        return int(context.get_remaining_time_in_millis())

    if event.get("source") == "aws.s3":
        detail = event.get("detail") or {}
        bucket, key = str(detail.get("bucket", {}).get("name", "")), str(detail.get("object", {}).get("key", ""))
        if not bucket or not key or key.startswith("reports/"):
            return {"skipped": key}
        result = run(S3Source(bucket, key, detail.get("object", {}).get("version-id")), remaining_ms)
        _metric(result)
        return {k: v for k, v in result.as_dict().items() if k != "rejections"}
    done = []
    for name in db.get_database().run(lambda conn: store_sync.unfinished_jobs(conn)):
        if not name.startswith("s3://") or remaining_ms() < 60_000:
            continue
        result = run(S3Source.from_name(name), remaining_ms)
        _metric(result)
        done.append({k: v for k, v in result.as_dict().items() if k != "rejections"})
    return {"resumed": done}


def _metric(result: ImportResult) -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics()
    metrics.add_metric(name="ImportLines", unit=MetricUnit.Count, value=result.lines_this_run)
    if not result.complete and not result.busy:
        metrics.add_metric(name="ImportIncomplete", unit=MetricUnit.Count, value=1)
