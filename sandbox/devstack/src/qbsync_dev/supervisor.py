"""Runs the local stack's processes with prefixed logs; Ctrl-C (or SIGTERM) stops them all cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from qbsync_dev.stack import Proc, database_url, emulator_proc, service_procs

READY_TIMEOUT_S = 60.0
_PIPES: set[asyncio.Task[None]] = set()  # strong references: a dropped task may be collected


async def _pipe(name: str, stream: asyncio.StreamReader) -> None:
    prefix = f"{name:>15} | ".encode()
    while line := await stream.readline():
        sys.stdout.buffer.write(prefix + line)
        sys.stdout.flush()


async def start(proc: Proc) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        *proc.argv,
        env={**os.environ, **proc.env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    pipe = asyncio.create_task(_pipe(proc.name, process.stdout))
    _PIPES.add(pipe)
    pipe.add_done_callback(_PIPES.discard)
    return process


async def wait_ready(procs: Sequence[Proc], timeout_s: float = READY_TIMEOUT_S) -> list[str]:
    """Poll each process's readiness URL; returns the names that never became ready."""
    pending = {p.name: f"http://127.0.0.1:{p.port}{p.ready_path}" for p in procs}
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        while pending and asyncio.get_running_loop().time() < deadline:
            for name, url in list(pending.items()):
                try:
                    if (await client.get(url)).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.3)
    return sorted(pending)


async def stop(processes: Sequence[asyncio.subprocess.Process], timeout_s: float = 30) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), timeout_s)
    except TimeoutError:
        for process in processes:
            if process.returncode is None:
                process.kill()


async def run_stack() -> int:
    env = {"QBSYNC_DATABASE_URL": database_url(), "QBSYNC_ENVIRONMENT": "development"}
    procs = [emulator_proc(), *service_procs(env)]
    processes = [await start(p) for p in procs]
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    not_ready = await wait_ready(procs)
    if not_ready:
        print(f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(not_ready)}", flush=True)
    else:
        print(_banner(procs), flush=True)
    # Ctrl-C, or any process dying on its own, ends the whole stack.
    watched: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop_requested.wait())]
    watched += [asyncio.ensure_future(p.wait()) for p in processes]
    await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    for future in watched:
        future.cancel()
    for proc, process in zip(procs, processes, strict=True):
        if process.returncode is not None and not stop_requested.is_set():
            print(f"{proc.name} exited with {process.returncode}; stopping the stack", flush=True)
    await stop(processes)
    return 0 if stop_requested.is_set() else 1


def _banner(procs: Sequence[Proc]) -> str:
    lines = ["", "qbsync is running. Ctrl-C stops everything.", ""]
    for p in procs:
        lines.append(f"  {p.name:<15} http://127.0.0.1:{p.port}  (ready: {p.ready_path}, metrics)")
    lines += [
        "",
        "  QuickBooks emulator admin API: http://127.0.0.1:8090/_emulator/",
        "  Publish events to exchange 'qbsync.events' on amqp://guest:guest@127.0.0.1:5672/",
        "  Results arrive on exchange 'qbsync.results' (queue 'qbsync.results.upstream').",
        "",
    ]
    return "\n".join(lines)
