"""Classroom load: N students at once on one server, each with their own sentence.

Each simulated student is a websocket client speaking Streamlit's browser protocol (protobuf
BackMsg/ForwardMsg at /_stcore/stream, as the frontend does): it opens Attention views with its
own sentence in the link (`?a=`), then Tokens and embeddings, then Head overview, as a student
clicking through the sidebar would. All N start together; a round is N new sessions with N new
sentences (no cache hit). Measured per configuration:

- head view: seconds from the request to the head view's iframe arriving (p50, p95, max); the
  browser draws it a few ms later (`--browsers K` adds K headless Chromium tabs, timed until the
  head view's SVG shows the tokens);
- pages: seconds for each whole page run; errors: exceptions shown in a page, timeouts, drops;
- CPU-seconds of the server process per session (its three page runs), and per page with N = 1;
- the health endpoint (/_stcore/health) sampled every 0.2 s during the load: p95 and max wait;
- the server's resident memory (RSS) after each round;
- with `--long-job`, every configuration again while another session runs a long job (Sentence
  embeddings on --long-job-sentences new sentences, through the server's job queue).

    python bench/classroom.py [--sessions 1 5 10 20 30] [--rounds 10] [--port 8571] [--long-job] [--browsers 0]
    python bench/classroom.py --url http://127.0.0.1:8501 --pid PID   # a server already running

Loopback only; every wait is bounded (--timeout per page); prints one JSON line, progress on stderr.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import websockets  # noqa: E402  (a dependency of Streamlit)
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from bench.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from bench.proxy import nginx, nginx_binary  # noqa: E402

PAGES = ("attention", "tokens", "head_overview")  # url paths, in the order a student visits them
LONG_JOB_SENTENCES = 1_000  # the most the Sentence embeddings page takes (app/inputs.MAX_SENTENCES)
SUBJECTS = ("cat", "teacher", "river", "engine", "painter", "robot", "farmer", "pilot", "child", "doctor")
VERBS = ("watched", "followed", "painted", "described", "visited", "remembered", "answered", "carried")
OBJECTS = ("bridge", "garden", "letter", "storm", "market", "library", "mountain", "window", "song", "castle")


def sentence(round_: int, session: int) -> str:
    """A sentence no other session of the benchmark uses, so every run misses the cache."""
    return (f"In lesson {round_ + 1} the {SUBJECTS[session % 10]} number {session + 1} "
            f"{VERBS[(session + round_) % 8]} the old {OBJECTS[(session // 10 + round_) % 10]} near the station.")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)


def summary(values: list[float]) -> dict:
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "max": percentile(values, 1.0)}


class Server:
    """CPU-seconds and resident memory of the server's processes (one per replica), summed, from /proc (Linux)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def cpu_s(self) -> float | None:
        if not self.pids:
            return None
        total = 0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float | None:
        if not self.pids:
            return None
        total = 0
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return round(total / 1024, 1)


def child_pids(name: str) -> list[int]:
    """The processes this one started whose command line mentions `name` (the streamlit servers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == os.getpid() and name in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
    return sorted(found)


@contextlib.contextmanager
def replicas_behind_nginx(port: int, count: int):
    """`count` streamlit servers on the ports after `port`, behind nginx on `port` (bench/proxy.py)."""
    if nginx_binary() is None:
        raise SystemExit("classroom: --replicas needs nginx (Debian: apt-get install -y nginx)")
    ports = [port + 1 + i for i in range(count)]
    with contextlib.ExitStack() as stack:
        for replica_port in ports:  # one after the other: each loads its model as it starts
            stack.enter_context(streamlit_server(replica_port))
        yield stack.enter_context(nginx(port, ports))


class HealthProbe:
    """GET /_stcore/health every `every_s` seconds on its own thread; keeps each answer's wait."""

    def __init__(self, host: str, port: int, every_s: float = 0.2) -> None:
        self.host, self.port, self.every_s = host, port, every_s
        self.waits: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
                connection.request("GET", "/_stcore/health")
                ok = connection.getresponse().read() == b"ok"
                connection.close()
            except OSError:
                ok = False
            if ok:
                self.waits.append(time.perf_counter() - start)
            else:
                self.failures += 1
            self._stop.wait(self.every_s)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=35)


