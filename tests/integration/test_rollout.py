"""What a deploy and a running production stack rely on, beyond the template: the migrations as a
CloudFormation custom resource (against the real database, with their own statement timeout), signing
keys that rotate without logging shoppers out (Secrets Manager in moto), SnapStart's restore hooks, and
the database's TLS and IAM sign-in settings."""

from __future__ import annotations

import http.server
import json
import random
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import MUG, Shopper, _server_url, _with_dbname, one

ROOT = Path(__file__).resolve().parents[2]

# --- the migrations custom resource ------------------------------------------------------------------


class _CloudFormation(http.server.BaseHTTPRequestHandler):
    """Stands in for the pre-signed S3 URL a custom resource answers with a PUT."""

    answers: list[dict[str, Any]]

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).answers.append({"content_type": self.headers.get("Content-Type"), **json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    class Handler(_CloudFormation):
        answers: list[dict[str, Any]] = []  # this fixture's own

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/presigned", Handler.answers
    server.shutdown()
    server.server_close()


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """An empty database of its own (the migrations are what is being tested)."""
    server = _server_url()
    name = f"cart_migrate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        yield _with_dbname(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def migrations_with(tmp_path: Path, monkeypatch) -> Iterator[Any]:
    """The real migrations plus extra ones of a test's own, in a copy of db/migrations."""
    import migrate

    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, folder)
    monkeypatch.setattr(migrate, "MIGRATIONS", folder)

    def add(name: str, sql: str) -> None:
        (folder / name).write_text(sql)

    yield add


class _Context:
    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _request(kind: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/cart-api/0f0e",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "Migrations",
        "ResourceType": "Custom::Migrations",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:m:live", "Version": "1"},
        **extra,
    }


def _applied(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [row[0] for row in conn.execute("select version from schema_migrations order by version")]


def test_a_migration_longer_than_the_api_statement_timeout_runs_on_deploy_and_a_rerun_applies_nothing(
    fresh_settings, monkeypatch, scratch_database, migrations_with, cloudformation
) -> None:
    import migrate

    url, answers = cloudformation
    migrations_with("9000_slow_backfill.sql", "select pg_sleep(6);\ncreate table backfilled (id int);\n")
    monkeypatch.setenv("DATABASE_URL", scratch_database)
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "5000")  # the API's, as template.yaml sets it
    monkeypatch.setenv("MIGRATION_STATEMENT_TIMEOUT_MS", "60000")

    started = time.monotonic()
    result = migrate.lambda_handler(_request("Create", url), _Context())
    took = time.monotonic() - started
    assert took > 5, "the slow migration really ran past the API's 5 s"
    assert [a["Status"] for a in answers] == ["SUCCESS"], answers
    answer = answers[0]
    assert answer["content_type"] == ""  # a pre-signed URL signs no content type
    assert answer["PhysicalResourceId"] == "cart-api-migrations" and answer["LogicalResourceId"] == "Migrations"
    assert answer["Data"]["Applied"].split(",")[-1] == "9000_slow_backfill.sql"
    assert result["applied"][-1] == "9000_slow_backfill.sql"
    assert _applied(scratch_database)[-1] == "9000_slow_backfill.sql"

    # The next deploy (a new MigrateFunction version updates the resource): nothing left to apply.
    started = time.monotonic()
    migrate.lambda_handler(_request("Update", url, PhysicalResourceId="cart-api-migrations"), _Context())
    assert time.monotonic() - started < 5
    assert answers[1]["Status"] == "SUCCESS" and answers[1]["Data"]["Applied"] == ""
    assert answers[1]["PhysicalResourceId"] == "cart-api-migrations"  # the same resource: no replacement


def test_under_the_api_statement_timeout_the_same_migration_fails(
    fresh_settings, scratch_database, migrations_with
) -> None:
    """What the custom resource's own timeout fixes: on a connection with the API's 5 s timeout (as
    MigrateFunction had before), the slow migration is cancelled and nothing is applied."""
    import migrate

    migrations_with("9000_slow_backfill.sql", "select pg_sleep(6);\n")
    with (
        psycopg.connect(scratch_database, autocommit=True, options="-c statement_timeout=5000") as conn,
        pytest.raises(psycopg.errors.QueryCanceled),
    ):
        migrate.migrate(conn)
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        assert one(conn.execute("select to_regclass('schema_migrations')"))[0] is None  # all rolled back


def test_a_failed_migration_fails_the_deploy_and_applies_nothing(
    fresh_settings, monkeypatch, scratch_database, migrations_with, cloudformation
) -> None:
    import migrate

    url, answers = cloudformation
    monkeypatch.setenv("DATABASE_URL", scratch_database)
    migrate.lambda_handler(_request("Create", url), _Context())
    before = _applied(scratch_database)
    migrations_with("9001_broken.sql", "create table half_done (id int);\nselect no_such_function();\n")
    migrate.lambda_handler(_request("Update", url, PhysicalResourceId="cart-api-migrations"), _Context())
    assert answers[-1]["Status"] == "FAILED"
    assert "no_such_function" in answers[-1]["Reason"] and "UndefinedFunction" in answers[-1]["Reason"]
    assert _applied(scratch_database) == before
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        assert one(conn.execute("select to_regclass('half_done')"))[0] is None


def test_the_statement_timeout_leaves_time_to_answer_cloudformation(fresh_settings, monkeypatch) -> None:
    import migrate

    monkeypatch.setenv("MIGRATION_STATEMENT_TIMEOUT_MS", "600000")
    assert migrate._statement_timeout_ms(_Context(900_000)) == 600_000
    assert migrate._statement_timeout_ms(_Context(100_000)) == 70_000  # 30 s kept back to report


def test_deleting_the_resource_keeps_the_schema(fresh_settings, monkeypatch, cloudformation) -> None:
    import migrate

    url, answers = cloudformation
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never contacted
    migrate.lambda_handler(_request("Delete", url, PhysicalResourceId="cart-api-migrations"), _Context())
    assert answers[0]["Status"] == "SUCCESS" and answers[0]["PhysicalResourceId"] == "cart-api-migrations"


def _version(n: int) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:cart-api-migrate:{n}"


def test_a_rollback_to_an_older_version_answers_success_without_touching_the_database(
    fresh_settings, monkeypatch, cloudformation
) -> None:
    """A failed deploy rolls back: CloudFormation sends the Migrations resource an Update with the old
    properties (an older Version) while the alias still runs the new code (CloudFormation User Guide,
    "Custom resource request types": Update carries OldResourceProperties). Migrating again would re-run
    the migration that just failed (UPDATE_ROLLBACK_FAILED); the schema is forward-only, so the answer
    is SUCCESS and nothing runs."""
    import migrate

    url, answers = cloudformation
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never contacted

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the database was touched")

    monkeypatch.setattr(migrate, "_apply", refuse)
    rollback = _request(
        "Update", url, PhysicalResourceId="cart-api-migrations",
        ResourceProperties={"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:m:live", "Version": _version(9)},
        OldResourceProperties={"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:m:live", "Version": _version(10)},
    )  # fmt: skip
    assert migrate.lambda_handler(rollback, _Context()) == {"applied": []}
    (answer,) = answers
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == "cart-api-migrations"
    assert "forward-only" in answer["Reason"] and "10 to 9" in answer["Reason"]
    assert answer["Data"] == {"Applied": ""}

    # Forward (a newer version, the usual deploy) and anything whose version is no number still migrate.
    applied: list[dict[str, Any]] = []

    def record(event: dict[str, Any], context: Any) -> list[str]:
        applied.append(event)
        return []

    monkeypatch.setattr(migrate, "_apply", record)
    for new, old in ((_version(11), _version(10)), ("$LATEST", _version(10)), (_version(3), None)):
        forward = _request("Update", url, PhysicalResourceId="cart-api-migrations")
        forward["ResourceProperties"]["Version"] = new
        forward["OldResourceProperties"] = {"Version": old} if old else {}
        migrate.lambda_handler(forward, _Context())
    assert len(applied) == 3 and [a["Status"] for a in answers[1:]] == ["SUCCESS"] * 3
    assert not any("forward-only" in a["Reason"] for a in answers[1:])


# --- signing-key rotation -------------------------------------------------------------------------------


K1, K2, K3 = ("1" * 40).encode(), ("2" * 40).encode(), ("3" * 40).encode()


def _signed_by(token: str, key: bytes) -> bool:
    from cart_common.session import verify_token

    return verify_token(token, (key,))


def test_a_rotation_logs_nobody_out_and_reaches_warm_environments_after_max_age(
    secretsmanager, monkeypatch, clock
) -> None:
    from cart_common.session import signing_keys

    arn = secretsmanager.create_secret(Name=f"cart-key-{uuid.uuid4().hex}", SecretString=K1.decode())["ARN"]
    monkeypatch.delenv("SESSION_SIGNING_KEY")
    monkeypatch.setenv("SESSION_KEY_SECRET_ARN", arn)
    monkeypatch.setenv("SESSION_KEY_MAX_AGE_S", "300")
    before = Shopper()
    before.add(MUG, 2)
    assert _signed_by(before.session_token, K1) and signing_keys() == (K1,)  # never rotated: no AWSPREVIOUS

    secretsmanager.put_secret_value(SecretId=arn, SecretString=K2.decode())  # the rotation: K2 current, K1 previous
    clock.offset += 60
    assert signing_keys() == (K1,), "within max_age the environment keeps what it read"
    clock.offset += 300
    assert signing_keys() == (K2, K1), "after max_age: the current key signs, the previous one still verifies"
    token = before.token
    assert before.get().json["itemCount"] == 2 and before.token == token  # same cart, same token
    after = Shopper()
    after.add(MUG, 1)
    assert _signed_by(after.session_token, K2) and not _signed_by(after.session_token, K1)

    # A second rotation retires K1 (AWSPREVIOUS is now K2): K2's shoppers keep their carts.
    secretsmanager.put_secret_value(SecretId=arn, SecretString=K3.decode())
    clock.offset += 301
    assert signing_keys() == (K3, K2)
    assert after.get().json["itemCount"] == 1
    assert before.get().json["itemCount"] == 0 and before.token != token  # K1's token: a new guest now


def test_a_warm_environment_accepts_a_token_signed_with_a_key_it_has_not_read_yet(
    secretsmanager, monkeypatch, clock
) -> None:
    """Another environment read the rotated secret first and signed a token with the new key: this
    one reads the keys again instead of treating the shopper as a stranger."""
    from cart_common import session
    from cart_common.session import mint_token, signing_keys

    arn = secretsmanager.create_secret(Name=f"cart-key-{uuid.uuid4().hex}", SecretString=K1.decode())["ARN"]
    monkeypatch.delenv("SESSION_SIGNING_KEY")
    monkeypatch.setenv("SESSION_KEY_SECRET_ARN", arn)
    assert signing_keys() == (K1,)
    secretsmanager.put_secret_value(SecretId=arn, SecretString=K2.decode())
    clock.offset += 30  # well within max_age (300 s)

    shopper = Shopper()
    shopper.token = mint_token((K2,))  # from a fresher environment
    assert shopper.add(MUG, 1).status == 200
    assert _signed_by(shopper.token, K2)
    assert shopper.get().json["itemCount"] == 1, "the same cart: the token was accepted, not replaced"
    assert signing_keys() == (K2, K1)

    # Forged tokens cannot make it read the secret on every request: at most once per interval.
    loads: list[int] = []
    real_load = session._load_keys

    def counted_load(source: session.KeySource) -> tuple[bytes, ...]:
        loads.append(1)
        return real_load(source)

    monkeypatch.setattr(session, "_load_keys", counted_load)
    clock.offset += 30
    for _ in range(5):
        forger = Shopper()
        forged = forger.token = mint_token((b"f" * 40,))
        forger.get()
        assert forger.token != forged  # refused: a new guest session instead
    assert len(loads) == 1


# --- SnapStart ----------------------------------------------------------------------------------------


def _run_restore_hooks() -> int:
    """What the Lambda runtime does after restoring a snapshot: every registered hook, in order."""
    from snapshot_restore_py import get_after_restore

    hooks = get_after_restore()
    for hook, args, kwargs in hooks:
        hook(*args, **kwargs)
    return len(hooks)


def test_snapstart_restore_replaces_connections_and_reseeds_randomness(shopper: Shopper) -> None:
    from snapshot_restore_py import get_after_restore, get_before_snapshot

    from cart_common import db, trigger

    assert db.after_restore in [hook for hook, _, _ in get_after_restore()]
    assert db.before_snapshot in [hook for hook, _, _ in get_before_snapshot()]

    shopper.add(MUG, 1)  # the environment's connection is open, as after a priming invoke
    from cart_common import session

    assert session._key_ring.keys, "the signing keys were read during init"
    connection = db.get_database().connection()
    pid = connection.info.backend_pid
    trigger_database = trigger._database
    trigger_database.connection()
    assert not connection.closed

    # Two environments restored from one snapshot start from the same random state.
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)
        assert _run_restore_hooks() >= 1
        draws.append(random.random())
    random.setstate(snapshot)
    unhooked = random.random()
    random.setstate(snapshot)
    assert random.random() == unhooked, "without the hook both copies draw the same number"
    assert draws[0] != draws[1], "with it, each restored environment draws its own"

    assert connection.closed and trigger_database._conn is None
    assert session._key_ring.keys == (), "the snapshot's signing keys are read again on first use"
    assert shopper.get().json["itemCount"] == 1  # a new connection, on first use
    assert db.get_database().connection().info.backend_pid != pid


