"""Streamlit's scan for v2 components, skipped.

As its runtime starts, and in AppTest at every run, Streamlit reads the metadata of every installed
package looking for v2 components: 0.4 s and 0.17 CPU-s with the ~180 packages of a test machine,
holding the GIL that the server's model loading needs. This app uses no component from another
package, so the server (streamlit_app.py) and the tests (tests/conftest.py) replace the scan with
one that finds nothing.
"""
from __future__ import annotations


def skip_component_scan() -> None:
    from streamlit.components.v2 import manifest_scanner

    manifest_scanner.scan_component_manifests = lambda max_workers=None: []
