"""One timing measurement: interleaved rounds of student and reference calls, and their re-checks."""
# The student's calls run in the worker (stopped between requests), the reference's here; a
# few calls picked only after each round are re-checked.
from __future__ import annotations

import random
import time
from typing import Any, Callable, cast

import torch

from nnlab.errors import ProtocolViolation
from nnlab.grader.checks.asserts import CheckFailed
from nnlab.grader.session import Remote, WorkerSession, handle_of
from nnlab.grader.timing import freezer, tuning
from nnlab.grader.timing.decide import Sample
from nnlab.grader.timing.machine import sync, worker_clock
from nnlab.grader.timing.pools import Plan, Pools
from nnlab.grader.timing.recheck import (Checker, assert_committed, assert_same_inputs,
                                        fetched_calls, held_calls)
from nnlab.wire import messages
from nnlab.wire.codec import Handle, OnDevice
from nnlab.wire.timed import HandleTable, LoopRequest, draw_pool, time_loop
from nnlab.wire.timed import digest as worker_digest
from nnlab.wire.tracing import BannedTrace


class Measurement:
    """Runs rounds; owns the worker session, the local loop and the pools.

    Between its requests the worker is stopped (SIGSTOP): no thread of it can run while
    the reference is measured, nor compute anything once its timed request is over. Where
    the system lets the grader reach the worker's memory (CPU tensors on Linux), the
    grader writes each round's inputs into it while it is stopped and reads the
    re-checked outputs back the same way, so the worker learns its inputs only inside the
    timed request and cannot touch its outputs after it. Elsewhere the inputs go by a
    request inside the timed span and the picked outputs come back by request.
    """

    def __init__(self, session: WorkerSession, target: Remote, reference: Callable[..., Any],
                 plan: Plan, checker: Checker, seed: int) -> None:
        self.session, self.target, self.reference = session, target, reference
        self.pid = session.process.pid if session.process is not None else None
        self.worker_clock = worker_clock(self.pid, plan.device)
        self.plan, self.checker = plan, checker
        self.local = HandleTable()
        self.local_trace = BannedTrace()
        """Empty: the reference runs under the same (idle) watch as the student's calls."""
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = random.Random(seed)
        self.grad_cpu: torch.Tensor | None = None
        self.grad_local: torch.Tensor | None = None
        self.grad_remote: Handle | None = None
        self.shapes: list[tuple[int, ...]] = []
        """The reference's output shape, then its input grads' (set by `_size`)."""
        self.digest_s = 0.0
        """What digesting one call's held tensors costs, on the measurement's clock."""
        self.stale: list[Handle] = []
        self.inputs = plan.inputs
        self.max_windows = min([tuning.MAX_ITERATIONS] + [t.distinct_rows for t in self.inputs])
        self.sized = False
        self.freezer = freezer.Freezer(self.pid)
        self.direct = plan.device == "cpu" and self.freezer.available \
            and freezer.memory_reachable(self.pid)
        """Inputs written into, and outputs read from, the stopped worker's memory."""
        self.buffers: list[Handle] = []
        self.addresses: list[int] = []

    def _size(self, pools: Pools) -> None:
        """Once, from one reference call: the grad_output (backward timing), how many calls'
        outputs fit in KEEP_BYTES (every call's output is held until the round ends) and,
        for direct access, the worker's input buffers."""
        if self.sized:
            return
        self.sized = True
        args = [a.to(self.plan.device) if isinstance(a, torch.Tensor) else a
                for a in pools.window(self.plan, 0)]
        with torch.no_grad():
            out = self.reference(*args, **self.plan.kwargs)
        per_call = out.numel() * out.element_size()
        self.shapes = [tuple(out.shape)] + [t.shape for t in self.inputs
                                            if t.requires_grad and self.plan.backward]
        if not self.direct:
            held = [out] + [torch.zeros(t.shape, dtype=t.dtype, device=self.plan.device)
                            for t in self.inputs if t.requires_grad and self.plan.backward]
            for t in held:  # its weights are made once, here as in the worker
                worker_digest(t)
            self.digest_s = min(self._clocked(lambda: [worker_digest(t) for t in held])
                                for _ in range(5))
        with self.freezer.thawed():
            if self.plan.backward:
                per_call += sum(t.numel * _itemsize(t.dtype) for t in self.inputs if t.requires_grad)
                self.grad_cpu = torch.randn(tuple(out.shape), generator=self.generator).to(out.dtype)
                self.grad_local = self.grad_cpu.to(self.plan.device)
                self.grad_remote = self.session.store([self._send(self.grad_cpu)])[0]
            self.max_windows = max(1, min(self.max_windows,
                                          tuning.KEEP_BYTES[self.plan.device] // max(per_call, 1)))
            if self.direct:
                self._place_input_buffers()

    def _place_input_buffers(self) -> None:
        """Input buffers in the worker, sized for a round, and their addresses there."""
        sizes = [t.numel + t.step * (self.max_windows - 1) for t in self.inputs]
        self.buffers = self.session.store(
            [torch.zeros(n, dtype=t.dtype) for n, t in zip(sizes, self.inputs)])
        where = self.session.eval("[t.data_ptr() for t in buffers]", label="the timing inputs",
                                  buffers=self.buffers)
        if not (isinstance(where, list) and len(where) == len(self.buffers)
                and all(isinstance(a, int) and a > 0 for a in where)):
            raise ProtocolViolation("the worker did not say where its timing inputs are")
        self.addresses = where

    def _clocked(self, work: Callable[[], Any]) -> float:
        """Seconds `work` takes here, on the clock the measurement uses."""
        sync(self.plan.device)
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        work()
        sync(self.plan.device)
        return time.thread_time() - cpu0 if self.worker_clock else time.perf_counter() - wall0

    def _send(self, t: torch.Tensor) -> Any:
        return OnDevice(t, "cuda") if self.plan.device == "cuda" else t

    def start(self) -> None:
        """Stops the worker: from now on it runs only while it serves a request."""
        self.freezer.freeze()

    def stop(self) -> None:
        """Lets the worker run again."""
        self.freezer.thaw()

    def round(self, n_student: int, n_reference: int, student_first: bool,
              rechecks: int = tuning.RECHECKS_PER_ROUND) -> Sample:
        """One round: `n_student` calls of the student's code and `n_reference` of the
        reference's, in the given order, then the re-check of `rechecks` picked calls."""
        windows = max(n_student, n_reference)
        pools = Pools(self.plan, windows, self.rng)
        self._size(pools)
        order = ("student", "reference") if student_first else ("reference", "student")
        cpu: dict[str, float] = {}
        wall: dict[str, float] = {}
        reply: messages.Timed | None = None
        for side in order:
            if side == "student":
                reply, cpu[side], wall[side] = self._student(pools, n_student)
            else:
                cpu[side], wall[side] = self._reference(pools, n_reference)
        if not self.direct:
            self._take_out_drawing(pools, cpu, {"student": n_student, "reference": n_reference})
        assert reply is not None  # n_student > 0: the student side always ran
        self._recheck(reply, pools, n_student, rechecks)
        return Sample(cpu["student"] / n_student, cpu["reference"] / n_reference,
                      wall["student"] / n_student, wall["reference"] / n_reference)

    def _take_out_drawing(self, pools: Pools, cpu: dict[str, float], calls: dict[str, int]) -> None:
        """Both sides drew their pools and digested them and every output inside their
        timed span: the same work, which only dilutes the ratio. Take out what it costs
        here, the least of a few tries, so never more than it costs."""
        drawing_s = min(self._clocked(lambda: [worker_digest(draw_pool(*d[1:]))
                                               for d in pools.draws]) for _ in range(2))
        for side, n in calls.items():
            overhead = drawing_s + n * self.digest_s
            cpu[side] = max(cpu[side] - overhead, 0.1 * cpu[side])

    def _recheck(self, reply: messages.Timed, pools: Pools, n_student: int,
                 rechecks: int) -> None:
        """Re-checks a few of the student's calls, then drops every output the worker held."""
        # Both clocks have stopped and the worker with them: only now are the calls to
        # re-check picked, so no call could know whether it would be looked at.
        picks = sorted(self.rng.sample(range(n_student), min(rechecks, n_student)))
        if self.direct:
            held = held_calls(reply, picks, self.pid or 0, self.shapes, self.checker.what)
        else:
            with self.freezer.thawed():
                held = fetched_calls(self.session.kept_outputs(_kept(reply), picks), picks)
            assert_committed(held, reply.digests or [], self.plan.device)
        self.checker.check(held, pools, self.grad_cpu)
        with self.freezer.thawed():  # the held outputs are dropped here, untimed
            self.session.store([], release=self.stale)

    def _student(self, pools: Pools, n: int) -> tuple[messages.Timed, float, float]:
        """(reply, clock seconds, wall seconds) of the worker's `n` calls.

        On the CPU the clock is all the CPU time the worker spent while it was let run
        (background threads included; it is stopped before and after). On CUDA, wall
        time of the calls.
        """
        if self.direct:
            for pool, address in zip(pools.cpu, self.addresses):
                try:
                    freezer.write_tensor(self.pid or 0, address, pool)
                except freezer.UnreachableMemory as error:
                    raise CheckFailed(f"the timing inputs could not be written into the "
                                      f"stopped worker: {error}") from None
        clock = self.worker_clock
        cpu0 = clock() if clock else 0.0
        with self.freezer.thawed():
            if self.direct:
                bases: list[Any] = list(self.buffers)
            else:  # drawn inside the timed request, from seeds it alone receives
                bases = list(pools.draws)
            wall0 = time.perf_counter()
            reply = self.session.time_loop(
                self.target, pools.specs(self.plan, bases), self.plan.kwargs, n,
                backward=self.plan.backward, grad_output=self.grad_remote,
                threads=self.plan.threads, digests=not self.direct, traced=True)
            wall = time.perf_counter() - wall0
        cpu = clock() - cpu0 if clock else wall
        self.stale = [handle_of(_kept(reply))]
        if len(reply.where) != n:
            raise ProtocolViolation("the timing loop did not account for every call")
        if not self.direct:
            assert_same_inputs(pools, reply.drawn or [], self.plan.device)
        if reply.threads != self.plan.threads:
            raise CheckFailed(f"your code changed torch's thread count while it was "
                              f"timed ({self.plan.threads} -> {reply.threads})")
        return reply, cpu, wall

    def _reference(self, pools: Pools, n: int) -> tuple[float, float]:
        """(clock seconds, wall seconds) of the reference's `n` calls, here."""
        sync(self.plan.device)
        cpu0 = time.thread_time()  # one torch thread: all the work is on this thread
        wall0 = time.perf_counter()
        # Without direct access the worker draws its pools inside its request: so does this.
        received = ([b.to(self.plan.device, copy=False) for b in pools.cpu] if self.direct
                    else list(pools.draws))
        time_loop(self.local, self.local_trace, self.reference, LoopRequest(
            pools.specs(self.plan, received), self.plan.kwargs, n, backward=self.plan.backward,
            grad_output=self.grad_local, digests=not self.direct, traced=True))
        wall = time.perf_counter() - wall0
        cpu = time.thread_time() - cpu0 if self.worker_clock else wall
        self.local.clear()  # the outputs it held, as the worker's are
        return cpu, wall


def _kept(reply: messages.Timed) -> Remote:
    """The held outputs: a Ref field, which the grader's decoder gives as a Remote."""
    return cast(Remote, reply.kept)


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()