def test_before_a_snapshot_no_connection_is_kept(shopper: Shopper) -> None:
    from snapshot_restore_py import get_before_snapshot

    from cart_common import db

    shopper.get()
    shopper.add(MUG, 1)
    connection = db.get_database().connection()
    for hook, args, kwargs in get_before_snapshot():
        hook(*args, **kwargs)
    assert connection.closed


# --- TLS and IAM sign-in -----------------------------------------------------------------------------


def test_verify_full_uses_the_amazon_root_cas_shipped_in_the_layer() -> None:
    import certifi

    from cart_common.config import Settings
    from cart_common.db import CA_BUNDLE, tls_options

    options = tls_options(Settings(db_sslmode="verify-full"))
    assert options == {"sslmode": "verify-full", "sslrootcert": str(CA_BUNDLE)}
    assert tls_options(Settings(db_sslmode="require")) == {"sslmode": "require"}
    assert tls_options(Settings(db_sslmode="verify-full", db_sslrootcert="/etc/x.pem"))["sslrootcert"] == "/etc/x.pem"
    # Each certificate is Mozilla's (certifi's) copy, unchanged.
    mozilla = Path(certifi.where()).read_text()
    shipped = CA_BUNDLE.read_text().split("-----END CERTIFICATE-----")[:-1]
    assert len(shipped) == 5
    for cert in shipped:
        body = cert[cert.index("-----BEGIN CERTIFICATE-----") :] + "-----END CERTIFICATE-----"
        assert body in mozilla


def test_iam_sign_in_uses_a_locally_signed_token(monkeypatch) -> None:
    from cart_common import db
    from cart_common.config import Settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    db._rds_client.cache_clear()
    settings = Settings(
        db_host="cart-proxy.proxy-abc.us-east-1.rds.amazonaws.com", db_iam_auth=True, db_user="cart_admin"
    )
    credentials = db._credentials(settings, refresh=False)
    assert credentials["user"] == "cart_admin"
    token = credentials["password"]
    assert token.startswith("cart-proxy.proxy-abc.us-east-1.rds.amazonaws.com:5432/?")
    assert "Action=connect" in token and "DBUser=cart_admin" in token and "X-Amz-Signature=" in token
    db._rds_client.cache_clear()
