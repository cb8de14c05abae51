"""Which payment method refs need a lookup, and how the names are filled in."""

from __future__ import annotations

from payment_poller.domain.methods import unnamed_method_ids, with_method_names
from payment_poller.domain.model import QboPayment


def pay(pid: str, method: str | None = None, method_id: str | None = None) -> QboPayment:
    return QboPayment("payment", pid, "0", "active", method=method, method_id=method_id)


def test_only_nameless_refs_not_known_yet_are_looked_up() -> None:
    payments = [
        pay("1", method="Check"),  # named by QBO: nothing to ask
        pay("2", method_id="3"),
        pay("3", method_id="3"),  # the same id once
        pay("4", method_id="7"),
        pay("5", method_id="9"),  # answered by an earlier lookup
        pay("6"),  # no method at all
    ]
    assert unnamed_method_ids(payments, known={"9"}) == {"3", "7"}
    assert unnamed_method_ids([pay("1", method="Cash")], known=()) == set()


def test_names_fill_only_nameless_refs_and_unknown_ids_stay_empty() -> None:
    payments = [pay("1", method="Check"), pay("2", method_id="3"), pay("3", method_id="404")]
    named = with_method_names(payments, {"3": "Visa", "404": None})
    assert [p.method for p in named] == ["Check", "Visa", None]
    assert [p.id for p in named] == ["1", "2", "3"]
