"""Process settings that make CPU forwards fast in the app and the command lines.

Both are measured on the 2-core CI machine (bench/RESULTS.md, "Attention views"):
- threads: the browser and Streamlit's server usually share the machine with the model. A
  forward with more OpenMP threads than free cores waits for a preempted thread at every op:
  with Chromium drawing on 2 cores, a 16-token forward took 0.25 s on 2 threads, 0.03 s on 1.
  So the app leaves one core free (the command lines, headless, use them all).
- memory: glibc hands allocations of more than a few MB straight to the kernel and gives them
  back when freed, so every forward pays fresh page faults for its score and probability
  tensors (12.6 MB a layer at 512 tokens). Keeping freed memory in the process made a 512-token
  forward with attentions 0.35 s → 0.25 s. The price: the process keeps its peak memory.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

import torch

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
_MMAP_THRESHOLD = 256 * 2**20   # allocations above this still go straight to the kernel
_TRIM_THRESHOLD = 1024 * 2**20  # free memory kept before any is given back


def serving_threads(cores: int, torch_default: int, omp_setting: str | None) -> int:
    """Torch threads for the app: every core but one, unless OMP_NUM_THREADS says otherwise."""
    if omp_setting:
        return torch_default  # the user chose
    return max(1, min(torch_default, cores - 1))


def use_serving_threads() -> int:
    """Set and return the app's torch threads (see serving_threads)."""
    threads = serving_threads(len(os.sched_getaffinity(0)), torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"))
    torch.set_num_threads(threads)
    return threads


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
