"""deploy/nginx.conf, the proxy the README gives operators for several replicas, run in real nginx
in front of two stand-in replicas: every request of one browser (page, websocket, upload) reaches
the same replica, and new browsers spread over both."""
from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.cookies import SimpleCookie

import pytest
from websockets.sync.client import connect
from websockets.sync.server import serve

from bench.proxy import nginx, nginx_binary

PROXY_PORT, REPLICA_PORTS = 8591, [8592, 8593]


def replica(name: str, port: int):
    """A server that answers both plain requests and websockets with its name."""
    def answer_plain(connection, request):
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return connection.respond(200, name)
        return None

    def answer_socket(websocket):
        for _ in websocket:
            websocket.send(name)

    server = serve(answer_socket, "127.0.0.1", port, process_request=answer_plain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def proxy():
    if nginx_binary() is None:
        pytest.fail("nginx is missing: .ci/run installs Debian's nginx (apt-get install -y nginx)")
    servers = [replica(f"replica-{i}", port) for i, port in enumerate(REPLICA_PORTS)]
    try:
        with nginx(PROXY_PORT, REPLICA_PORTS):
            yield
    finally:
        for server in servers:
            server.shutdown()


def get(path: str, cookie: str | None = None) -> tuple[str, str | None]:
    """(the replica that answered, the sticky cookie's value the proxy set)."""
    connection = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=10)
    connection.request("GET", path, headers={"Cookie": f"bert_explorer_replica={cookie}"} if cookie else {})
    answer = connection.getresponse()
    body = answer.read().decode()
    cookies = SimpleCookie(answer.getheader("Set-Cookie") or "")
    connection.close()
    assert answer.status == 200, body
    return body, cookies["bert_explorer_replica"].value if "bert_explorer_replica" in cookies else None


def test_one_browser_stays_on_one_replica(proxy):
    first, key = get("/")
    assert key  # the first answer pins the browser
    session_paths = ["/", "/_stcore/upload_file/session/file", "/media/picture.png", "/attention?a=x"]
    later = [get(path, key)[0] for path in session_paths * 5]  # (the frontend's /static/ files may come from any)
    assert set(later) == {first}
    with connect(f"ws://127.0.0.1:{PROXY_PORT}/_stcore/stream",
                 additional_headers={"Cookie": f"bert_explorer_replica={key}"}) as websocket:
        websocket.send("hello")
        assert websocket.recv(timeout=10) == first  # the upgrade passes through, to the same replica


def test_new_browsers_spread_evenly_over_the_replicas(proxy):
    answered = Counter(get("/")[0] for _ in range(40))
    assert answered == {"replica-0": 20, "replica-1": 20}, answered  # in turn, not by chance


def test_a_cookie_that_names_no_replica_is_ignored(proxy):
    for forged in ["127.0.0.1:22", "example.invalid:80", "bert_explorer", ""]:
        name, key = get("/", forged or None)
        assert name in ("replica-0", "replica-1")  # a replica answered, not the forged address
        assert key in [f"127.0.0.1:{port}" for port in REPLICA_PORTS]  # and the browser is pinned anew
