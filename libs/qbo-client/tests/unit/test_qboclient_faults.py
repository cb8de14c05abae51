"""QBO faults in every envelope map to the right exception and transient flag."""

from __future__ import annotations

import json

import pytest

from qbo_client import errors
from qbo_client.faults import error_from_response

THROTTLE_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2017-07-30T22:45:22">'
    b'<Fault type="SERVICE"><Error code="3001">'
    b"<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    b"<Detail>The request limit was reached.  Try again later</Detail>"
    b"</Error></Fault></IntuitResponse>"
)

AUTH_LOWER = {
    "warnings": None,
    "fault": {
        "error": [
            {
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Malformed bearer token: too short or too long",
                "code": "3200",
                "element": None,
            }
        ],
        "type": "AUTHENTICATION",
    },
    "time": 1633520295688,
}


def _fault(code: str, message: str = "m", detail: str = "d", element: str = "") -> bytes:
    body = {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
            "type": "ValidationFault",
        },
        "time": "2017-09-29T09:17:31.892-07:00",
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("status", "code", "cls", "transient"),
    [
        (400, "610", errors.ObjectNotFoundError, False),
        (400, "5010", errors.StaleObjectError, False),
        (400, "6240", errors.DuplicateNameError, False),
        (400, "6140", errors.DuplicateDocNumberError, False),
        (400, "2500", errors.InvalidReferenceError, False),
        (400, "2020", errors.ValidationError, False),
        (400, "4000", errors.ValidationError, False),
        (400, "6000", errors.ValidationError, False),
        (400, "10000", errors.ServiceError, True),
        (500, "10000", errors.ServiceError, True),
        (403, "3100", errors.AuthorizationError, False),
        (500, "3100", errors.ServiceError, True),
        (401, "3200", errors.AuthenticationError, False),
        (429, "3001", errors.ThrottledError, True),
        (200, "6240", errors.DuplicateNameError, False),
    ],
)
def test_json_faults(status: int, code: str, cls: type[errors.QBOError], transient: bool) -> None:
    err = error_from_response(status, _fault(code, element="Line.ItemRef"), intuit_tid="tid-1")
    assert type(err) is cls
    assert err.transient is transient
    assert err.code == code
    assert err.status == status
    assert err.intuit_tid == "tid-1"
    assert err.detail == "d"
    assert err.element == "Line.ItemRef"


def test_xml_throttle_body_despite_json_accept() -> None:
    err = error_from_response(429, THROTTLE_XML, intuit_tid="t")
    assert isinstance(err, errors.ThrottledError)
    assert err.code == "3001"
    assert err.detail == "The request limit was reached.  Try again later"
    assert err.retry_after == 60.0


def test_legacy_403_throttle_is_recognised_by_text() -> None:
    body = THROTTLE_XML.replace(b'code="3001"', b'code="003001"')
    assert isinstance(error_from_response(403, body), errors.ThrottledError)


def test_lower_camel_auth_envelope() -> None:
    err = error_from_response(401, json.dumps(AUTH_LOWER).encode())
    assert isinstance(err, errors.AuthenticationError)
    assert err.code == "3200"
    assert err.detail == "Malformed bearer token: too short or too long"


def test_xml_validation_fault() -> None:
    body = (
        b'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="x">'
        b'<Fault type="ValidationFault"><Error code="2500" element="Line.ItemRef">'
        b"<Message>Invalid Reference Id</Message><Detail>Invalid Reference Id : Item</Detail>"
        b"</Error></Fault></IntuitResponse>"
    )
    err = error_from_response(400, body)
    assert isinstance(err, errors.InvalidReferenceError)
    assert err.element == "Line.ItemRef"
    assert err.message == "Invalid Reference Id"


def test_html_load_balancer_503_is_a_transient_service_error() -> None:
    body = b"<html><head><title>503 Service Temporarily Unavailable</title></head></html>"
    err = error_from_response(503, body)
    assert isinstance(err, errors.ServiceError)
    assert err.transient
    assert err.status == 503


def test_unparseable_400_is_validation_and_unknown_404_is_base() -> None:
    assert type(error_from_response(400, b"garbage")) is errors.ValidationError
    assert type(error_from_response(404, b"")) is errors.QBOError