class Student:
    """One browser session, spoken to over Streamlit's websocket."""

    def __init__(self, ws_url: str, text: str, timeout: float) -> None:
        self.ws_url, self.query, self.timeout = ws_url, urlencode({"a": text}), timeout
        self.page_hashes: dict[str, str] = {}
        self.widgets: dict[str, tuple[str, str]] = {}  # label -> (widget id, element kind) of the last run
        self.ws = None

    async def __aenter__(self) -> Student:
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=self.timeout)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def open(self, page: str, widget_states=()) -> dict:
        """Run `page` (its url path); seconds to the head view's iframe (if any) and to the run's end, and the
        exceptions the page showed."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string, state.page_name = self.query, page
        state.page_script_hash = self.page_hashes.get(page, "")
        for widget in widget_states:
            state.widget_states.widgets.append(widget)
        start = time.perf_counter()
        await self.ws.send(message.SerializeToString())
        result = {"head_view_s": None, "run_s": None, "exceptions": []}
        self.widgets = {}
        async with asyncio.timeout(self.timeout):
            while True:
                forward = ForwardMsg()
                forward.ParseFromString(await self.ws.recv())
                kind = forward.WhichOneof("type")
                if kind == "navigation":
                    self.page_hashes = {p.url_pathname: p.page_script_hash for p in forward.navigation.app_pages}
                elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                    self._element(forward.delta.new_element, result, start)
                elif kind == "script_finished":
                    result["run_s"] = time.perf_counter() - start
                    return result

    def _element(self, element, result: dict, start: float) -> None:
        kind = element.WhichOneof("type")
        if kind == "iframe" and result["head_view_s"] is None and "<title>Head view" in element.iframe.srcdoc:
            result["head_view_s"] = time.perf_counter() - start
        elif kind == "exception":
            result["exceptions"].append(element.exception.message[:200])
        elif kind in ("text_area", "button"):
            widget = getattr(element, kind)
            self.widgets[widget.label] = (widget.id, kind)


async def student_visit(ws_url: str, text: str, timeout: float, pages=PAGES, server: Server | None = None) -> dict:
    """Attention views, then the two other pages; with `server`, the CPU-seconds of each page and of the
    whole visit (connecting and leaving included) too."""
    visit = {"head_view_s": None, "pages_s": {}, "errors": [], "cpu_s": {}}
    start_cpu = server.cpu_s() if server else None
    try:
        async with Student(ws_url, text, timeout) as student:
            for page in pages:
                before = server.cpu_s() if server else None
                result = await student.open(page)
                if server:
                    visit["cpu_s"][page] = round(server.cpu_s() - before, 3)
                visit["pages_s"][page] = result["run_s"]
                visit["errors"] += [f"{page}: {message}" for message in result["exceptions"]]
                if page == "attention":
                    visit["head_view_s"] = result["head_view_s"]
                    if result["head_view_s"] is None:
                        visit["errors"].append("attention: no head view")
    except (TimeoutError, OSError, websockets.WebSocketException) as err:
        visit["errors"].append(f"{type(err).__name__}: {err}"[:200])
    if server:
        await asyncio.sleep(0.5)  # the server closes the session after the socket
        visit["cpu_s"]["visit"] = round(server.cpu_s() - start_cpu, 3)
    return visit


async def long_job(ws_url: str, round_: int, size: int, timeout: float) -> dict:
    """Sentence embeddings on `size` new sentences (typed into the page's form, submitted)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    text = "\n".join(sentence(1000 + round_, n) for n in range(size))
    start = time.perf_counter()
    try:
        async with Student(ws_url, sentence(1000 + round_, 0), timeout) as student:
            await student.open("sentence_embeddings")
            (area_id, _), (button_id, _) = student.widgets["One sentence per line"], student.widgets["Embed"]
            typed, submit = WidgetState(id=area_id, string_value=text), WidgetState(id=button_id, trigger_value=True)
            result = await student.open("sentence_embeddings", [typed, submit])
            return {"s": round(time.perf_counter() - start, 1), "errors": result["exceptions"]}
    except (KeyError, TimeoutError, OSError, websockets.WebSocketException) as err:
        return {"s": round(time.perf_counter() - start, 1), "errors": [f"{type(err).__name__}: {err}"[:200]]}


async def browser_visits(base_url: str, texts: list[str], timeout: float) -> list[float | None]:
    """Seconds from opening Attention views in a fresh browser context until the head view shows its tokens."""
    from playwright.async_api import async_playwright

    drawn = """() => { const frame = document.querySelector('iframe[title^="Head view"]');
                       const doc = frame && frame.contentDocument;
                       return !!doc && doc.querySelectorAll('#vis svg text').length > 0; }"""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        async def one(text: str) -> float | None:
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            page = await context.new_page()
            start = time.perf_counter()
            try:
                await page.goto(f"{base_url}/attention?{urlencode({'a': text})}", wait_until="domcontentloaded")
                await page.wait_for_function(drawn, polling=20, timeout=timeout * 1000)
                return time.perf_counter() - start
            except Exception:  # noqa: BLE001  (Playwright's timeout and navigation errors: counted, not raised)
                return None
            finally:
                await context.close()

        times = await asyncio.gather(*(one(text) for text in texts))
        await browser.close()
    return list(times)


async def one_round(ws_url: str, base_url: str, sessions: int, round_: int, args, with_long_job: bool) -> dict:
    texts = [sentence(round_, n) for n in range(sessions)]
    tasks = [student_visit(ws_url, text, args.timeout, args.pages) for text in texts]
    if args.browsers:
        tasks.append(browser_visits(base_url, [sentence(round_, 500 + n) for n in range(args.browsers)], args.timeout))
    if with_long_job:
        job = asyncio.ensure_future(long_job(ws_url, round_, args.long_job_sentences, args.timeout * 4))
        await asyncio.sleep(1.0)  # let it start and take the queue before the students arrive
    results = await asyncio.gather(*tasks)
    out = {"visits": results[:sessions], "browser_s": results[sessions] if args.browsers else []}
    if with_long_job:
        out["long_job"] = await job
    return out


def run_configuration(ws_url: str, base_url: str, server: Server, health: tuple[str, int], sessions: int, args,
                      with_long_job: bool) -> dict:
    head, pages, browser, errors, rounds = [], {p: [] for p in args.pages}, [], [], []
    with HealthProbe(*health) as probe:
        for round_ in range(args.rounds):
            seed = round_ + 100 * sessions + (50 if with_long_job else 0)  # distinct sentences in every configuration
            cpu_before = server.cpu_s()
            started = time.perf_counter()
            result = asyncio.run(one_round(ws_url, base_url, sessions, seed, args, with_long_job))
            cpu = server.cpu_s()
            visits = result["visits"]
            round_head = [v["head_view_s"] for v in visits if v["head_view_s"] is not None]
            head += round_head
            for visit in visits:
                errors += visit["errors"]
                for page, seconds in visit["pages_s"].items():
                    if seconds is not None:
                        pages[page].append(seconds)
            browser += result["browser_s"]
            entry = {"round": round_ + 1, "wall_s": round(time.perf_counter() - started, 2),
                     "head_view_p95_s": percentile(round_head, 0.95), "errors": sum(len(v["errors"]) for v in visits),
                     "cpu_s_per_session": round((cpu - cpu_before) / sessions, 3) if cpu is not None else None,
                     "rss_mb": server.rss_mb()}
            if "long_job" in result:
                entry["long_job"] = result["long_job"]
                errors += result["long_job"]["errors"]
            rounds.append(entry)
            print(f"classroom: N={sessions}{' +long job' if with_long_job else ''} round {round_ + 1}/{args.rounds}: "
                  f"{json.dumps(entry)}", file=sys.stderr, flush=True)
    cpu_per_session = [r["cpu_s_per_session"] for r in rounds if r["cpu_s_per_session"] is not None]
    return {"sessions": sessions, "long_job": with_long_job, "head_view_s": summary(head),
            "pages_s": {page: summary(values) for page, values in pages.items()},
            "browser_head_view_s": summary([b for b in browser if b is not None]),
            "browser_failures": sum(b is None for b in browser),
            "errors": len(errors), "error_examples": sorted(set(errors))[:5],
            "cpu_s_per_session": round(statistics.median(cpu_per_session), 3) if cpu_per_session else None,
            "health_s": {"p95": percentile(probe.waits, 0.95), "max": percentile(probe.waits, 1.0),
                         "samples": len(probe.waits), "failures": probe.failures},
            "rss_mb_per_round": [r["rss_mb"] for r in rounds], "rounds": rounds}


def goals(configurations: list[dict]) -> dict:
    """The issue's goals, where this run measured what they need."""
    plain = {c["sessions"]: c for c in configurations if not c["long_job"]}
    out = {}
    if 1 in plain and 20 in plain and plain[1]["head_view_s"]["p50"]:
        ratio = plain[20]["head_view_s"]["p95"] / plain[1]["head_view_s"]["p50"]
        out["n20_p95_over_n1_median"] = {"value": round(ratio, 2), "goal": 10, "met": ratio <= 10}
    health = [c["health_s"]["max"] for c in configurations if c["health_s"]["max"] is not None]
    if health:
        out["health_max_s"] = {"value": max(health), "goal": 1.0, "met": max(health) <= 1.0}
    for c in configurations:
        rss = c["rss_mb_per_round"]
        if len(rss) >= 10 and rss[1] and rss[9]:
            change = rss[9] / rss[1] - 1
            out[f"rss_round10_vs_round2_n{c['sessions']}{'_long_job' if c['long_job'] else ''}"] = {
                "value": round(change, 3), "goal": 0.10, "met": abs(change) <= 0.10}
    return out


def measure(base_url: str, server: Server, args) -> dict:
    parsed = urlparse(base_url)
    ws_url = f"ws://{parsed.hostname}:{parsed.port}/_stcore/stream"
    warm = asyncio.run(student_visit(ws_url, "A warm-up sentence loads the model.", args.timeout))
    if warm["errors"]:
        raise SystemExit(f"classroom: the server does not answer as expected: {warm['errors']}")
    # One student alone, page by page: what each page run costs the server in CPU-seconds.
    alone = [asyncio.run(student_visit(ws_url, sentence(900 + n, 0), args.timeout, args.pages, server))
             for n in range(5)]
    cpu_per_page = {page: statistics.median(v["cpu_s"][page] for v in alone) if server.pids else None
                    for page in (*args.pages, "visit")}
    configurations = []
    for with_long_job in (False, True) if args.long_job else (False,):
        for sessions in args.sessions:
            configurations.append(run_configuration(ws_url, base_url, server, (parsed.hostname, parsed.port),
                                                    sessions, args, with_long_job))
    return {"cpu_s_per_page_alone": cpu_per_page, "configurations": configurations, "goals": goals(configurations)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20, 30], help="N students at once")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES, help="what each student opens")
    parser.add_argument("--port", type=int, default=8571, help="for the server this script starts")
    parser.add_argument("--url", help="measure a server already running there instead (loopback)")
    parser.add_argument("--pid", type=int, nargs="+", default=[],
                        help="with --url: its process ids (one per replica), for CPU and memory")
    parser.add_argument("--replicas", type=int, default=1,
                        help="this many servers, behind nginx (deploy/nginx.conf) on --port, on the ports after it")
    parser.add_argument("--long-job", action="store_true", help="then again while a long job runs")
    parser.add_argument("--long-job-sentences", type=int, default=LONG_JOB_SENTENCES, help="the long job's size")
    parser.add_argument("--browsers", type=int, default=0, help="headless Chromium tabs per round, beside the N")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one page run may take")
    args = parser.parse_args(argv)
    if args.pages[0] != "attention":
        parser.error("--pages starts with attention: the head view is what is timed")
    if (min(args.sessions) < 1 or args.rounds < 1 or args.replicas < 1 or args.browsers < 0 or args.timeout <= 0
            or args.long_job_sentences < 2):
        parser.error("--sessions, --rounds and --replicas take positive numbers, --browsers 0 or more, --timeout > 0, "
                     "--long-job-sentences 2 or more")
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be on this machine (127.0.0.1): the benchmark stays on the loopback")

    if not args.url:
        for port in range(args.port, args.port + (args.replicas + 1 if args.replicas > 1 else 1)):
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is free
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    parser.error(f"port {port} is in use: choose another with --port")
    load_before = os.getloadavg()
    if args.url:
        base_url, server = args.url.rstrip("/"), Server(args.pid)
        results = measure(base_url, server, args)
    else:
        os.environ["STREAMLIT_SERVER_ADDRESS"] = "127.0.0.1"  # the server listens on the loopback only
        serving = (replicas_behind_nginx(args.port, args.replicas) if args.replicas > 1
                   else streamlit_server(args.port))
        with serving as url:
            base_url = url.replace("localhost", "127.0.0.1")
            results = measure(base_url, Server(child_pids("streamlit")), args)
    print(json.dumps({"bench": "classroom", "sessions": args.sessions, "rounds": args.rounds,
                      "browsers": args.browsers, "replicas": args.replicas, "cpus": len(os.sched_getaffinity(0)),
                      "load_average_before": [round(x, 2) for x in load_before],
                      "load_average_after": [round(x, 2) for x in os.getloadavg()],
                      "machine": platform.machine(), **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
