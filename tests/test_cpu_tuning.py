"""The app's CPU settings (app/cpu_tuning.py): threads left for the browser, freed memory kept."""
import platform

import pytest

from app.cpu_tuning import keep_freed_memory, serving_threads


@pytest.mark.parametrize("cores, torch_default, omp, expected", [
    (2, 2, None, 1),     # this CI machine: one core for the model, one for the browser and server
    (1, 1, None, 1),     # never zero
    (16, 8, None, 8),    # hyperthreads: torch's own default (physical cores) already leaves room
    (8, 8, None, 7),
    (2, 2, "2", 2),      # OMP_NUM_THREADS set: the user's choice stands
])
def test_the_app_leaves_a_core_for_the_browser(cores, torch_default, omp, expected):
    assert serving_threads(cores, torch_default, omp) == expected


def test_freed_memory_is_kept_on_glibc():
    assert keep_freed_memory() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
