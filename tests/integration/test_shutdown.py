"""SIGTERM during a burst of writes: readiness turns 503 while draining, the process
exits 0, and every acknowledged write is present after restart."""
import threading
import time

import requests

from conftest import Server


def test_sigterm_drains_and_keeps_every_acknowledged_write(tmp_path):
    data = tmp_path / "data"
    server = Server(data, extra_args=["--drain-seconds", "1.5"]).start()
    acked, lock, stop = set(), threading.Lock(), threading.Event()

    def writer(offset):
        session = requests.Session()
        i = offset
        while not stop.is_set():
            try:
                r = session.post(server.url + "/v2/namespaces/drain", json={"upsert_rows": [{"id": i, "v": i}]}, timeout=10)
            except requests.RequestException:
                return
            if r.status_code == 200:
                with lock:
                    acked.add(i)
            i += 1

    threads = [threading.Thread(target=writer, args=(k * 1_000_000,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    server.proc.send_signal(15)
    time.sleep(0.3)
    ready = requests.get(server.url + "/readyz", timeout=2)
    assert ready.status_code == 503 and ready.json()["status"] == "draining"
    assert server.proc.wait(timeout=30) == 0, "a clean drain exits 0"
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acked) > 20

    restarted = Server(data).start()
    rows, last = [], None
    while True:
        body = {"rank_by": ["id", "asc"], "top_k": 10000}
        if last is not None:
            body["filters"] = ["id", "Gt", last]
        page = requests.post(restarted.url + "/v2/namespaces/drain/query", json=body).json()["rows"]
        if not page:
            break
        rows += [r["id"] for r in page]
        last = page[-1]["id"]
    restarted.kill()
    assert acked <= set(rows), f"lost {sorted(acked - set(rows))[:10]}"
