"""QBO fault values and their wire bodies (JSON, XML, the auth envelope and the throttle XML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

XML_NS = "http://schema.intuit.com/finance/v3"


@dataclass
class ApiFault(Exception):
    """One QBO error as the service reports it; raising it anywhere aborts the current operation."""

    status: int
    code: str
    message: str
    detail: str
    element: str = ""
    type: str = "ValidationFault"
    extra: list[tuple[str, str, str]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "Error": [
                {
                    "Message": self.message,
                    "Detail": self.detail,
                    "code": self.code,
                    "element": self.element,
                }
            ],
            "type": self.type,
        }

    def xml(self, time: str) -> str:
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<IntuitResponse xmlns="{XML_NS}" time="{time}">'
            f'<Fault type="{escape(self.type)}"><Error code="{self.code}" '
            f'element="{escape(self.element)}"><Message>{escape(self.message)}</Message>'
            f"<Detail>{escape(self.detail)}</Detail></Error></Fault></IntuitResponse>"
        )


def validation(code: str, message: str, detail: str, element: str = "") -> ApiFault:
    return ApiFault(400, code, message, detail, element)


def required(element: str) -> ApiFault:
    return validation(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_reference(element: str, reason: str = "") -> ApiFault:
    detail = f"Invalid Reference Id : {reason or element}"
    return validation("2500", "Invalid Reference Id", detail, element)


def inactive_reference(element: str) -> ApiFault:
    return validation(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        element,
    )


def deleted_object() -> ApiFault:
    return validation(
        "610", "Object Not Found", "Object Not Found : Another user has deleted this transaction."
    )


def not_found(entity: str, entity_id: str) -> ApiFault:
    return validation(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. "
        f"({entity} {entity_id} does not exist)",
    )


def stale(entity_id: str) -> ApiFault:
    return validation(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and QuickBooks Emulator were working on this at the same "
        f"time. QuickBooks Emulator finished before you did, so your work was not saved. "
        f"(Id {entity_id})",
    )


def duplicate_name(name: str) -> ApiFault:
    return validation(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another customer, vendor or employee is already "
        f"using this \nname. Please use a different name. (Name: {name})",
    )


def duplicate_list_name(entity: str, name: str) -> ApiFault:
    return validation(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {entity.lower()} is already using this "
        f"name. Please use a different name. (Name: {name})",
    )


def duplicate_doc_number(doc_number: str) -> ApiFault:
    return validation(
        "6140",
        "Duplicate Doc Num",
        f"Duplicate Document Number Error : You must specify a different number. This number "
        f"has already been used. DocNumber={doc_number} is assigned to TxnType=",
    )


def business(reason: str, element: str = "") -> ApiFault:
    return validation(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {reason}",
        element,
    )


def invalid_property(name: str) -> ApiFault:
    return validation(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{name} specified is unsupported or invalid",
        name,
    )


def malformed(detail: str) -> ApiFault:
    return validation(
        "2010", "Request has invalid or unsupported property", f"Request is malformed: {detail}"
    )


def malformed_bytes(position: int) -> ApiFault:
    # What QBO says about a body that is not UTF-8 (QBO.md §4.2, code 500 on HTTP 400).
    return validation(
        "500",
        "Unsupported Operation",
        "Operation com.ctc.wstx.exc.WstxIOException: Invalid UTF-8 start byte "
        f"MalformedByteSequenceException: Invalid byte {position} of 1-byte UTF-8 sequence.",
    )


def unsupported_operation(detail: str) -> ApiFault:
    return validation("500", "Unsupported Operation", f"Operation {detail} is not supported.")


def resource_not_found(path: str) -> ApiFault:
    # QBO answers unknown resources with code 500 "Unsupported Operation" on HTTP 400.
    return validation(
        "500",
        "Unsupported Operation",
        f"Operation Could not find resource for relative : {path} of full path: {path}",
    )


def query_parse(detail: str) -> ApiFault:
    return validation("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation(detail: str) -> ApiFault:
    return validation("4001", "Invalid query", f"QueryValidationError: {detail}")


def unknown_realm(realm_id: str) -> ApiFault:
    # A realm the token is not authorised for is an authorization failure in QBO (3100, 403).
    return ApiFault(
        403,
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        f"The realm {realm_id} does not exist or is not connected to this application",
        type="SERVICE",
    )


def system_error(status: int = 500) -> ApiFault:
    return ApiFault(
        status,
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your "
        "data. Please wait a few minutes and try again. If the problem persists, contact "
        "customer support.",
        type="SystemFault",
    )


def throttle_xml(time: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse xmlns="{XML_NS}" time="{time}">\n'
        f' <Fault type="SERVICE"><Error code="3001">'
        f"<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>\n"
        f" <Detail>The request limit was reached.  Try again later</Detail></Error></Fault>"
        f"</IntuitResponse>"
    )


def auth_envelope(code: str, message: str, detail: str, kind: str, time_ms: int) -> dict[str, Any]:
    """The lower-camel envelope QBO uses for authentication failures (python-quickbooks #250)."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code, "element": None}],
            "type": kind,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": time_ms,
        "status": None,
        "cdcresponse": [],
    }
