"""nginx in front of several app servers, configured by deploy/nginx.conf: the file the README gives
operators, with its ports and paths swapped for ours. Used by bench/classroom.py --replicas and by
tests/test_deploy.py (which checks that file's sticky sessions against real nginx)."""
from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str | None:
    """nginx on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def nginx_config(listen_port: int, replica_ports: list[int], scratch: Path) -> str:
    """A whole nginx.conf (foreground, files under scratch) whose http block is deploy/nginx.conf,
    listening on 127.0.0.1:listen_port, with one upstream server per replica port."""
    config = NGINX_CONF.read_text()
    config = re.sub(r'(?m)^\s*(server 127\.0\.0\.1|"127\.0\.0\.1):\d+.*\n', "", config)  # the example replicas
    upstream = "".join(f"    server 127.0.0.1:{port};\n" for port in replica_ports)
    pinned = "".join(f'    "127.0.0.1:{port}" 127.0.0.1:{port};\n' for port in replica_ports)
    config = config.replace("    keepalive", upstream + "    keepalive", 1)
    config = re.sub(r"(?m)^(\s*default\s+bert_explorer;.*\n)", lambda m: m.group(1) + pinned, config, count=1)
    config = config.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    config = config.replace("/var/cache/nginx/bert_explorer", f"{scratch}/cache")
    temporary = "".join(f" {kind}_temp_path {scratch}/{kind};\n" for kind in TEMP_PATHS)
    return (f"pid {scratch}/nginx.pid;\nerror_log {scratch}/error.log;\nworker_processes 1;\n"
            f"events {{ worker_connections 1024; }}\nhttp {{\n access_log off;\n{temporary}{config}\n}}\n")


@contextlib.contextmanager
def nginx(listen_port: int, replica_ports: list[int], timeout: float = 10.0) -> Iterator[str]:
    """Run nginx with nginx_config in the foreground; yields its base URL once it accepts connections."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is missing: .ci/run installs Debian's nginx (apt-get install -y nginx)")
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch).chmod(0o755)  # started as root, nginx's workers run as nobody and write its cache here
        conf = Path(scratch) / "nginx.conf"
        conf.write_text(nginx_config(listen_port, replica_ports, Path(scratch)))
        proxy = subprocess.Popen([binary, "-p", scratch, "-c", str(conf), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + timeout
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", listen_port), timeout=1):
                    break
                if proxy.poll() is not None or time.monotonic() > deadline:
                    proxy.kill()
                    raise RuntimeError(f"nginx did not start: {proxy.stderr.read().decode(errors='replace')[-1000:]}")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{listen_port}"
        finally:
            proxy.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proxy.wait(timeout=10)
            if proxy.poll() is None:
                proxy.kill()
