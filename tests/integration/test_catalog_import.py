"""Bulk import (cart_common/catalog_import.py) on real PostgreSQL as the application role through
PgBouncer: JSON Lines and CSV files, the report of rejected lines, resumption after a stop, the
Lambda's S3 path on moto's S3, and generated files."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.rows import DictRow

from cart_common import catalog_import
from cart_common.store import catalog_sync as store_sync
from local import import_file
from tests.conftest import APP_PASSWORD, one


def plenty() -> int:
    return 600_000  # ms: a run that never runs short of time


def product(version: int = 1, **fields: Any) -> dict[str, Any]:
    pid = str(uuid.uuid4())
    return {"id": pid, "version": version, "name": f"Chair {pid[:8]}", "slug": f"chair-{pid}", "price": 2500,
            "currency": "EUR", "stock": 3, **fields}  # fmt: skip


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def rows(sql: psycopg.Connection[DictRow], ids: list[str]) -> dict[str, dict[str, Any]]:
    found = sql.execute("select id::text, name, price, stock, active from product where id = any(%s::uuid[])", (ids,))
    return {row["id"]: row for row in found}


def test_a_jsonl_file_is_applied_and_its_rejected_lines_reported_by_number_and_reason(
    tmp_path: Path, sql: psycopg.Connection[DictRow]
) -> None:
    good = [product(), product(variants=[{"id": str(uuid.uuid4()), "sku": f"S-{uuid.uuid4().hex[:8]}", "stock": 2}])]
    lines: list[Any] = [
        good[0],                                   # 1
        "{not json",                               # 2
        {**product(), "stock": -4},                # 3 negative stock
        {**product(), "price": "25.00"},           # 4 a price as text
        {**product(), "name": "n" * 10_000},       # 5 a huge string
        good[1],                                   # 6
        {**good[0], "name": "Again"},              # 7 the id of line 1
        [1, 2, 3],                                 # 8 not an object
        {**product(), "slug": good[0]["slug"]},    # 9 another product's slug
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "catalog.jsonl", lines)
    result = catalog_import.run(catalog_import.FileSource(path), plenty)
    assert result.complete and (result.lines, result.applied, result.rejected) == (9, 2, 7)
    report = json.loads((tmp_path / "reports" / "catalog.jsonl.json").read_text())
    assert [(r["line"], r["code"]) for r in report["rejections"]] == [
        (2, "not_json"), (3, "invalid"), (4, "invalid"), (5, "invalid"), (7, "duplicate_id"), (8, "not_json"),
        (9, "slug_taken"),
    ]  # fmt: skip
    assert "stock" in report["rejections"][1]["reason"] and report["rejections"][4]["firstLine"] == 1
    assert "n" * 100 not in json.dumps(report)  # reasons name the field, never repeat the value
    applied = rows(sql, [p["id"] for p in good])
    assert applied[good[0]["id"]]["name"] == good[0]["name"]  # not line 7's
    assert one(sql.execute("select stock from product_variant where product_id = %s", (good[1]["id"],)))["stock"] == 2


def test_importing_the_same_file_again_changes_nothing_and_answers_its_report(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "again.jsonl", [product(), product()])
    first = catalog_import.run(catalog_import.FileSource(path), plenty)
    second = catalog_import.run(catalog_import.FileSource(path), plenty)
    assert second.complete and second.report == first.report and second.lines_this_run == 0


def test_a_csv_file_groups_each_products_variant_rows(tmp_path: Path, sql: psycopg.Connection[DictRow]) -> None:
    shirt, mug = str(uuid.uuid4()), str(uuid.uuid4())
    small, large = str(uuid.uuid4()), str(uuid.uuid4())
    tag = uuid.uuid4().hex[:8]
    path = tmp_path / "catalog.csv"
    path.write_text(
        "id,version,name,slug,price,currency,stock,variant_id,sku,variant_stock,attributes,active\n"
        f'{shirt},7,Shirt,shirt-{tag},1500,USD,,{small},SH-S-{tag},4,"{{""size"": ""S""}}",true\n'
        f'{shirt},7,Shirt,shirt-{tag},1500,USD,,{large},SH-L-{tag},0,"{{""size"": ""L""}}",true\n'
        f"{mug},7,Mug,mug-{tag},900,USD,12,,,,,true\n"
        f"{uuid.uuid4()},seven,Bad,bad-{tag},1,USD,1,,,,,true\n"
        f"{uuid.uuid4()},1,Short row\n"
    )
    result = catalog_import.run(catalog_import.FileSource(path), plenty)
    assert (result.applied, result.rejected) == (2, 2)
    assert [(r["line"], r["code"]) for r in result.rejections] == [(5, "invalid"), (6, "invalid")]
    variants = sql.execute(
        "select id::text, stock, attributes from product_variant where product_id = %s order by sku desc", (shirt,)
    ).fetchall()
    assert [(v["id"], v["stock"], v["attributes"]) for v in variants] == [
        (small, 4, {"size": "S"}),
        (large, 0, {"size": "L"}),
    ]
    assert rows(sql, [mug])[mug]["stock"] == 12


def test_a_run_that_runs_out_of_time_stops_after_a_batch_and_the_next_continues_there(
    tmp_path: Path, sql: psycopg.Connection[DictRow], monkeypatch: pytest.MonkeyPatch
) -> None:
    products = [product() for _ in range(25)]
    path = write_jsonl(tmp_path / "big.jsonl", [*products[:12], products[3], *products[12:]])  # line 13: a duplicate
    batches: list[Any] = []
    apply_batch = store_sync.import_batch

    def counted(*args: Any, **kwargs: Any) -> Any:
        batches.append(kwargs["line_number"])
        return apply_batch(*args, **kwargs)

    monkeypatch.setattr(store_sync, "import_batch", counted)
    first = catalog_import.run(catalog_import.FileSource(path), lambda: 0 if batches else plenty(), batch_size=10)
    assert not first.complete and first.lines == 10 and first.applied == 10
    assert len(rows(sql, [p["id"] for p in products])) == 10
    second = catalog_import.run(catalog_import.FileSource(path), plenty, batch_size=10)
    assert second.complete and (second.lines, second.applied, second.rejected) == (26, 25, 1)
    assert [(r["line"], r["code"], r.get("firstLine")) for r in second.rejections] == [(13, "duplicate_id", 4)]


def test_a_job_another_run_holds_is_left_to_it(tmp_path: Path, api_database_url: str) -> None:
    from cart_common import db

    path = write_jsonl(tmp_path / "held.jsonl", [product()])
    source = catalog_import.FileSource(path)
    db.get_database().run(
        lambda conn: store_sync.claim_job(conn, source=source.name, fmt="jsonl", lease=uuid.uuid4(), lease_s=600)
    )
    result = catalog_import.run(source, plenty)
    assert result.busy and not result.complete and result.lines_this_run == 0


def test_make_import_runs_the_same_import_on_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    # make dev's set-up, pointed at the test run's database (its owner URL, as make dev migrates with).
    monkeypatch.setattr(import_file.dev, "prepare_environment", lambda: _owner_url())
    monkeypatch.setenv("LOCAL_PROXY", "none")
    # The set-up points DATABASE_URL at its own connection and keeps the application role's password:
    # both put back afterwards, so the rest of the run still goes through the run's PgBouncer.
    monkeypatch.setenv("DATABASE_URL", os.environ["DATABASE_URL"])
    monkeypatch.setattr(import_file.dev, "dev_key", lambda path: APP_PASSWORD)
    path = write_jsonl(tmp_path / "cli.jsonl", [product(), {"id": "x"}])
    assert import_file.main([str(path)]) == 0
    printed = capsys.readouterr().out
    assert '"applied": 1' in printed and "1 line(s) rejected" in printed


def _owner_url() -> str:
    import os

    from tests.conftest import _server_url, _with_dbname

    dbname = psycopg.conninfo.conninfo_to_dict(os.environ["DATABASE_URL"])["dbname"]
    return _with_dbname(_server_url(), str(dbname))


def test_an_object_put_in_the_bucket_is_imported_and_its_report_written_beside_it(
    monkeypatch: pytest.MonkeyPatch, sql: psycopg.Connection[DictRow]
) -> None:
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    good = product()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="imports")
        s3.put_bucket_versioning(Bucket="imports", VersioningConfiguration={"Status": "Enabled"})
        body = (json.dumps(good) + "\n" + json.dumps({**product(), "currency": "euro"}) + "\n").encode()
        version = s3.put_object(Bucket="imports", Key="daily/catalog.jsonl", Body=body)["VersionId"]
        event: dict[str, Any] = {
            "id": str(uuid.uuid4()), "source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": "imports"}, "object": {"key": "daily/catalog.jsonl", "version-id": version}},
        }  # fmt: skip

        class Context:
            def get_remaining_time_in_millis(self) -> int:
                return 600_000

        answer = catalog_import.handle(event, Context())
        report = json.loads(s3.get_object(Bucket="imports", Key="reports/daily/catalog.jsonl.json")["Body"].read())
        skipped = catalog_import.handle(
            {**event, "detail": {**event["detail"], "object": {"key": "reports/daily/catalog.jsonl.json"}}}, Context()
        )
    assert answer["complete"] and answer["applied"] == 1 and answer["report"].startswith("s3://imports/reports/")
    assert [(r["line"], r["code"]) for r in report["rejections"]] == [(2, "invalid")]
    assert skipped == {"skipped": "reports/daily/catalog.jsonl.json"}  # its own report starts nothing
    assert rows(sql, [good["id"]])[good["id"]]["price"] == 2500


_line = st.one_of(
    st.builds(lambda: product()),
    st.builds(lambda s: {**product(), "stock": s}, st.integers(min_value=-5, max_value=5)),
    st.builds(lambda p: {**product(), "price": p}, st.one_of(st.integers(-3, 3), st.text(max_size=5), st.floats())),
    st.builds(lambda n: {**product(), "name": n}, st.text(max_size=300)),
    st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
)


@settings(max_examples=15, deadline=None)
@given(lines=st.lists(_line, min_size=1, max_size=12))
def test_every_line_of_a_generated_file_is_applied_or_rejected_exactly_once(
    tmp_path_factory: Any, lines: list[Any]
) -> None:
    path = write_jsonl(tmp_path_factory.mktemp("gen") / "gen.jsonl", lines)
    result = catalog_import.run(catalog_import.FileSource(path), plenty, batch_size=5)
    assert result.complete and result.lines == len(lines)
    blank = sum(1 for line in lines if isinstance(line, str) and not line.strip())
    assert result.applied + result.unchanged + result.rejected == len(lines) - blank
    assert len({r["line"] for r in result.rejections}) == result.rejected
