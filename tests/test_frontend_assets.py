"""app/frontend_assets.py: Streamlit's frontend files answered from memory, byte for byte, gzip when
accepted; everything else passes on to Streamlit untouched."""
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.frontend_assets import FrontendAssets


@pytest.fixture
def site(tmp_path):
    """A static folder shaped like Streamlit's, behind the middleware; the app behind answers 'streamlit'."""
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "media").mkdir()
    script = ("console.log('a chart library');\n" * 2000).encode()
    (tmp_path / "static" / "js" / "chart.AbC123.js").write_bytes(script)
    (tmp_path / "static" / "media" / "font.XyZ.woff2").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "index.html").write_text("<html>the page</html>")
    (tmp_path / "secret.txt").write_text("not served")

    def streamlit(request):
        return PlainTextResponse("streamlit")

    app = Starlette(routes=[Route("/{path:path}", streamlit, methods=["GET", "HEAD", "POST"])],
                    middleware=[Middleware(FrontendAssets, directory=str(tmp_path), base_url="")])
    return TestClient(app), script, tmp_path


def test_a_frontend_file_comes_whole_and_marked_immutable(site):
    client, script, _ = site
    plain = client.get("/static/js/chart.AbC123.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.content == script
    assert plain.headers["content-type"].endswith("javascript; charset=utf-8")
    assert plain.headers["cache-control"] == "public, immutable, max-age=31536000"
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(script)


def test_gzip_when_the_browser_accepts_it_and_the_same_bytes_inside(site):
    client, script, _ = site
    raw = client.get("/static/js/chart.AbC123.js", headers={"Accept-Encoding": "gzip"}, follow_redirects=False)
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.content == script                                   # httpx decodes: the same file
    assert int(raw.headers["content-length"]) < len(script) / 10   # a repetitive file packs small
    again = client.get("/static/js/chart.AbC123.js", headers={"Accept-Encoding": "gzip"})
    assert again.content == script                                 # the cached answer, unchanged


def test_fonts_are_not_compressed_again(site):
    client, _, folder = site
    font = client.get("/static/media/font.XyZ.woff2", headers={"Accept-Encoding": "gzip"})
    assert font.content == (folder / "static" / "media" / "font.XyZ.woff2").read_bytes()
    assert "content-encoding" not in font.headers


@pytest.mark.parametrize("path", ["/", "/index.html", "/static/js/missing.js", "/static/js/../../secret.txt",
                                  "/static/secret.txt", "/_stcore/health", "/attention"])
def test_anything_else_goes_on_to_streamlit(site, path):
    client, _, _ = site
    assert client.get(path).text == "streamlit"


def test_only_reads_are_answered(site):
    client, _, _ = site
    assert client.post("/static/js/chart.AbC123.js").text == "streamlit"
    head = client.head("/static/js/chart.AbC123.js")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_a_base_url_prefix_is_respected(tmp_path):
    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "css" / "index.Q1.css").write_text("body { margin: 0 }")
    app = Starlette(routes=[Route("/{path:path}", lambda request: PlainTextResponse("streamlit"))],
                    middleware=[Middleware(FrontendAssets, directory=str(tmp_path), base_url="/course/")])
    client = TestClient(app)
    assert client.get("/course/static/css/index.Q1.css").text == "body { margin: 0 }"
    assert client.get("/static/css/index.Q1.css").text == "streamlit"   # not under the base path


def test_the_app_server_answers_its_frontend_files_from_memory():
    """streamlit_app.py wires the middleware: a real server's script comes gzip-compressed (Streamlit's
    own static handler never compresses /static/), byte for byte the file in Streamlit's folder."""
    import gzip
    import urllib.request
    from pathlib import Path

    from streamlit import file_util

    from bench.browser import streamlit_server

    script = next((Path(file_util.get_static_dir()) / "static" / "js").glob("index.*.js"))
    with streamlit_server(8543) as url:
        request = urllib.request.Request(f"{url}/static/js/{script.name}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            body, headers = answer.read(), answer.headers
    assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == script.read_bytes()
