"""A long job's turn in the server's queue (app/jobs.py), as the waiting student sees it."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from app import jobs


@st.cache_resource
def server_queue() -> jobs.JobQueue:
    """The one queue of this server process, shared by every session."""
    return jobs.JobQueue()


def waiting_text(ahead: int, waited_s: float) -> str:
    return (f"Waiting: {ahead} job{'' if ahead == 1 else 's'} ahead of yours ({waited_s:.0f} s so far). "
            "Long jobs run one at a time on this server; yours starts by itself.")


@contextlib.contextmanager
def long_job_turn(*, what: str, items: int, unit: str) -> Iterator[None]:
    """Wait for this server's queue, showing the place, then run the body (which shows its own progress);
    a job of up to jobs.QUEUE_ABOVE items runs at once. In classroom mode a job over the operator's size is
    refused with a message and the page stops."""
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

    with server_queue().turn(show_place):
        notice.empty()
        yield
