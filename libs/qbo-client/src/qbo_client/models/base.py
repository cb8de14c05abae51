"""Base model, references and metadata shared by every QBO entity."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator


class EntityKind(Enum):
    """How QBO removes an entity: name lists are deactivated, transactions deleted."""

    NAME_LIST = "name_list"
    TRANSACTION = "transaction"
    SINGLETON = "singleton"


class VoidMode(Enum):
    """The two void mechanics QBO uses (QBO.md §2.1)."""

    NONE = "none"
    OPERATION_VOID = "operation_void"  # Invoice: ?operation=void
    UPDATE_INCLUDE_VOID = "update_include_void"  # Payment, BillPayment: update&include=void


class QBOModel(BaseModel):
    """Field names are QBO's PascalCase names so payloads map one to one.

    ``extra="allow"`` keeps fields this library does not model, so a read-modify-write
    round trip never drops data QBO sent.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        coerce_numbers_to_str=True,
        validate_assignment=False,
    )

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready dict (Decimals kept) without unset/None fields."""
        return self.model_dump(mode="python", exclude_none=True, by_alias=True)


class Ref(QBOModel):
    """A reference to another object: ``{"value": id, "name": display}``."""

    value: str
    name: str | None = None
    type: str | None = None

    @field_validator("name", "type", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        # Some clients send "" for unset ref names; QBO treats "" as absent.
        return None if v == "" else v


class MetaData(QBOModel):
    CreateTime: datetime | None = None
    LastUpdatedTime: datetime | None = None


# The field below is named MetaData like QBO's; this alias keeps the type resolvable.
_MetaData = MetaData


class QBOEntity(QBOModel):
    """An addressable QBO object (has an Id and a SyncToken)."""

    ENTITY: ClassVar[str] = ""
    KIND: ClassVar[EntityKind] = EntityKind.TRANSACTION
    VOID: ClassVar[VoidMode] = VoidMode.NONE
    # QBO's CDC excludes a few entities (TaxCode, TaxRate, ...): those use queries instead.
    CDC_SUPPORTED: ClassVar[bool] = True

    Id: str | None = None
    SyncToken: str | None = None
    MetaData: _MetaData | None = None
    # Not a QBO field: set by TenantSession on the object a write returns, never serialized.
    _intuit_tid: str | None = PrivateAttr(default=None)

    @property
    def intuit_tid(self) -> str | None:
        """QBO's ``intuit_tid`` of the write that returned this object; None on read objects.
        Intuit support asks for it to trace a request, so callers keep it in their history."""
        return self._intuit_tid

    @classmethod
    def url_segment(cls) -> str:
        return cls.ENTITY.lower()

    @property
    def deleted(self) -> bool:
        """True for the stubs CDC and delete return: ``{"status": "Deleted", "Id": ...}``."""
        extra = self.model_extra or {}
        return extra.get("status") == "Deleted"


class PhysicalAddress(QBOModel):
    Id: str | None = None
    Line1: str | None = None
    Line2: str | None = None
    Line3: str | None = None
    City: str | None = None
    CountrySubDivisionCode: str | None = None
    PostalCode: str | None = None
    Country: str | None = None


class EmailAddress(QBOModel):
    Address: str | None = None


class TelephoneNumber(QBOModel):
    FreeFormNumber: str | None = None


class LinkedTxn(QBOModel):
    TxnId: str
    TxnType: str
    TxnLineId: str | None = None


Money = Decimal
