"""The SPFresh index behind the API: built once a namespace is large enough, queried
with the unindexed tail, recovered after a crash from its checkpoint and the WAL."""
import random
import subprocess
import time

import pytest
import requests
from turbopuffer import Turbopuffer

from conftest import BIN


def clustered_vectors(rng, count, dims=12, clusters=20):
    centers = [[rng.uniform(-10, 10) for _ in range(dims)] for _ in range(clusters)]
    return [[c + rng.gauss(0, 0.6) for c in centers[rng.randrange(clusters)]] for _ in range(count)]


def wait_indexed(ns, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        index = ns.metadata().index
        if index.status == "up-to-date":
            return
        assert index.status == "updating" and index.unindexed_bytes > 0
        time.sleep(0.05)
    raise AssertionError("the index never caught up")


def test_index_serves_queries_and_survives_a_crash(make_server):
    rng = random.Random(7)
    vectors = clustered_vectors(rng, 3000)
    srv = make_server(extra_args=["--index-min-vectors", "300"]).start()
    tpuf = Turbopuffer(api_key="k", base_url=srv.url)
    ns = tpuf.namespace("indexed")
    for start in range(0, 3000, 500):
        ns.write(upsert_rows=[{"id": i, "vector": vectors[i], "g": i % 10} for i in range(start, start + 500)],
                 distance_metric="euclidean_squared")
    wait_indexed(ns)
    plan = ns.explain_query(rank_by=("vector", "ANN", vectors[5]), top_k=10)
    assert "through the SPFresh index" in plan.plan_text, plan.plan_text
    res = ns.query(rank_by=("vector", "ANN", vectors[42]), top_k=10)
    assert res.rows[0].id == 42
    assert res.performance.exhaustive_search_count < 3000, "an indexed query scans only the unindexed tail"
    recall = ns.recall(num=50, top_k=10)
    assert recall.avg_recall >= 0.9, recall.avg_recall

    # Writes are visible at once, indexed or not; deletes vanish at once.
    ns.write(upsert_rows=[{"id": 9000, "vector": vectors[7], "g": 0}], deletes=[7])
    top = ns.query(rank_by=("vector", "ANN", vectors[7]), top_k=3)
    assert top.rows[0].id == 9000 and 7 not in [r.id for r in top.rows]

    # A crash: SIGKILL, restart on the same directory. The index comes back (from its
    # newest checkpoint plus the WAL after it, or built from the state when compaction
    # has not checkpointed it yet) and answers the same.
    probes = [vectors[i] for i in range(100, 3000, 150)]
    before = [[r.id for r in ns.query(rank_by=("vector", "ANN", q), top_k=10).rows] for q in probes]
    srv.kill()
    srv.start()
    ns = Turbopuffer(api_key="k", base_url=srv.url).namespace("indexed")
    exact = [[r.id for r in ns.query(rank_by=("vector", "kNN", q), top_k=10).rows] for q in probes]
    wait_indexed(ns)
    answers = [ns.query(rank_by=("vector", "ANN", q), top_k=10) for q in probes]
    assert all(a.performance.exhaustive_search_count < 3000 for a in answers), "the restarted index serves the queries"
    after = [[r.id for r in a.rows] for a in answers]
    # Recall over 20 queries, not one: a single query's top 10 among near-tied cluster
    # mates can miss one or two at any setting.
    recall_before = sum(len(set(b) & set(e)) for b, e in zip(before, exact)) / (10 * len(probes))
    recall_after = sum(len(set(a) & set(e)) for a, e in zip(after, exact)) / (10 * len(probes))
    assert recall_before >= 0.9 and recall_after >= 0.9, (recall_before, recall_after)
    assert ns.metadata().approx_row_count == 3000
    res = ns.query(rank_by=("vector", "ANN", vectors[7]), top_k=3)
    assert res.rows[0].id == 9000 and 7 not in [r.id for r in res.rows]
    stats = requests.get(f"{srv.url}/healthz", timeout=5)
    assert stats.status_code == 200


@pytest.mark.parametrize("encoding", ["f16", "i8"])
def test_index_reads_postings_through_the_file_cache(make_server, tmp_path, encoding):
    rng = random.Random(11)
    vectors = clustered_vectors(rng, 3000)
    cache_dir = tmp_path / "posting-files"
    srv = make_server(extra_args=["--index-min-vectors", "300", "--index-file-cache", str(cache_dir),
                                  "--index-file-cache-size", "64M", "--index-posting-encoding", encoding]).start()
    ns = Turbopuffer(api_key="k", base_url=srv.url).namespace("filecached")
    ns.write(upsert_rows=[{"id": i, "vector": v} for i, v in enumerate(vectors)], distance_metric="euclidean_squared")
    wait_indexed(ns)
    segments = [p for p in cache_dir.iterdir() if p.suffix == ".postings"]
    assert segments and sum(p.stat().st_size for p in segments) > 0, "the index wrote its postings to the file cache"
    assert ns.recall(num=40, top_k=10).avg_recall >= 0.9
    res = ns.query(rank_by=("vector", "ANN", vectors[17]), top_k=5)
    assert res.rows[0].id == 17 and res.performance.exhaustive_search_count < 3000
    # A restart clears the cache directory and fills it again as the index reads.
    srv.kill()
    srv.start()
    ns = Turbopuffer(api_key="k", base_url=srv.url).namespace("filecached")
    wait_indexed(ns)
    assert ns.query(rank_by=("vector", "ANN", vectors[17]), top_k=5).rows[0].id == 17
    assert ns.recall(num=40, top_k=10).avg_recall >= 0.9


def test_a_bad_posting_encoding_is_refused(tmp_path):
    out = subprocess.run([BIN, "serve", "--storage", f"rocksdb://{tmp_path / 'data'}", "--index-posting-encoding", "int4"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "int4 is not a posting encoding: give f16, i8 or f32" in out.stderr, out.stderr


def test_a_bad_file_cache_size_is_refused(tmp_path):
    out = subprocess.run([BIN, "serve", "--storage", f"rocksdb://{tmp_path / 'data'}", "--index-file-cache", str(tmp_path / "pf"),
                          "--index-file-cache-size", "12"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "index file cache needs at least 1 MiB" in out.stderr, out.stderr
