"""JSON logging: every line carries service, trace, tenant and event ids, and never a secret."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from qbsync_common.logs import configure_logging, log_context
from qbsync_common.settings import ServiceSettings


@pytest.fixture
def configured(capsys: pytest.CaptureFixture[str]) -> Iterator[ServiceSettings]:
    """Our handler on the root logger for one test; the previous root state is restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    settings = ServiceSettings(service_name=f"svc-{uuid.uuid4().hex[:6]}", log_level="DEBUG")
    configure_logging(settings)
    capsys.readouterr()
    yield settings
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """This test's records (libraries such as asyncio may log at DEBUG meanwhile)."""
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [entry for entry in entries if entry["logger"] == "qbsync.test"]


def test_each_record_is_one_json_line_with_the_standard_fields(
    configured: ServiceSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.getLogger("qbsync.test").info("hello %s", "world", extra={"queue": "q1", "n": 3})
    [entry] = lines(capsys)
    assert entry["msg"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "qbsync.test"
    assert entry["service"] == configured.service_name
    assert entry["ts"].endswith("+00:00")
    assert entry["queue"] == "q1"
    assert entry["n"] == 3
    # No span, no context: the keys exist and are empty, so log queries never miss a field.
    assert (entry["trace_id"], entry["span_id"], entry["tenant_id"], entry["event_id"]) == (
        "",
        "",
        "",
        "",
    )


def test_log_context_nests_and_is_restored(
    configured: ServiceSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logging.getLogger("qbsync.test")
    with log_context(tenant_id="t-1", event_id="e-1"):
        log.info("outer")
        with log_context(event_id="e-2", queue="partner"):
            log.info("inner")
        with log_context(tenant_id=None):
            log.info("cleared")
        log.info("outer again")
    log.info("outside")
    outer, inner, cleared, again, outside = lines(capsys)
    assert (outer["tenant_id"], outer["event_id"]) == ("t-1", "e-1")
    assert (inner["tenant_id"], inner["event_id"], inner["queue"]) == ("t-1", "e-2", "partner")
    assert (cleared["tenant_id"], cleared["event_id"]) == ("", "e-1")
    assert (again["tenant_id"], again["event_id"]) == ("t-1", "e-1")
    assert "queue" not in again
    assert (outside["tenant_id"], outside["event_id"]) == ("", "")


async def test_concurrent_tasks_keep_their_own_context(
    configured: ServiceSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logging.getLogger("qbsync.test")

    async def deliver(tenant: str) -> None:
        with log_context(tenant_id=tenant, event_id=f"ev-{tenant}"):
            await asyncio.sleep(0.01)  # interleave the two deliveries
            log.info("handled")

    await asyncio.gather(deliver("a"), deliver("b"))
    entries = lines(capsys)
    assert sorted((e["tenant_id"], e["event_id"]) for e in entries) == [
        ("a", "ev-a"),
        ("b", "ev-b"),
    ]


def test_trace_and_span_ids_come_from_the_current_span(
    configured: ServiceSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("qbsync.test").warning("inside")
    [entry] = lines(capsys)
    context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")
    assert len(entry["trace_id"]) == 32


def test_configure_is_idempotent_and_sets_the_level(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging(ServiceSettings(service_name="first", log_level="DEBUG"))
        configure_logging(ServiceSettings(service_name="second", log_level="warning"))
        capsys.readouterr()
        log = logging.getLogger("qbsync.test")
        log.info("dropped: below WARNING")
        log.warning("kept")
        [entry] = lines(capsys)
        assert (entry["msg"], entry["service"]) == ("kept", "second")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_exceptions_are_logged_as_text(
    configured: ServiceSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise ValueError("bad thing")
    except ValueError:
        logging.getLogger("qbsync.test").exception("failed")
    [entry] = lines(capsys)
    assert entry["msg"] == "failed"
    assert "ValueError: bad thing" in entry["exc"]
    assert "Traceback" in entry["exc"]


def test_tokens_and_secrets_never_reach_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    secret = uuid.uuid4().hex  # each planted value is unique, so a hit can only be a leak
    values = {name: f"{name}-{secret}" for name in ("at", "rt", "cs", "code", "verifier", "pw")}
    values |= {"bearer": f"eyJ{secret}.payload.sig", "basic": "dXNlcjpwYXNzd29yZA" + secret[:6]}
    values |= {"amqp": f"amqp{secret[:10]}", "pg": f"pg{secret[:10]}", "apikey": f"k{secret}"}
    values |= {"client_secret_setting": f"settings-{secret}"}
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging(
            ServiceSettings(
                service_name="redaction",
                log_level="DEBUG",
                # A literal secret from settings is scrubbed wherever it shows up.
                broker_url=SecretStr(f"amqp://qbsync:{values['amqp']}@rabbit:5672/"),
            )
        )
        from qbsync_common.redaction import register_secret

        register_secret(values["client_secret_setting"])
        capsys.readouterr()
        log = logging.getLogger("qbsync.test")
        log.info("calling with Authorization: Bearer %s", values["bearer"])
        log.info("headers %s", {"Authorization": f"Basic {values['basic']}"})
        log.info("callback GET /oauth/callback?code=%s&state=xyz&realmId=9", values["code"])
        log.info(
            "token response %s",
            json.dumps({"access_token": values["at"], "refresh_token": values["rt"]}),
        )
        log.info("posting grant_type=refresh_token&refresh_token=%s", values["rt"])
        log.info("form client_id=abc&client_secret=%s", values["cs"])
        log.info("pkce code_verifier=%s", values["verifier"])
        log.info("broker amqp://qbsync:%s@rabbit:5672/", values["amqp"])
        log.info("db postgresql+asyncpg://qbsync:%s@db:5432/qbsync", values["pg"])
        log.info("loaded %s", values["client_secret_setting"])
        log.info(
            "extras",
            extra={
                "access_token": values["at"],
                "Api_Key": values["apikey"],
                "password": values["pw"],
                "payload": {"nested": {"client_secret": values["cs"]}},
                "url": f"https://x.test/cb?code={values['code']}",
            },
        )
        with log_context(tenant_id="t-9", authorization=f"Bearer {values['bearer']}"):
            log.info("in context")
        try:
            raise RuntimeError(f"token endpoint said: refresh_token={values['rt']}")
        except RuntimeError:
            log.exception("refresh failed for Bearer %s", values["bearer"])
        output = capsys.readouterr().out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    entries = [json.loads(line) for line in output.splitlines()]
    entries = [entry for entry in entries if entry["logger"] == "qbsync.test"]
    assert len(entries) == 13
    assert secret not in output
    for value in values.values():
        assert value not in output
    # Redaction keeps what an operator needs: which call, which realm, which user and host.
    assert "realmId=9" in output
    assert "state=xyz" in output
    assert "qbsync:[REDACTED]@rabbit:5672" in output
    assert entries[-1]["exc"].startswith("Traceback")
    assert entries[-1]["exc"].endswith("refresh_token=[REDACTED]")
    assert entries[10]["access_token"] == "[REDACTED]"
    assert entries[10]["payload"] == {"nested": {"client_secret": "[REDACTED]"}}
    assert entries[11]["tenant_id"] == "t-9"


def test_ordinary_text_is_left_alone(
    configured: ServiceSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    # Over-redaction hides what operators need; these look like secrets to a naive filter.
    plain = [
        "QBO answered status_code=400 with Fault code 6240 for realm 9130357",
        "POST https://sandbox.test/v3/company/9130357/invoice?minorversion=75 -> 200",
        "event 0190a3b4-5c6d-7e8f-9012-3456789abcde parked: malformed: data.amount",
    ]
    log = logging.getLogger("qbsync.test")
    for message in plain:
        log.info(message)
    assert [entry["msg"] for entry in lines(capsys)] == plain
