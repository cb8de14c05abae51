"""The CloudEvents 1.0 envelope (structured JSON mode) every qbsync message travels in."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
"""AMQP content_type of every message: the whole body is one structured-mode CloudEvent."""


class Envelope(BaseModel):
    """A CloudEvent with qbsync's `tenantid` and `traceparent` extensions; `data` is the event."""

    # CloudEvents tells receivers to tolerate extensions they do not know.
    model_config = ConfigDict(extra="ignore", title="CloudEvent")

    specversion: Literal["1.0"] = Field("1.0", description="CloudEvents version, always 1.0.")
    id: str = Field(
        min_length=1,
        description="Unique event id (also the AMQP message_id); redeliveries keep it, so "
        "consumers deduplicate on it.",
    )
    source: str = Field(
        min_length=1, description="Who published the event, e.g. 'partner-sync' or 'acme-erp'."
    )
    type: str = Field(
        min_length=1,
        description="Event type, e.g. 'qbsync.partner.upserted.v1'; also the AMQP routing key.",
    )
    time: AwareDatetime = Field(description="When the event happened (RFC 3339, with offset).")
    subject: str | None = Field(
        None, description="Optional: the record the event is about, e.g. 'client/c-1042'."
    )
    datacontenttype: Literal["application/json"] = Field(
        "application/json", description="Content type of `data`, always application/json."
    )
    tenantid: str = Field(
        min_length=1, description="Extension: the upstream tenant (one QBO company) concerned."
    )
    traceparent: str | None = Field(
        None, description="Extension: W3C trace context of the publisher, for one trace per event."
    )
    data: dict[str, Any] = Field(description="The event's data; its schema depends on `type`.")
