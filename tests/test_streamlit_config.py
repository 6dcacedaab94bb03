"""The Streamlit settings the app relies on (.streamlit/config.toml says why each is there)."""
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
