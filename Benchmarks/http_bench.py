#!/usr/bin/env python3
"""HTTP benchmark on loopback: write throughput through the API (documents/s) while
building a 100K-document namespace, then query throughput and p50/p99 latency with
wrk, beside the engine's own execution time reported by the server in the same run
(the HTTP overhead is the difference).

    make bench-http            (builds the release binary, runs this script)
    python3 Benchmarks/http_bench.py --bin .build/release/freshet [--docs 100000] [--dims 128]
"""
import argparse
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=300) as resp:
        return json.loads(resp.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/freshet")
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="freshet-http-bench-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([args.bin, "serve", "--port", str(port), "--storage", f"rocksdb://{data_dir}/db", "--log-level", "error"])
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/readyz", timeout=0.5)
                break
            except Exception:
                time.sleep(0.05)
        rng = random.Random(7)
        centers = [[rng.gauss(0, 1) for _ in range(args.dims)] for _ in range(64)]

        def vector():
            c = centers[rng.randrange(64)]
            return [x + rng.gauss(0, 0.3) for x in c]

        bodies = []
        all_vectors = []
        for start in range(0, args.docs, args.batch):
            rows = []
            for i in range(start, min(start + args.batch, args.docs)):
                v = vector()
                all_vectors.append(v)
                packed = base64.b64encode(struct.pack(f"<{args.dims}f", *v)).decode()
                rows.append({"id": i, "vector": packed, "category": f"c{i % 16}", "price": i % 1000})
            bodies.append(json.dumps({"upsert_rows": rows, "distance_metric": "cosine_distance"}).encode())
        total_bytes = sum(len(b) for b in bodies)

        queue = list(enumerate(bodies))
        lock = threading.Lock()

        def writer():
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop()
                post(url + "/v2/namespaces/bench", body)

        started = time.time()
        threads = [threading.Thread(target=writer) for _ in range(args.writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        write_seconds = time.time() - started

        query_vectors = [vector() for _ in range(50)]
        query_bodies = [json.dumps({"rank_by": ["vector", "ANN", q], "top_k": 10}) for q in query_vectors]
        executions = []
        for body in query_bodies[:20]:
            result = post(url + "/v2/namespaces/bench/query", body.encode())
            executions.append(result["performance"]["query_execution_ms"])
        executions.sort()

        lua = os.path.join(data_dir, "query.lua")
        with open(lua, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n')
            for body in query_bodies:
                f.write("  [=[" + body + "]=],\n")
            f.write("}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n")
        out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "-s", lua,
                              url + "/v2/namespaces/bench/query"], capture_output=True, text=True, check=True).stdout

        def latency(pct):
            m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M)
            value, unit = float(m.group(1)), m.group(2)
            return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

        qps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        print(f"Freshet HTTP benchmark — loopback, {args.docs:,} documents × {args.dims}-d, RocksDB (fsync), exhaustive search")
        print(f"writes: {args.docs / write_seconds:,.0f} documents/s ({total_bytes / write_seconds / 1e6:.1f} MB/s of JSON, "
              f"{args.writers} writers, {args.batch}-document batches, base64 vectors)")
        print(f"queries (wrk, {args.connections} connections, {args.duration} s, top_k 10): {qps:,.1f} QPS, "
              f"p50 {latency(50):.2f} ms, p99 {latency(99):.2f} ms" + (f", {errors.group(1)} errors" if errors else ""))
        print(f"engine execution per query (server-reported, median of 20): {executions[len(executions) // 2]} ms; "
              f"HTTP p50 / engine = {latency(50) / max(executions[len(executions) // 2], 0.001):.2f}")
        try:
            import numpy as np
            matrix = np.asarray(all_vectors, dtype=np.float32)
            timings = []
            for q in query_vectors[:20]:
                qv = np.asarray(q, dtype=np.float32)
                t0 = time.perf_counter()
                # The same exact search: cosine distance over every vector, norms computed per query as Freshet does.
                d = 1 - (matrix @ qv) / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(qv))
                np.argpartition(d, 10)[:10]
                timings.append((time.perf_counter() - t0) * 1000)
            timings.sort()
            peer = timings[len(timings) // 2]
            print(f"peer: numpy exhaustive cosine top-10 over the same vectors (single process): {peer:.1f} ms per query; "
                  f"Freshet engine / numpy = {executions[len(executions) // 2] / peer:.2f}")
        except ImportError:
            print("peer: numpy not installed (make bench-http installs it)")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
