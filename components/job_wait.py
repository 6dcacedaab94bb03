"""Turns in the server's queues (app/jobs.py), as the waiting student sees them: one for long jobs,
one for page runs."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from app import jobs

SHOW_PAGE_WAIT_AFTER_S = 1.0  # a shorter wait goes unannounced


@st.cache_resource
def server_queue() -> jobs.JobQueue:
    """The long jobs' queue of this server process, shared by every session."""
    return jobs.JobQueue()


@st.cache_resource
def page_queue() -> jobs.JobQueue:
    """The page runs' queue of this server process: one script run at a time, first come first served."""
    return jobs.JobQueue(poll_s=0.5)


def waiting_text(ahead: int, waited_s: float) -> str:
    return (f"Waiting: {ahead} job{'' if ahead == 1 else 's'} ahead of yours ({waited_s:.0f} s so far). "
            "Long jobs run one at a time on this server; yours starts by itself.")


def _busy_notice():
    """(on_wait, clear): a wait of over a second shows the place; drawing it is also where Streamlit can stop
    a session that moved on meanwhile."""
    notice = None

    def show_place(ahead: int, waited_s: float) -> None:
        nonlocal notice
        if waited_s >= SHOW_PAGE_WAIT_AFTER_S:
            notice = notice or st.empty()
            notice.caption(f"The server is busy: {ahead} page{'' if ahead == 1 else 's'} ahead of yours…")

    def clear() -> None:
        if notice is not None:
            notice.empty()

    return show_place, clear


@contextlib.contextmanager
def page_turn() -> Iterator[None]:
    """Run the body (a whole page run) in this server's turn."""
    show_place, clear = _busy_notice()
    with page_queue().turn(show_place):
        clear()
        yield


def main_view_drawn() -> None:
    """A page's main view is on the screen: the students waiting for theirs go first, then this page draws
    the rest (at once when nobody waits)."""
    show_place, clear = _busy_notice()
    page_queue().later(show_place)
    clear()


@contextlib.contextmanager
def long_job_turn(*, what: str, items: int, unit: str) -> Iterator[None]:
    """Wait for this server's queue, showing the place, then run the body (which shows its own progress);
    a job of up to jobs.QUEUE_ABOVE items runs at once. In classroom mode a job over the operator's size is
    refused with a message and the page stops. A queued job's page run gives up its page turn first,
    so the other students' pages go on while the job waits and runs."""
    from app.services import server_access  # here: services wraps its long jobs with this function

    try:
        jobs.check_size(what, items, jobs.max_job_items(server_access().classroom), unit)
    except jobs.JobRefused as refused:
        st.error(str(refused))
        st.stop()
    if items <= jobs.QUEUE_ABOVE:
        yield
        return
    notice = st.empty()

    def show_place(ahead: int, waited_s: float) -> None:
        notice.info(waiting_text(ahead, waited_s), icon=":material/hourglass_top:")

    page_queue().leave()
    with server_queue().turn(show_place):
        notice.empty()
        yield
