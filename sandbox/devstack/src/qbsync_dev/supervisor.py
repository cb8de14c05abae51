"""Runs the local stack's processes with prefixed logs; Ctrl-C (or SIGTERM) stops them all cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from qbsync_dev.demo.banner import banner
from qbsync_dev.demo.connect import set_up_tenant
from qbsync_dev.demo.environment import DEMO_COMPANY, DEMO_REALM, DEMO_TENANT, DemoEnvironment
from qbsync_dev.stack import Proc, StackSpec


# Four services and the emulator importing at once on a busy 2-core machine can take a minute;
# QBSYNC_DEV_READY_TIMEOUT_S moves it.
def _ready_timeout() -> float:
    raw = os.environ.get("QBSYNC_DEV_READY_TIMEOUT_S", "150")
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"QBSYNC_DEV_READY_TIMEOUT_S must be seconds, not {raw!r}") from None


READY_TIMEOUT_S = _ready_timeout()
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


async def stop_in_order(processes: Sequence[asyncio.subprocess.Process]) -> None:
    """Services first, the emulator (first started) last: a service draining its work still
    reaches QuickBooks instead of logging connection errors."""
    await stop(processes[1:])
    await stop(processes[:1])


class StackNotReady(Exception):
    """Some processes never answered their readiness URL."""


@dataclass
class RunningStack:
    """The processes of a running stack, by name; system tests kill and restart them."""

    spec: StackSpec
    procs: list[Proc]
    processes: list[asyncio.subprocess.Process]

    def _index(self, name: str) -> int:
        return next(i for i, proc in enumerate(self.procs) if proc.name == name)

    def process(self, name: str) -> asyncio.subprocess.Process:
        return self.processes[self._index(name)]

    async def kill(self, name: str) -> int:
        """SIGKILL, as the kernel's OOM killer or a node failure would; returns the exit code."""
        process = self.process(name)
        if process.returncode is None:
            process.kill()
        return await process.wait()

    async def restart(self, name: str) -> None:
        """Start the named process again (after it died) and wait until it is ready."""
        index = self._index(name)
        self.processes[index] = await start(self.procs[index])
        not_ready = await wait_ready([self.procs[index]])
        if not_ready:
            raise StackNotReady(f"{name} not ready {READY_TIMEOUT_S:.0f}s after a restart")


@contextlib.asynccontextmanager
async def running(spec: StackSpec) -> AsyncIterator[RunningStack]:
    """Start every process of the stack, wait until all are ready, stop them all on exit."""
    procs = spec.procs()
    stack = RunningStack(spec, procs, [])
    try:
        for proc in procs:
            stack.processes.append(await start(proc))
        not_ready = await wait_ready(procs)
        if not_ready:
            raise StackNotReady(f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(not_ready)}")
        yield stack
    finally:
        await stop_in_order(stack.processes)


async def run_stack(spec: StackSpec | None = None) -> int:
    spec = spec or StackSpec.default()
    procs = spec.procs()
    processes = [await start(p) for p in procs]
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    ready = asyncio.ensure_future(_become_ready(spec, procs))
    # Ctrl-C, or any process dying on its own, ends the whole stack (also during the setup).
    watched: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop_requested.wait())]
    watched += [asyncio.ensure_future(p.wait()) for p in processes]
    setup_failed = False
    while True:
        pending = watched if ready.done() else [*watched, ready]
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if done != {ready}:
            break
        if not ready.result():
            setup_failed = True
            break
    ready.cancel()
    for future in watched:
        future.cancel()
    for proc, process in zip(procs, processes, strict=True):
        if process.returncode is not None and not stop_requested.is_set():
            print(f"{proc.name} exited with {process.returncode}; stopping the stack", flush=True)
    await stop_in_order(processes)
    return 0 if stop_requested.is_set() and not setup_failed else 1


async def _become_ready(spec: StackSpec, procs: Sequence[Proc]) -> bool:
    """Wait for readiness, connect the demo tenant, print where to look; False if that failed."""
    not_ready = await wait_ready(procs)
    if not_ready:
        print(f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(not_ready)}", flush=True)
        return False
    env = DemoEnvironment.of(spec)
    try:
        tenant = await set_up_tenant(env, DEMO_TENANT, "Demo tenant", DEMO_REALM, DEMO_COMPANY)
    except Exception as exc:  # any setup failure must still end in a clean stop of the stack
        print(f"could not connect the demo tenant: {exc!r}", flush=True)
        return False
    print(banner(spec, env, tenant), flush=True)
    return True
