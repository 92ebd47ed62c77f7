"""Operational endpoints and the command line against a live server."""
import json
import os
import struct
import subprocess

import pytest
import requests
import turbopuffer

from conftest import BIN


def test_copy_and_branch_from_namespace(tpuf):
    src = tpuf.namespace("copy-src")
    src.write(upsert_rows=[{"id": i, "vector": [float(i), 1.0], "k": i} for i in range(10)], distance_metric="euclidean_squared")
    dst = tpuf.namespace("copy-dst")
    dst.write(copy_from_namespace="copy-src")
    rows = dst.query(rank_by=("id", "asc"), top_k=100, include_attributes=True).rows
    assert [r.id for r in rows] == list(range(10)) and rows[3]["k"] == 3
    assert dst.metadata().approx_row_count == 10
    branch = tpuf.namespace("copy-branch")
    branch.write(branch_from_namespace="copy-src")
    branch.write(deletes=[0])
    assert src.metadata().approx_row_count == 10, "a branch must not change its source"
    assert branch.metadata().approx_row_count == 9


def test_explain_recall_warm_and_metadata_patch(tpuf, server):
    ns = tpuf.namespace("ops")
    ns.write(upsert_rows=[{"id": i, "vector": [float(i % 7), float(i % 3), 1.0], "g": i % 2} for i in range(200)], distance_metric="cosine_distance")
    plan = ns.explain_query(rank_by=("vector", "ANN", [1.0, 2.0, 1.0]), top_k=5, filters=("g", "Eq", 1))
    assert "exhaustive scan of 200 vectors" in plan.plan_text and "filter" in plan.plan_text
    recall = ns.recall(num=5, top_k=10, include_ground_truth=True)
    assert recall.avg_recall == 1.0 and recall.avg_exhaustive_count == 10
    assert len(recall.ground_truth) == 5 and len(recall.ground_truth[0].nearest_neighbors) == 10
    warm = ns.hint_cache_warm()
    assert warm.status == "ACCEPTED"
    r = requests.patch(server.url + "/v1/namespaces/ops/metadata", json={"read_only": True, "pinning": {"replicas": 2}})
    assert r.status_code == 200, r.text
    assert r.json()["pinning"]["replicas"] == 2 and r.json()["read_only"] is True
    with pytest.raises(turbopuffer.BadRequestError) as info:
        ns.write(upsert_rows=[{"id": 1000}])
    assert "read-only" in str(info.value)
    requests.patch(server.url + "/v1/namespaces/ops/metadata", json={"read_only": False, "pinning": None}).raise_for_status()
    ns.write(upsert_rows=[{"id": 1000}])
    assert ns.metadata().approx_row_count == 201
    bad = requests.patch(server.url + "/v1/namespaces/ops/metadata", json={"colour": "red"})
    assert bad.status_code == 400 and "unknown metadata field" in bad.json()["error"]


def test_multi_query_rrf(tpuf):
    ns = tpuf.namespace("rrf")
    ns.write(upsert_rows=[{"id": i, "a": i, "b": 10 - i} for i in range(10)])
    res = ns.multi_query(queries=[{"rank_by": ("a", "desc"), "top_k": 3}, {"rank_by": ("b", "asc"), "top_k": 3}], rerank_by=("RRF", {"rank_constant": 60}))
    assert len(res.results) == 1
    assert [r.id for r in res.results[0].rows][:3] == [9, 8, 7]


def test_too_many_concurrent_queries_get_429(make_server):
    srv = make_server(extra_args=["--max-concurrent-queries", "1", "--config", write_config({"max_queued_queries": 0})]).start()
    requests.post(srv.url + "/v2/namespaces/busy", json={"upsert_rows": [{"id": i, "vector": [float(i)] * 64} for i in range(20000)]}).raise_for_status()
    import concurrent.futures
    body = {"rank_by": ["vector", "ANN", [0.5] * 64], "top_k": 10}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: requests.post(srv.url + "/v2/namespaces/busy/query", json=body).status_code, range(24)))
    assert 429 in statuses and 200 in statuses, statuses


CONFIG_DIR = "/tmp"


def write_config(values):
    path = os.path.join(CONFIG_DIR, f"freshet-test-config-{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump(values, f)
    return path


def test_unknown_config_key_is_an_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"prot": 1}))
    out = subprocess.run([BIN, "serve", "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and 'unknown key "prot"' in out.stderr


def test_cli_import_namespaces_and_query(server, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"id": i, "title": f"t{i}"}) for i in range(2500)) + "\n")
    out = subprocess.run([BIN, "import", "--url", server.url, "--namespace", "imp", "--rows", str(rows), "--batch-size", "700"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "imported 2500 rows" in out.stdout
    vectors = tmp_path / "v.npy"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (300, 4), }"
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    with open(vectors, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        for i in range(300):
            f.write(struct.pack("<4f", i, 1, 2, 3))
    attrs = tmp_path / "attrs.jsonl"
    attrs.write_text("\n".join(json.dumps({"n": i}) for i in range(300)) + "\n")
    # Resume: a progress file saying 100 rows are done makes the import send only the rest.
    (tmp_path / "progress").write_text("100")
    out = subprocess.run([BIN, "import", "--url", server.url, "--namespace", "vec", "--vectors", str(vectors), "--attributes", str(attrs),
                          "--progress-file", str(tmp_path / "progress"), "--distance-metric", "euclidean_squared"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "imported 200 rows" in out.stdout and "resuming after 100 rows" in out.stderr
    q = subprocess.run([BIN, "query", "vec", "--url", server.url, "--vector", "150,1,2,3", "--top-k", "1", "--all"], capture_output=True, text=True, timeout=60)
    result = json.loads(q.stdout)
    assert result["rows"][0]["id"] == 150 and result["rows"][0]["n"] == 150
    listed = subprocess.run([BIN, "namespaces", "list", "--url", server.url], capture_output=True, text=True, timeout=60).stdout.split()
    assert listed == ["imp", "vec"]
    meta = json.loads(subprocess.run([BIN, "namespaces", "metadata", "imp", "--url", server.url], capture_output=True, text=True, timeout=60).stdout)
    assert meta["approx_row_count"] == 2500
    subprocess.run([BIN, "namespaces", "delete", "imp", "--url", server.url], check=True, capture_output=True, timeout=60)
    assert requests.get(server.url + "/v1/namespaces").json()["namespaces"] == [{"id": "vec"}]
