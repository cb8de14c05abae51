"""Every event data model of contract v1 in one namespace, plus ALL_EVENTS in contract order."""

from __future__ import annotations

from qbsync_common.contract.bases import EventData
from qbsync_common.contract.commands import RecreateDocument, SyncPartner
from qbsync_common.contract.document_results import (
    DocumentNeedsReview,
    DocumentSkipped,
    DocumentSynced,
    DocumentSyncFailed,
)
from qbsync_common.contract.partner_results import PartnerSkipped, PartnerSynced, PartnerSyncFailed
from qbsync_common.contract.partner_snapshot import PartnerSnapshot
from qbsync_common.contract.payment_results import (
    BillPaid,
    BillPaymentChanged,
    BillPaymentReversed,
    PaymentChanged,
    PaymentExported,
    PaymentExportFailed,
    PaymentReceived,
    PaymentReversed,
    PaymentUnapplied,
)
from qbsync_common.contract.project_results import ProjectSkipped, ProjectSynced, ProjectSyncFailed
from qbsync_common.contract.tenants import (
    EntityChange,
    QboEntitiesChanged,
    TenantConnected,
    TenantConnectionRecovered,
    TenantDisconnected,
    TenantReauthorizationRequired,
    TenantRefreshTokenExpiring,
    TenantSettingsChanged,
)
from qbsync_common.contract.upstream import (
    CreditMemoIssued,
    InvoiceStatusChanged,
    PartnerDeactivated,
    PartnerUpserted,
    PaymentRecordedUpstream,
    ProjectUpserted,
)
from qbsync_common.contract.values import Address, DocumentLine, PaymentTerms

# Order is the order of the published contract: upstream events, commands, gateway, results.
ALL_EVENTS: tuple[type[EventData], ...] = (
    PartnerUpserted,
    PartnerDeactivated,
    ProjectUpserted,
    InvoiceStatusChanged,
    CreditMemoIssued,
    PaymentRecordedUpstream,
    SyncPartner,
    RecreateDocument,
    TenantConnected,
    TenantDisconnected,
    TenantReauthorizationRequired,
    TenantConnectionRecovered,
    TenantRefreshTokenExpiring,
    TenantSettingsChanged,
    QboEntitiesChanged,
    PartnerSynced,
    PartnerSyncFailed,
    PartnerSkipped,
    ProjectSynced,
    ProjectSyncFailed,
    ProjectSkipped,
    DocumentSynced,
    DocumentSyncFailed,
    DocumentSkipped,
    DocumentNeedsReview,
    PaymentExported,
    PaymentExportFailed,
    PaymentReceived,
    PaymentChanged,
    PaymentReversed,
    BillPaid,
    BillPaymentChanged,
    BillPaymentReversed,
    PaymentUnapplied,
)

__all__ = [
    "ALL_EVENTS",
    "Address",
    "BillPaid",
    "BillPaymentChanged",
    "BillPaymentReversed",
    "CreditMemoIssued",
    "DocumentLine",
    "DocumentNeedsReview",
    "DocumentSkipped",
    "DocumentSyncFailed",
    "DocumentSynced",
    "EntityChange",
    "EventData",
    "InvoiceStatusChanged",
    "PartnerDeactivated",
    "PartnerSkipped",
    "PartnerSnapshot",
    "PartnerSyncFailed",
    "PartnerSynced",
    "PartnerUpserted",
    "PaymentChanged",
    "PaymentExportFailed",
    "PaymentExported",
    "PaymentReceived",
    "PaymentRecordedUpstream",
    "PaymentReversed",
    "PaymentTerms",
    "PaymentUnapplied",
    "ProjectSkipped",
    "ProjectSyncFailed",
    "ProjectSynced",
    "ProjectUpserted",
    "QboEntitiesChanged",
    "RecreateDocument",
    "SyncPartner",
    "TenantConnected",
    "TenantConnectionRecovered",
    "TenantDisconnected",
    "TenantReauthorizationRequired",
    "TenantRefreshTokenExpiring",
    "TenantSettingsChanged",
]
