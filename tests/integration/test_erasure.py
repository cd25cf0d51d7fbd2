"""The right to erasure (issue 21): an admin's DELETE /admin/users/{userId}/data and the user pool's
account deletion (CloudTrail's record on EventBridge) leave no row in any table of the schema that
names the user: by sub, email, their carts' ids or their guest sessions' keys."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.rows import DictRow

from cart_common import oplog
from local import stack
from tests.conftest import MUG, TSHIRT, TSHIRT_S_RED, Lines, Reply, Shopper, User, http_event, one, routes
from tests.integration.test_cart_api import assert_problem

ERASE = "/admin/users/{userId}/data"


def erase(user_id: str, bearer: str) -> Reply:
    route = routes()[("DELETE", ERASE)]
    event = http_event("DELETE", ERASE, path_params={"userId": user_id}, headers={"authorization": f"Bearer {bearer}"})
    return Reply(stack.load_function(route)(event, stack.LambdaContext(route.function, 10)))


def cloudtrail(event_name: str, sub: str | None, *, error: str | None = None) -> dict[str, Any]:
    """An account deletion as EventBridge delivers CloudTrail's record of it (management event)."""
    detail: dict[str, Any] = {
        "eventSource": "cognito-idp.amazonaws.com", "eventName": event_name, "awsRegion": "us-east-1",
        "requestParameters": {"userPoolId": "us-east-1_example", "username": "HIDDEN_DUE_TO_SECURITY_REASONS"},
        "additionalEventData": {"sub": sub} if sub else {}, "eventType": "AwsApiCall", "managementEvent": True,
    }  # fmt: skip
    if error:
        detail["errorCode"] = error
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.cognito-idp", "account": "123456789012", "time": "2026-12-06T12:00:00Z",
            "region": "us-east-1", "resources": [], "detail": detail}  # fmt: skip


def shop_as(user: User, sql: psycopg.Connection[DictRow]) -> dict[str, Any]:
    """A user with everything a shopper leaves behind: a guest cart merged into theirs, lines, a saved
    item, an applied code, an open checkout holding stock, an idempotency key, rate buckets, outbox
    events and their email. What names them: returned."""
    guest = Shopper()
    guest.add(MUG, 1)
    guest_cart = guest.get().json["id"]
    signed_in = Shopper(bearer=user.access_token)
    signed_in.token = guest.session_token
    merged = signed_in.merge().json["cart"]
    signed_in.add(TSHIRT, 2, TSHIRT_S_RED)
    shirt = next(i["id"] for i in signed_in.get().json["items"] if i["productId"] == TSHIRT)
    signed_in.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": shirt})
    signed_in.call("POST", "/cart/discount-codes", body={"code": "WELCOME10"},
                   headers={"Idempotency-Key": f"erase-{uuid.uuid4()}"})  # fmt: skip
    assert signed_in.call("POST", "/cart/checkout", body={"acceptPriceChanges": True}).status == 200
    sql.execute(
        "insert into shopper (user_id, email) values (%s, %s) on conflict (user_id) do update set email = excluded.email",
        (user.sub, user.email),
    )
    session_key = one(sql.execute("select session_id from cart where id = %s", (guest_cart,)))["session_id"]
    return {"sub": user.sub, "email": user.email, "carts": [merged["id"], guest_cart], "session": session_key}


def rows_naming(sql: psycopg.Connection[DictRow], needles: list[str]) -> list[str]:
    """Every (table.column) of the schema with a row whose value, as text, contains a needle."""
    columns = sql.execute(
        "select table_name, column_name from information_schema.columns c"
        " join information_schema.tables t using (table_schema, table_name)"
        " where c.table_schema = 'public' and t.table_type = 'BASE TABLE'"
        " order by table_name, column_name"
    ).fetchall()
    assert {"cart", "cart_item", "saved_item", "checkout", "shopper", "idempotency_key", "rate_bucket",
            "cart_event"} <= {c["table_name"] for c in columns}  # fmt: skip
    found = []
    for column in columns:
        query = pgsql.SQL("select count(*) as n from {} t, unnest(%s::text[]) any_needle where strpos(t.{}::text, any_needle) > 0").format(
            pgsql.Identifier(column["table_name"]), pgsql.Identifier(column["column_name"])
        )  # fmt: skip
        if one(sql.execute(query, (needles,)))["n"]:
            found.append(f"{column['table_name']}.{column['column_name']}")
    return found


def test_an_erasure_leaves_no_row_in_any_table_that_names_the_user(
    user: User,
    make_user,
    admin: User,
    sql: psycopg.Connection[DictRow],
    logged: Lines,
) -> None:
    named = shop_as(user, sql)
    bystander = make_user()
    kept = shop_as(bystander, sql)
    needles = [named["sub"], named["email"], *named["carts"], named["session"]]
    assert rows_naming(sql, needles), "the arrangement left nothing to erase"
    held = one(sql.execute("select available_stock(null, %s, null) as n", (MUG,)))["n"]

    reply = erase(user.sub, admin.access_token)
    assert reply.status == 200, reply
    report = reply.json
    assert report["userId"] == user.sub
    erased = report["erased"]
    assert erased["carts"] >= 1 and erased["lines"] >= 1 and erased["savedItems"] == 1
    assert erased["discountLinks"] == 1 and erased["checkouts"] == 1 and erased["openCheckoutsReleased"] == 1
    assert erased["reservations"] >= 1 and erased["shopperRows"] == 1 and erased["idempotencyKeys"] >= 1
    assert erased["rateBuckets"] >= 2 and erased["events"] >= 2

    assert rows_naming(sql, needles) == []
    # the held stock is available again; the bystander's rows are all there
    assert one(sql.execute("select available_stock(null, %s, null) as n", (MUG,)))["n"] > held
    assert len(rows_naming(sql, [kept["sub"], *kept["carts"]])) >= 5
    assert Shopper(bearer=bystander.access_token).get().json["id"] == kept["carts"][0]

    line = logged.of("erasure")[-1]
    assert line["erased_owner"] == oplog.owner_id("user", user.sub) and line["via"] == "admin"
    (asked,) = [o for o in logged.of("operation") if o["operation"] == "erase_user_data"]
    assert asked["owner"] == oplog.owner_id("user", admin.sub) and asked["round_trips"] == 1
    text = json.dumps(logged.lines)
    assert user.sub not in text and user.email not in text

    again = erase(user.sub, admin.access_token)
    assert again.status == 200 and set(again.json["erased"].values()) == {0}


def test_the_user_pools_account_deletion_erases_through_cloudtrails_record(user: User, sql) -> None:
    named = shop_as(user, sql)
    handler = stack.load_function(routes()[("DELETE", ERASE)])
    context = stack.LambdaContext("EraseUserDataFunction", 10)
    assert handler(cloudtrail("AdminDeleteUser", user.sub, error="UserNotFoundException"), context) == {"erased": False}
    assert handler(cloudtrail("AdminDeleteUser", None), context) == {"erased": False}
    assert rows_naming(sql, [user.sub]), "a failed or nameless deletion erased nothing"
    result = handler(cloudtrail("DeleteUser", user.sub), context)
    assert result["erased"] is True and result["carts"] >= 1
    assert rows_naming(sql, [named["sub"], named["email"], *named["carts"], named["session"]]) == []


@pytest.mark.parametrize("user_id", ["u" * 129, "a b", "x%27"])
def test_an_erasure_of_a_malformed_user_id_is_422_for_an_admin(admin: User, user_id: str) -> None:
    assert_problem(erase(user_id, admin.access_token), 422, "validation_failed")
