"""What partner-sync tells upstream about projects (QBO sub-customers, Customer:Job)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from qbsync_common.contract.bases import ResultEvent
from qbsync_common.contract.partner_results import OPERATION_DESCRIPTION, PartnerFailureReason
from qbsync_common.contract.scalars import Identifier

ProjectSkipReason = Literal["sub-customers-disabled", "inactive", "older-version"]


class ProjectSynced(ResultEvent):
    """A project is in QBO as a sub-customer of its client; store `sync_key` as its QBO id."""

    event_type = "qbsync.project.synced.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "project_id": "p-88",
                    "client_id": "c-1042",
                    "version": 3,
                    "sync_key": "61",
                    "sync_token": "0",
                    "adopted": False,
                    "operation_id": "op-01HQ8ZQ4RS",
                }
            ]
        }
    )

    project_id: Identifier = Field(description="The project's id in the upstream app.")
    client_id: Identifier = Field(description="Upstream id of the project's client.")
    version: int = Field(ge=0, description="The snapshot version that is now in QBO.")
    sync_key: Identifier = Field(description="The QBO Customer id of the sub-customer.")
    sync_token: str = Field(description="QBO SyncToken of the record after our write.")
    adopted: bool = Field(description="True when an existing QBO sub-customer was adopted.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class ProjectSyncFailed(ResultEvent):
    """A project could not be synced; `reason_code` says why, `message` explains it."""

    event_type = "qbsync.project.sync_failed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "project_id": "p-88",
                    "client_id": "c-1042",
                    "version": 3,
                    "reason_code": "needs-reauthorization",
                    "message": "The tenant must reconnect QuickBooks.",
                    "operation_id": "op-01HQ8ZR9XV",
                }
            ]
        }
    )

    project_id: Identifier = Field(description="The project's id in the upstream app.")
    client_id: Identifier = Field(description="Upstream id of the project's client.")
    version: int = Field(ge=0, description="The snapshot version that failed.")
    reason_code: PartnerFailureReason = Field(
        description="Same codes as partner.sync_failed (e.g. needs-reauthorization, "
        "name-conflict, qbo-validation)."
    )
    message: str = Field(description="Human-readable explanation.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class ProjectSkipped(ResultEvent):
    """A project snapshot was deliberately not synced; `reason_code` says why."""

    event_type = "qbsync.project.skipped.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "project_id": "p-90",
                    "client_id": "c-1042",
                    "version": 1,
                    "reason_code": "sub-customers-disabled",
                    "message": "This tenant does not sync projects as sub-customers.",
                }
            ]
        }
    )

    project_id: Identifier = Field(description="The project's id in the upstream app.")
    client_id: Identifier = Field(description="Upstream id of the project's client.")
    version: int = Field(ge=0, description="The snapshot version that was skipped.")
    reason_code: ProjectSkipReason = Field(
        description="sub-customers-disabled (tenant setting), inactive (never synced and "
        "inactive), older-version."
    )
    message: str = Field(description="Human-readable explanation.")
