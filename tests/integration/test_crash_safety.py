"""SIGKILL at random moments while a client streams writes: after every restart the
server holds every acknowledged write and nothing that was rejected."""
import random
import threading
import time

import requests

from conftest import Server


def stream_writes(url, start_id, stop, acked, rejected, lock):
    session = requests.Session()
    next_id = start_id
    while not stop.is_set():
        batch = list(range(next_id, next_id + 5))
        next_id += 5
        # Every tenth batch is invalid on purpose (wrong dimension): it must never appear.
        bad = (batch[0] // 5) % 10 == 3
        rows = [{"id": i, "vector": [float(i), 1.0] if not bad else [1.0, 2.0, 3.0], "batch": batch[0]} for i in batch]
        try:
            r = session.post(url + "/v2/namespaces/crash", json={"upsert_rows": rows}, timeout=5)
        except requests.RequestException:
            return  # the server died mid-request: outcome unknown, neither acked nor rejected
        with lock:
            if r.status_code == 200:
                acked.update(batch)
            elif 400 <= r.status_code < 500:
                rejected.update(batch)


def all_ids(url):
    ids, last = [], None
    while True:
        body = {"rank_by": ["id", "asc"], "top_k": 10000}
        if last is not None:
            body["filters"] = ["id", "Gt", last]
        rows = requests.post(url + "/v2/namespaces/crash/query", json=body, timeout=30).json().get("rows", [])
        if not rows:
            return ids
        ids += [row["id"] for row in rows]
        last = rows[-1]["id"]


def test_sigkill_cycles_lose_no_acknowledged_write(tmp_path):
    rng = random.Random(2026)
    data = tmp_path / "data"
    acked, rejected = set(), set()
    lock = threading.Lock()
    next_id = 1
    cycles = 20
    for cycle in range(cycles):
        server = Server(data).start()
        if cycle > 0:
            present = set(all_ids(server.url))
            missing = acked - present
            assert not missing, f"cycle {cycle}: acknowledged ids lost after SIGKILL: {sorted(missing)[:20]}"
            assert not (rejected & present), f"cycle {cycle}: rejected ids present: {sorted(rejected & present)[:20]}"
        stop = threading.Event()
        writers = [threading.Thread(target=stream_writes, args=(server.url, next_id + k * 1_000_000, stop, acked, rejected, lock)) for k in range(3)]
        next_id += 10_000
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.05, 0.6))
        server.kill()
        stop.set()
        for w in writers:
            w.join(timeout=10)
    server = Server(data).start()
    present = set(all_ids(server.url))
    server.kill()
    assert acked, "the test must have acknowledged writes to check"
    assert rejected, "the test must have rejected writes to check"
    assert not (acked - present), f"lost: {sorted(acked - present)[:20]}"
    assert not (rejected & present)
    assert len(acked) > 100
