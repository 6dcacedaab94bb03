"""Long jobs (a treebank probe, a word-sense table, many sentences to embed) run one at a time per server,
and so do page runs.

Streamlit runs each session's script in its own thread of one process, so long jobs started
together would share the CPU: each would finish as late as the last, and every interactive page
would slow down with them. A job takes its turn here first: `JobQueue.turn` waits, first come first
served, and tells the waiting session its place while it waits (one JobQueue per server:
components/job_wait.py keeps it with st.cache_resource).

Page runs take turns in a second JobQueue for the same reason. Python runs one thread at a time, so
twenty students' runs sharing the process all finish about when the last does, and students who
already have their page, clicking on, slow down those still waiting; one after the other, in order
of arrival, the first page comes after one run's time and the twentieth after twenty
(bench/RESULTS.md, "Classroom load"). A page run that starts a long job gives its turn up
(`JobQueue.leave`), so the long job never holds up the interactive pages; one whose main view is
drawn lets the waiting runs draw theirs before it draws the rest (`JobQueue.later`).

In classroom mode the operator also caps a job's size (`BERT_EXPLORER_MAX_JOB_ITEMS`, rows or
sentences): a larger job is refused before it queues. Plain Python, no Streamlit.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator

DEFAULT_CLASSROOM_MAX_ITEMS = 2_000  # rows or sentences; an EWT dev probe (2,001 sentences) needs a higher cap
QUEUE_ABOVE = 64  # items; a job this small is about as quick as an interactive page, so it runs at once


class JobRefused(ValueError):
    """A job larger than the operator allows in classroom mode."""


def max_job_items(classroom: bool) -> int | None:
    """The largest job (rows, sentences) a classroom server runs (BERT_EXPLORER_MAX_JOB_ITEMS);
    None: no limit (personal mode)."""
    if not classroom:
        return None
    setting = os.environ.get("BERT_EXPLORER_MAX_JOB_ITEMS", "").strip()
    return int(setting) if setting.isdigit() and int(setting) > 0 else DEFAULT_CLASSROOM_MAX_ITEMS


def check_size(what: str, items: int, limit: int | None, unit: str = "rows") -> None:
    """Raise JobRefused when `items` (rows, sentences: `unit`) is over `limit` (None: any size)."""
    if limit is not None and items > limit:
        raise JobRefused(f"{what} has {items:,} {unit}; this classroom server runs jobs of up to {limit:,} {unit}. "
                         f"Use a smaller file (its first {limit:,} {unit}), or run "
                         "`python -m app` on your own machine for the whole of it.")


class JobQueue:
    """One long job at a time, first come first served.

    `turn` blocks until the caller's job may run. While it waits, `on_wait(ahead, waited_s)` is
    called every `poll_s` seconds, outside the lock, with the number of jobs ahead of it (the one
    running included): a Streamlit page uses it to show the place, and its calls are also where
    Streamlit can interrupt a session that navigated away (the `finally` gives the place back).
    """

    def __init__(self, poll_s: float = 0.5) -> None:
        self._changed = threading.Condition()
        self._waiting: list[object] = []  # tickets in arrival order
        self._running: object | None = None
        self._holder: int | None = None   # the thread that has the turn
        self.poll_s = poll_s

    def ahead(self) -> int:
        """Jobs a job submitted now would wait for (running and waiting)."""
        with self._changed:
            return len(self._waiting) + (self._running is not None)

    def _place(self, ticket: object) -> int:
        return self._waiting.index(ticket) + (self._running is not None)

    @contextlib.contextmanager
    def turn(self, on_wait: Callable[[int, float], None] | None = None) -> Iterator[None]:
        self._wait_for_turn(on_wait)
        try:
            yield
        finally:
            self.leave()

    def _wait_for_turn(self, on_wait: Callable[[int, float], None] | None) -> None:
        ticket = object()
        start = time.monotonic()
        with self._changed:
            self._waiting.append(ticket)
        try:
            while True:
                with self._changed:
                    ahead = self._place(ticket)
                    if ahead == 0:
                        self._waiting.remove(ticket)
                        self._running, self._holder = ticket, threading.get_ident()
                        return
                if on_wait is not None:
                    on_wait(ahead, time.monotonic() - start)
                with self._changed:
                    if self._place(ticket) == ahead:  # nothing moved while on_wait ran
                        self._changed.wait(self.poll_s)
        except BaseException:
            with self._changed:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                    self._changed.notify_all()
            raise

    def later(self, on_wait: Callable[[int, float], None] | None = None) -> None:
        """Let everyone waiting go first, then carry on in a new turn (at once when nobody waits). A page
        calls this once its main view is drawn: under load every student's main view comes before anyone's
        rest of the page. Nothing if this thread has no turn (a fragment's rerun runs outside the queue)."""
        with self._changed:
            if self._holder != threading.get_ident() or not self._waiting:
                return
        self.leave()
        self._wait_for_turn(on_wait)

    def leave(self) -> None:
        """Give up this thread's turn for good (the rest of its page run goes unqueued); nothing if it has none.

        A page run that starts a long job leaves: the job may wait minutes for its own queue. It does
        not take the turn back afterwards: it may be inside a cached function, whose lock another
        session's page, holding the turn, may be waiting for."""
        with self._changed:
            if self._holder == threading.get_ident():
                self._running, self._holder = None, None
                self._changed.notify_all()

