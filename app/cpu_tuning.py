"""Process settings that make CPU forwards fast in the app and the command lines, applied once where
a process starts: `python -m app` in main(), the app when its model service first loads a model.

Both are measured on the 2-core CI machine (bench/RESULTS.md, "Attention views"):
- threads: the browser and Streamlit's server usually share the machine with the model. A
  forward with more OpenMP threads than free cores waits for a preempted thread at every op,
  so the app leaves one core free; the command lines, headless, use them all.
- memory: glibc hands allocations of more than a few MB straight to the kernel and gives them
  back when freed, so every forward pays fresh page faults for its score and probability
  tensors (12.6 MB a layer at 512 tokens). Keeping freed memory in the process avoids that;
  the price: the process keeps its peak memory.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

import torch

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
_MMAP_THRESHOLD = 256 * 2**20   # allocations above this still go straight to the kernel
_TRIM_THRESHOLD = 1024 * 2**20  # free memory kept before any is given back


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity where the OS has one (Linux), else the
    cores Python can see (macOS and Windows have no os.sched_getaffinity)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    count = getattr(os, "process_cpu_count", os.cpu_count)  # process_cpu_count: Python 3.13+
    return count() or 1


def serving_threads(cores: int, torch_default: int, omp_setting: str | None, leave_free: int = 1) -> int:
    """Torch threads: every core but `leave_free`, at most torch's own default, unless OMP_NUM_THREADS
    says otherwise."""
    if omp_setting:
        return torch_default  # the user chose
    return max(1, min(torch_default, cores - leave_free))


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to reuse freed memory instead of returning it; False where there is no
    glibc (macOS, Windows, musl), which then keep their own allocator's behaviour."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def tune_process(*, leave_free: int) -> int:
    """Apply both settings to this process: torch threads (serving_threads, leaving `leave_free`
    cores) and glibc's freed memory. Returns the torch thread count."""
    threads = serving_threads(available_cores(), torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"),
                              leave_free)
    torch.set_num_threads(threads)
    keep_freed_memory()
    return threads
