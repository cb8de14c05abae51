"""`qbsync-demo story|publish`: the upstream app's side of the demo, against a running stack.

    qbsync-demo story [--timeout 120]          play the demo tenant's story, print the results
    qbsync-demo publish <type> <json-file>     validate one event against the contract, publish it

Defaults match `make run` (its QBSYNC_DEV_<NAME>_PORT included); QBSYNC_DEMO_GATEWAY_URL,
QBSYNC_DEMO_EMULATOR_URL, QBSYNC_DEMO_BROKER_URL and QBSYNC_DEMO_OPERATOR_KEY point it elsewhere.
Exit codes: 0 done, 1 the story is incomplete (what is missing is printed), 2 bad input or the
stack is not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx
from aio_pika.exceptions import AMQPException

from qbsync_common.messaging.publisher import PublishFailed
from qbsync_dev.demo.environment import DEMO_TENANT, DemoEnvironment
from qbsync_dev.demo.player import PaymentNotRecorded, StoryError, StoryReport, play
from qbsync_dev.demo.publish import InvalidEvent, envelope_from_json, publish


def _parser() -> argparse.ArgumentParser:
    doc = (__doc__ or "").splitlines()
    parser = argparse.ArgumentParser(
        prog="qbsync-demo",
        description=doc[0].replace("`", ""),
        epilog="\n".join(doc[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tenant", default=DEMO_TENANT, help="upstream tenant id")
    commands = parser.add_subparsers(dest="command", required=True)
    story = commands.add_parser("story", help="play the demo story and check every result")
    story.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for results")
    pub = commands.add_parser("publish", help="publish one contract event from a JSON file")
    pub.add_argument("type", help="event type, e.g. qbsync.partner.upserted.v1")
    pub.add_argument("file", type=Path, help="the event's data, or a whole CloudEvents envelope")
    return parser


async def _story(env: DemoEnvironment, tenant_id: str, timeout_s: float) -> int:
    try:
        report = await play(env, tenant_id, timeout_s=timeout_s)
    except PaymentNotRecorded as exc:
        print(f"story INCOMPLETE: {exc}", file=sys.stderr)
        _print_unmet(exc.report)
        return 2
    except StoryError as exc:
        print(f"cannot play the story: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        # Any other HTTP call that failed: say which service did not answer, not a traceback.
        print(f"cannot play the story: {_http_failure(env, exc)}", file=sys.stderr)
        return 2
    except (OSError, AMQPException, PublishFailed) as exc:
        print(f"cannot play the story: broker at {env.broker_display}: {exc!r}", file=sys.stderr)
        return 2
    if report.complete:
        print("story complete: every step came back as expected.")
        return 0
    print("story INCOMPLETE; missing or different:", file=sys.stderr)
    _print_unmet(report)
    return 1


def _print_unmet(report: StoryReport) -> None:
    for line in report.unmet():
        print(f"  - {line}", file=sys.stderr)


def _http_failure(env: DemoEnvironment, exc: httpx.HTTPError) -> str:
    try:
        url = str(exc.request.url)
    except RuntimeError:  # an error raised outside a request has none
        return repr(exc)
    services = {env.gateway_url: "gateway", env.emulator_url: "emulator"}
    who = next((name for base, name in services.items() if url.startswith(base)), "a service")
    return f"the {who} at {url} failed: {exc!r}"


async def _publish(env: DemoEnvironment, tenant_id: str, event_type: str, file: Path) -> int:
    try:
        raw = await asyncio.to_thread(file.read_bytes)
    except OSError as exc:
        print(f"cannot read {file}: {exc}", file=sys.stderr)
        return 2
    try:
        envelope = envelope_from_json(event_type, raw, tenant_id)
    except InvalidEvent as exc:
        print(f"{file} is not a valid {event_type}: {exc}", file=sys.stderr)
        return 2
    try:
        await publish(env.broker_url, [envelope])
    except (PublishFailed, OSError, AMQPException) as exc:
        print(f"not published: {exc}", file=sys.stderr)
        return 2
    print(f"published {envelope.type} {envelope.id} for tenant {envelope.tenantid}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        env = DemoEnvironment.from_env()
    except ValueError as exc:  # a QBSYNC_DEV_*_PORT that is not a port
        print(f"qbsync-demo: {exc}", file=sys.stderr)
        return 2
    if args.command == "story":
        return asyncio.run(_story(env, args.tenant, args.timeout))
    return asyncio.run(_publish(env, args.tenant, args.type, args.file))


if __name__ == "__main__":
    sys.exit(main())
