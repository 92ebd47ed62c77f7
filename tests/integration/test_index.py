"""The SPFresh index behind the API: built once a namespace is large enough, queried
with the unindexed tail, recovered after a crash from its checkpoint and the WAL."""
import random
import time

import requests
from turbopuffer import Turbopuffer


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
    before = [r.id for r in ns.query(rank_by=("vector", "ANN", vectors[100]), top_k=10).rows]
    srv.kill()
    srv.start()
    ns = Turbopuffer(api_key="k", base_url=srv.url).namespace("indexed")
    exact = [r.id for r in ns.query(rank_by=("vector", "kNN", vectors[100]), top_k=10).rows]
    wait_indexed(ns)
    after = [r.id for r in ns.query(rank_by=("vector", "ANN", vectors[100]), top_k=10).rows]
    assert len(set(after) & set(exact)) >= 9 and len(set(before) & set(exact)) >= 9
    assert ns.metadata().approx_row_count == 3000
    res = ns.query(rank_by=("vector", "ANN", vectors[7]), top_k=3)
    assert res.rows[0].id == 9000 and 7 not in [r.id for r in res.rows]
    stats = requests.get(f"{srv.url}/healthz", timeout=5)
    assert stats.status_code == 200
