"""The requestid of a batch names its exact list of operations, so only the same batch replays."""

from __future__ import annotations

from invoice_sync.domain.identity import batch_request_id, operation_id, request_id


def test_same_operations_in_the_same_order_give_the_same_requestid() -> None:
    ops = [operation_id("t", "invoice", f"inv-{n}", 0) for n in range(30)]
    assert batch_request_id(ops, "create") == batch_request_id(list(ops), "create")
    assert len(batch_request_id(ops, "create")) <= 36  # QBO: a batch requestid ≤ 36 characters


def test_another_composition_order_or_step_is_another_batch() -> None:
    ops = [operation_id("t", "invoice", f"inv-{n}", 0) for n in range(3)]
    first = batch_request_id(ops, "create")
    # A replay maps QBO's stored answers by position: any other list must not reuse the id.
    assert batch_request_id(ops[:2], "create") != first
    assert batch_request_id(list(reversed(ops)), "create") != first
    assert batch_request_id(ops, "lookup") != first
    bumped = [*ops[:2], operation_id("t", "invoice", "inv-2", 1)]
    assert batch_request_id(bumped, "create") != first
    # Never the single create's requestid of any of its documents.
    assert first not in {request_id(op, "create") for op in ops}
