"""Memory stays bounded on a server that many visitors use: every cache is bounded, and under a loop
of distinct sentences through the pages each cache holds at most its bound."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from streamlit.runtime.caching import cache_data_api, cache_resource_api
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
# Caches without max_entries hold one value each: their functions take no argument that varies.
SINGLETONS = {"server_access", "process_settings", "get_parser", "server_queue", "page_queue"}


def cached_functions() -> dict[str, int | None]:
    """Every st.cache_data / st.cache_resource function in app/ and components/: name -> max_entries."""
    found = {}
    for path in [*ROOT.glob("app/**/*.py"), *ROOT.glob("components/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) in ("st.cache_data", "st.cache_resource"):
                    keywords = {k.arg: k.value for k in getattr(decorator, "keywords", [])}
                    bound = keywords.get("max_entries")
                    found[node.name] = ast.literal_eval(bound) if bound is not None else None
    return found


def entries_per_cache() -> Counter:
    """How many values each cached function holds now, from Streamlit's cache statistics read per cache
    (the registry's get_stats() sums a function's values into one figure)."""
    counts = Counter()
    for registry in (cache_data_api._data_caches, cache_resource_api._resource_caches):
        with registry._caches_lock:
            caches = [cache for per_function in registry._function_caches.values() for cache in
                      (per_function.values() if isinstance(per_function, dict) else [per_function])]
        for cache in caches:
            for family in cache.get_stats().values():
                for stat in family:
                    # cache_data: one stat per value; cache_resource: one stat whose "byte length" is the
                    # number of values (unless server.enableExpensiveMemoryStats is on, which tests leave off)
                    resource = stat.category_name == "st_cache_resource"
                    counts[stat.cache_name.rsplit(".", 1)[-1]] += stat.byte_length if resource else 1
    return counts


def test_every_cache_is_bounded_or_holds_one_value():
    functions = cached_functions()
    assert len(functions) >= 10
    unbounded = {name for name, bound in functions.items() if bound is None}
    assert unbounded <= SINGLETONS, f"caches without max_entries: {sorted(unbounded - SINGLETONS)}"


def test_caches_stay_within_their_bounds_under_a_loop_of_distinct_sentences():
    bounds = cached_functions()
    # Each page gets two more distinct sentences than the bound of the cache it fills, so each must evict.
    runs = {"app/pages/attention.py": "attention_run", "app/pages/inside_head.py": "layer_internals",
            "app/pages/head_overview.py": "head_overview"}
    most = Counter()
    for page, cache in runs.items():
        for number in range(bounds[cache] + 2):
            at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=180)
            at.query_params["a"] = f"Visitor {number} of {cache} reads sentence number {number}."
            at.switch_page(page).run()
            assert not at.exception, [e.value for e in at.exception]
            for name, count in entries_per_cache().items():
                most[name] = max(most[name], count)
    for cache in runs.values():
        assert most[cache] == bounds[cache], f"{cache}: at most {most[cache]} values, bound {bounds[cache]}"
    for name, count in most.items():
        if name in bounds:
            assert count <= (bounds[name] or 1), f"{name} held {count} values, bound {bounds[name]}"
