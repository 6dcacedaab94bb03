"""The Streamlit settings the app relies on (.streamlit/config.toml says why each is there)."""
import subprocess
import sys
import tomllib

from tests.conftest import ROOT


def test_streamlit_config_serves_static_and_skips_the_post_run_gc():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableStaticServing"] is True   # the attention views link app/static/ scripts
    assert config["runner"]["postScriptGC"] is False          # a full gc.collect held the last messages back
    assert config["browser"]["gatherUsageStats"] is False     # offline classrooms
    assert config["server"]["fileWatcherType"] == "none"      # no pass over every module on each run


def test_streamlit_config_hides_the_deploy_button():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer"       # no Deploy in an offline classroom app


def test_the_server_skips_streamlits_scan_of_installed_packages_for_components():
    """streamlit_app.py replaces the scan (app/component_scan.py) with one that finds nothing; this checks
    that Streamlit still looks the scan up where we replace it, so an upgrade that moves it shows here."""
    code = """
import inspect
import streamlit_app
from streamlit.components.v2 import manifest_scanner
from streamlit.components.v2.component_manager import BidiComponentManager
assert manifest_scanner.scan_component_manifests() == []
source = inspect.getsource(BidiComponentManager.discover_and_register_components)
assert "from streamlit.components.v2.manifest_scanner import" in source and "scan_component_manifests()" in source
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_the_server_freezes_what_it_loaded_at_start_up_so_the_collector_stops_walking_it():
    """Once the default model is loaded and warmed up, streamlit_app.py moves every object alive then
    out of the garbage collector's reach (gc.freeze): a full collection no longer stalls page runs."""
    code = """
import gc, threading
import streamlit_app
assert gc.get_freeze_count() == 0
loader = next(t for t in threading.enumerate() if t.name == streamlit_app._THREAD)
loader.join(timeout=300)
from app.services import get_model
from bert_core import DEFAULT_MODEL
assert get_model(DEFAULT_MODEL)[0] is not None
assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=360)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]
