"""The warm DisplayName index: renames move entries, changes from outside QBO drop them."""

from __future__ import annotations

from partner_sync.adapters.qbo_directory import TenantNames
from qbo_client.models import Customer, Ref, Vendor


def test_remember_rename_and_drop() -> None:
    names = TenantNames()
    names.remember(Customer(Id="1", DisplayName="Acme", Active=True))
    names.remember(Vendor(Id="1", DisplayName="Acme Supplies", Active=False))
    hit = names.lookup("ACME ")
    assert hit is not None and (hit.entity, hit.qbo_id, hit.active) == ("Customer", "1", True)
    vendor = names.lookup("acme supplies")
    assert vendor is not None and vendor.entity == "Vendor" and vendor.active is False
    # Our own rename: the old name is free, the new one points at the same record.
    names.remember(Customer(Id="1", DisplayName="Acme (Client)", Active=True))
    assert names.lookup("Acme") is None
    renamed = names.lookup("acme (client)")
    assert renamed is not None and renamed.qbo_id == "1"
    # Someone changed the record in QBO: we no longer trust what we knew about it.
    names.drop("Customer", "1")
    assert names.lookup("Acme (Client)") is None
    assert names.lookup("Acme Supplies") is not None


def test_sub_customers_remember_their_parent() -> None:
    names = TenantNames()
    names.remember(Customer(Id="7", DisplayName="Website", ParentRef=Ref(value="3"), Job=True))
    entry = names.lookup("website")
    assert entry is not None and entry.parent_id == "3"
