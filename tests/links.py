"""The link a browser would share after a person changed the page's widgets, rebuilt from an AppTest.

A widget bound to the URL (`bind="query-params"`) has its query-parameter name in its proto
(`query_param_key`), and the browser, not the server, writes its value there when it changes: what
the widget shows (a selectbox's or radio's label, a slider's number, a toggle's true/false, a
multiselect's labels, the text), left out when it equals the widget's default. AppTest has no
browser, so its `query_params` never see those writes; these helpers read the widgets instead, and
the browser tests check the real address bar.
"""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

BOUND_KINDS = ("selectbox", "radio", "slider", "toggle", "multiselect", "text_input", "text_area", "button_group",
               "number_input")


def _shown(widget) -> tuple[object, object]:
    """(what the URL would carry, the widget's default in the same form)."""
    proto = widget.proto
    kind = type(widget).__name__
    if kind in ("Selectbox", "Radio"):
        return widget.options[widget.index], widget.options[proto.default] if proto.HasField("default") else None
    if kind == "Slider":
        return str(widget.value), str(int(proto.default[0]) if proto.data_type == proto.INT else proto.default[0])
    if kind == "NumberInput":
        as_text = (lambda x: str(int(x))) if proto.data_type == proto.INT else str
        return as_text(widget.value), as_text(proto.default) if proto.HasField("default") else None
    if kind == "Toggle":
        return str(widget.value).lower(), str(proto.default).lower()
    if kind == "Multiselect":
        return [widget.options[i] for i in widget.indices], [widget.options[i] for i in proto.default]
    if kind == "ButtonGroup":
        labels = [option.content for option in proto.options]
        return [labels[i] for i in widget.indices], [labels[i] for i in proto.default]
    return widget.value, proto.default  # text input, text area


def bound(at: AppTest) -> dict[str, object]:
    """Every bound widget on the page: its query-parameter name and the value the URL would carry
    (also when it equals the default)."""
    widgets = [widget for kind in BOUND_KINDS for widget in at.get(kind) if widget.proto.query_param_key]
    return {widget.proto.query_param_key: _shown(widget)[0] for widget in widgets}


def shared_link(at: AppTest) -> dict[str, object]:
    """The query string of the page's address bar, as a dict: the parameters the server wrote (the
    sidebar's model and sentences, hand-written ones) and every bound widget whose value is not its default."""
    widgets = [widget for kind in BOUND_KINDS for widget in at.get(kind) if widget.proto.query_param_key]
    link = {name: value for name, value in at.query_params.items()
            if name not in {widget.proto.query_param_key for widget in widgets}}
    for widget in widgets:
        value, default = _shown(widget)
        if value != default:
            if isinstance(value, list) and len(value) == 1 and type(widget).__name__ == "ButtonGroup":
                value = value[0]
            link[widget.proto.query_param_key] = value
    return link


def reopen(link: dict[str, object], page: str, timeout: float = 240) -> AppTest:
    """A fresh session (a new browser) opening `page` with the link's query string."""
    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=timeout)
    for name, value in link.items():
        at.query_params[name] = value
    return at.switch_page(page).run()
