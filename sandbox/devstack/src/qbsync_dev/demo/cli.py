"""`qbsync-demo story|publish`: the upstream app's side of the demo, against a running stack.

    qbsync-demo story [--timeout 120]          play the demo tenant's story, print the results
    qbsync-demo publish <type> <json-file>     validate one event against the contract, publish it

Defaults match `make run`; QBSYNC_DEMO_GATEWAY_URL, QBSYNC_DEMO_EMULATOR_URL,
QBSYNC_DEMO_BROKER_URL and QBSYNC_DEMO_OPERATOR_KEY point it elsewhere. Exit codes: 0 done,
1 the story is incomplete (what is missing is printed), 2 bad input or the stack is not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from aio_pika.exceptions import AMQPException

from qbsync_common.messaging.publisher import PublishFailed
from qbsync_dev.demo.environment import DEMO_TENANT, DemoEnvironment
from qbsync_dev.demo.player import StoryError, play
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
    except StoryError as exc:
        print(f"cannot play the story: {exc}", file=sys.stderr)
        return 2
    except (OSError, AMQPException, PublishFailed) as exc:
        print(f"cannot play the story: broker at {env.broker_display}: {exc!r}", file=sys.stderr)
        return 2
    if report.complete:
        print("story complete: every step came back as expected.")
        return 0
    print("story INCOMPLETE; missing or different:", file=sys.stderr)
    for line in report.unmet():
        print(f"  - {line}", file=sys.stderr)
    return 1


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
    env = DemoEnvironment.from_env()
    if args.command == "story":
        return asyncio.run(_story(env, args.tenant, args.timeout))
    return asyncio.run(_publish(env, args.tenant, args.type, args.file))


if __name__ == "__main__":
    sys.exit(main())
