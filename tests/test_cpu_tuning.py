"""The app's CPU settings (app/cpu_tuning.py): threads left for the browser, freed memory kept, on
any operating system, applied where the app's model service starts."""
import os
import platform

import pytest
from streamlit.testing.v1 import AppTest

from app import cpu_tuning, services
from app.cpu_tuning import available_cores, keep_freed_memory, serving_threads
from tests.conftest import ROOT


@pytest.mark.parametrize("cores, torch_default, omp, expected", [
    (2, 2, None, 1),     # this CI machine: one core for the model, one for the browser and server
    (1, 1, None, 1),     # never zero
    (16, 8, None, 8),    # hyperthreads: torch's own default (physical cores) already leaves room
    (8, 8, None, 7),
    (2, 2, "2", 2),      # OMP_NUM_THREADS set: the user's choice stands
])
def test_the_app_leaves_a_core_for_the_browser(cores, torch_default, omp, expected):
    assert serving_threads(cores, torch_default, omp) == expected


def test_the_command_line_leaves_none():
    assert serving_threads(4, 4, None, leave_free=0) == 4 and serving_threads(64, 8, None, leave_free=0) == 8


def test_freed_memory_is_kept_on_glibc():
    assert keep_freed_memory() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_cores_are_counted_where_there_is_no_cpu_affinity(monkeypatch):
    """macOS and Windows have no os.sched_getaffinity."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    expected = (getattr(os, "process_cpu_count", None) or os.cpu_count)()
    assert available_cores() == expected >= 1
    monkeypatch.setattr(os, "cpu_count", lambda: None)        # Python may not know at all
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    assert available_cores() == 1


@pytest.fixture
def recorded_settings(monkeypatch):
    """The settings the app applies, recorded instead of applied, from a fresh server's first model load."""
    threads, kept = [], []
    monkeypatch.setattr(cpu_tuning.torch, "set_num_threads", threads.append)
    monkeypatch.setattr(cpu_tuning, "keep_freed_memory", lambda: kept.append(True) or True)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    services.process_settings.clear()
    services.get_model.clear()
    yield threads, kept
    services.process_settings.clear()   # the next test's server applies them for real


def test_the_app_applies_the_settings_when_its_model_service_starts(recorded_settings):
    threads, kept = recorded_settings
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120).run()
    assert not at.exception
    expected = serving_threads(available_cores(), cpu_tuning.torch.get_num_threads(), None)
    assert threads == [expected] and kept == [True]
    at.run()                                        # once per process, not on every rerun
    assert len(threads) == len(kept) == 1


def test_the_app_runs_without_os_sched_getaffinity(recorded_settings, monkeypatch):
    threads, _ = recorded_settings
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120).run()
    assert not at.exception and at.title[0].value == "BERT Explorer"
    assert "Running on" in " ".join(str(c.value) for c in at.sidebar.caption) and threads
    at.switch_page("app/pages/tokens.py").run()
    assert not at.exception
