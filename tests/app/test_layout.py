"""Every callback id exists in the layout exactly once; ids come from dashboard/ids.py only."""

import subprocess
import sys
import textwrap

import pytest

from dashboard import ids
from dashboard.config import ROOT, Settings


@pytest.fixture(scope="module")
def app(web_app):
    return web_app


def _layout_ids(component, found):
    if isinstance(component, list | tuple):
        for child in component:
            _layout_ids(child, found)
        return found
    cid = getattr(component, "id", None)
    if cid is not None:
        found.append(cid)
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str | int | float):
        _layout_ids(children, found)
    return found


def test_callback_ids_exist_once_in_the_layout(app):
    from dashboard.catalog import configure

    configure(Settings())
    layout_ids = _layout_ids(app.layout(), [])
    assert len(layout_ids) == len(set(layout_ids)), "an id is declared twice"
    declared = {v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)}
    assert set(layout_ids) == declared, "ids.py and the layout disagree"
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    assert len(deps) == len(app.callback_map), "every registered callback is served"
    used, outputs = set(), set()
    for dep in deps:
        for item in [*dep["inputs"], *dep["state"]]:
            used.add(item["id"])
        if dep.get("no_output"):  # a browser-side effect only (its "output" is a hash)
            continue
        for output in dep["output"].strip(".").split("..."):
            used.add(output.split(".")[0])
            outputs.add(output.split(".")[0])
    graphs = {v for k, v in vars(ids).items() if k.endswith("_GRAPH")}
    assert graphs <= outputs, f"graphs no callback draws: {graphs - outputs}"
    assert used <= set(layout_ids), (
        f"callbacks use ids missing from the layout: {used - set(layout_ids)}"
    )
    assert app.config.suppress_callback_exceptions is False


def test_health_endpoint(app):
    body = app.server.test_client().get("/healthz").get_json()
    assert body["ok"] is True and "minilm" in body["models"]


def test_importing_app_loads_no_heavy_library(tmp_path):
    code = textwrap.dedent(
        """
        import sys, time
        started = time.perf_counter()
        import app
        heavy = sorted(m for m in ("torch", "transformers", "umap", "numba", "openTSNE", "sklearn")
                       if m in sys.modules)
        print(repr(heavy))
        from dashboard import dask_pool
        dask_pool.stop_local_cluster()
        """
    )
    env = {"QKATLAS_CACHE_DIR": str(tmp_path), "QKATLAS_WARM_UMAP": "0", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_new_app_holds_every_callback_before_its_first_visitor(tmp_path):
    # Dash took the callbacks in on the first request it served, after marking itself set up:
    # the other requests of that first moment (a new gunicorn worker's threads) found no callback
    # and answered 500 (bench/load, after a gunicorn reload). A fresh process, as a new worker.
    code = textwrap.dedent(
        """
        import app
        deps = app.app._callback_list
        print(len(app.app.callback_map), len(deps))
        """
    )
    env = {"QKATLAS_CACHE_DIR": str(tmp_path), "QKATLAS_WARM_UMAP": "0", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    held, declared = map(int, out.stdout.split())
    assert held > 0 and held == declared
