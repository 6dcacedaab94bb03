"""The project as a user installs it: licence, notices, the README's two commands, the tools' settings."""
from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def test_licence_and_third_party_notices():
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    notices = (ROOT / "static" / "LICENSES.md").read_text()
    assert "as this repository" not in notices  # code that is not ours says whose it is
    for vendored in ("d3.min.js", "jquery.min.js", "bertviz_shim.js"):
        assert vendored in notices
    assert "Mike Bostock" in notices and "OpenJS Foundation" in notices and "Jesse Vig" in notices
    assert "Redistribution and use in source and binary forms" in notices  # d3's BSD text, in full
    assert "Permission is hereby granted, free of charge" in notices      # jQuery's MIT text, in full


def test_modified_bertviz_scripts_say_they_were_changed():
    import numpy as np

    from components.bertviz_views import head_view_html

    html = head_view_html(weights=np.full((2, 3, 3), 1 / 3), from_labels=list("abc"), to_labels=list("abc"),
                          layer=0, key="t")
    assert "Copyright 2018 Jesse Vig, Apache License 2.0" in html and "Modified by BERT Explorer" in html


def test_pyproject_holds_metadata_and_tool_settings():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["name"] and project["project"]["version"] and project["project"]["license"]
    assert project["project"]["requires-python"].startswith(">=3.11")
    assert set("E F I W UP B".split()) <= set(project["tool"]["ruff"]["lint"]["select"])
    assert project["tool"]["ruff"]["line-length"] == 120
    assert project["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]
    assert not (ROOT / "pytest.ini").exists()


def test_readme_has_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    install, test = blocks[0].strip(), blocks[1].strip()
    assert install == "pip install -r requirements.txt && streamlit run streamlit_app.py"
    assert test == "pip install -r requirements-dev.txt && python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "requirements-dev.txt" in ci and "ruff check" in ci and "python -m pytest" in ci
    app_needs = (ROOT / "requirements.txt").read_text()
    assert "torch==2.13.0" in app_needs and "pytest" not in app_needs and "playwright" not in app_needs
    dev_needs = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev_needs and "pytest" in dev_needs and "playwright" in dev_needs
