"""The pure builders of ``cart_common.view`` beyond the cart itself (test_cart_model): the merge
report and checkout readiness, from rows shaped as the statements return them."""

from __future__ import annotations

import uuid

from cart_common.view import merge_report, readiness_issues

PRODUCT, OTHER, THIRD = (str(uuid.uuid4()) for _ in range(3))


def merge_line(product: str, *, carried: bool, user_had: bool, quantity: int, wanted: int, reason: str | None):
    return {"productId": product, "variantId": None, "guestQuantity": 2, "userQuantity": 1 if user_had else 0,
            "quantity": quantity, "carried": carried, "wanted": wanted, "userHadLine": user_had, "reason": reason}  # fmt: skip


def test_given_merged_lines_when_reported_then_each_lands_in_one_list_and_capped_ones_say_why() -> None:
    outcome = {"outcome": "merged", "removed": [], "lines": [
        merge_line(PRODUCT, carried=True, user_had=False, quantity=2, wanted=2, reason=None),
        merge_line(OTHER, carried=True, user_had=True, quantity=3, wanted=5, reason="insufficient_stock"),
        merge_line(THIRD, carried=False, user_had=False, quantity=0, wanted=2, reason="max_lines_per_cart"),
    ]}  # fmt: skip
    report = merge_report(outcome, "sum")
    assert [str(line.product_id) for line in report.added] == [PRODUCT]
    assert [str(line.product_id) for line in report.combined] == [OTHER]
    assert [(str(c.product_id), c.requested, c.reason) for c in report.capped] == [(OTHER, 5, "insufficient_stock")]
    assert [(str(s.product_id), s.reason) for s in report.skipped] == [(THIRD, "max_lines_per_cart")]


def readiness_row(**overrides):
    return {"item_id": uuid.uuid4(), "quantity": 2, "available": 10, "active": True, "max_line": 99,
            "unit_price": 1000, "price_at_add": 1000, "alternatives": None} | overrides  # fmt: skip


def test_given_a_ready_line_when_checked_then_there_is_no_issue() -> None:
    assert readiness_issues([readiness_row()]) == []


def test_given_lines_that_cannot_be_bought_as_they_are_when_checked_then_each_says_why() -> None:
    kinds = [
        [issue.type for issue in readiness_issues([readiness_row(**row)])]
        for row in (
            {"active": False},
            {"available": 0},
            {"available": 1},
            {"max_line": 1},
            {"unit_price": 900},
            {"available": -3},  # more held by other checkouts than in stock: nothing available
        )
    ]
    assert kinds == [["unavailable"], ["out_of_stock"], ["insufficient_stock"], ["limit_exceeded"],
                     ["price_changed"], ["out_of_stock"]]  # fmt: skip
    (issue,) = readiness_issues([readiness_row(available=1)])
    assert issue.current_stock == 1 and issue.message == "Only 1 available"
