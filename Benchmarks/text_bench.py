#!/usr/bin/env python3
"""Full-text benchmark: Freshet's BM25 index against tantivy, single threaded, same corpus.

Corpus: at least 200,000 paragraph-sized documents of English text from this machine's
manual pages, Info manuals, change logs, copyright files and Python standard library, with
2,000 queries of 1-3 words from its vocabulary; made once by Benchmarks/text_corpus.py into
bench-data/text-corpus/ (corpus.jsonl: {"id": int, "text": str} per line; queries.txt: one
query per line) and reused while the files exist. `--docs N` indexes the first N documents
and `--queries N` runs the first N queries (subset files are written beside the full ones).

Each system runs in its own process, one after the other, and reports JSON lines:
  {"event":"index","docs":N,"seconds":S,"rss_bytes":R,...}
      seconds: wall time to index the documents already in memory (reading and parsing the
      corpus is not timed); rss_bytes: VmRSS after indexing minus VmRSS before it (after the
      corpus was loaded), i.e. the index's resident memory.
  {"event":"search","queries":Q,"seconds":S,"p50_ms":a,"p99_ms":b,...}
      every query run one at a time on one thread, top 10 by BM25, default OR semantics;
      seconds: wall time of the whole loop (QPS = Q / seconds); p50/p99: per-query latency
      (analysing the query and searching), nearest-rank percentiles.
and writes its top-10 ids to a results file, one JSON line per query in query order:
  {"query": "...", "ids": [id, ...]}    (best first; fewer than 10 when fewer match)
Extra keys are printed and kept as they come.

tantivy (PyPI `tantivy`, the official Python binding) runs as `text_bench.py peer`: schema
`id` (u64: stored, indexed, fast) and `text` (tokenizer "default": simple tokenizer, remove
tokens of 40+ bytes, lower case; no stemming or stop words; positions indexed), an index in
RAM, a writer with num_threads=1 and a heap large enough for one segment (--peer-heap-mb).
Timed: add_document for every document (the tantivy.Document objects are built before the
clock starts), commit, wait_merging_threads and reload. The writer's one indexing thread
does the work while the calling thread feeds it; the process CPU time is reported beside
the wall time (docs_per_cpu_second). Queries: index.parse_query(q, ["text"]) and searcher.search(query, 10,
count=False) (no total count, so tantivy may skip non-competitive documents as Freshet
does), then the ids from the `id` fast field. The same two calls for a word that matches
nothing are timed apart (no_match_p50_ms): the binding's fixed cost per query, which a
native loop does not pay.

Freshet is an external program, FRESHET_TEXT_BIN (default .build/release/freshet-bench-text):
  freshet-bench-text --corpus C.jsonl --queries Q.txt --k 10 --out RESULTS.jsonl [--freshet-args ...]
printing the two events above on stdout and writing RESULTS.jsonl as above.

Reported: docs indexed, index seconds, docs/s, QPS, p50/p99 ms and index RSS per system;
Freshet/tantivy ratios for docs/s and QPS against the targets (both >= 0.5x); and the
agreement of the top 10s: mean |A∩B|/10 over the queries where tantivy found 10 hits, and
mean |A∩B|/min(|A|,|B|) over all queries (1 when both are empty, 0 when only one is).
BM25 scores are not expected to agree exactly: tantivy stores each document's length in
one byte (lossy above ~40 tokens), and ties may be broken differently.
Results: bench-data/results/text-<time>.json.

    make bench-text
    .venv/bin/python Benchmarks/text_bench.py
    .venv/bin/python Benchmarks/text_bench.py --skip-freshet
    .venv/bin/python Benchmarks/text_bench.py --docs 100000 --queries 500 --freshet-bin PATH
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
K = 10
TARGET_RATIO = 0.5
PEER = "tantivy"
PEER_HEAP_MB = 2048
NO_MATCH = "qqzzqqzzqq"  # no document of the corpus contains it

sys.path.insert(0, HERE)
import text_corpus  # noqa: E402  (beside this file)
from bench_common import (emit, fmt_num, freshet_program, log, mib, package_version,  # noqa: E402
                          raw_events_heading, rss_bytes, run_events, table)


def percentile(values, p):
    """Nearest-rank quantile, the definition freshet-bench-text uses."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round((len(ordered) - 1) * p)))]


def read_corpus(path):
    ids, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                doc = json.loads(line)
                ids.append(doc["id"])
                texts.append(doc["text"])
    return ids, texts


def read_queries(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def write_results(path, queries, results):
    with open(path, "w", encoding="utf-8") as f:
        for query, ids in zip(queries, results):
            f.write(json.dumps({"query": query, "ids": ids}, ensure_ascii=False) + "\n")


def read_results(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out.append((row["query"], [int(i) for i in row["ids"]]))
    return out


# ---------------------------------------------------------------------------------------
# tantivy: runs inside its own process (`text_bench.py peer ...`), prints JSON lines.

def run_peer(args):
    import tantivy  # before the baseline, so the library itself is not counted

    ids, texts = read_corpus(args.corpus)
    queries = read_queries(args.queries)
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("text", stored=False, tokenizer_name="default", index_option="position")
    schema = builder.build()
    index = tantivy.Index(schema)  # in RAM
    documents = []
    for i, text in zip(ids, texts):
        doc = tantivy.Document()
        doc.add_unsigned("id", i)
        doc.add_text("text", text)
        documents.append(doc)
    del texts
    heap = args.heap_mb << 20
    before = rss_bytes()

    clock = time.perf_counter
    cpu_start = time.process_time()
    started = clock()
    writer = index.writer(heap_size=heap, num_threads=1)
    for doc in documents:
        writer.add_document(doc)
    added = clock()
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    seconds = clock() - started
    cpu_seconds = time.process_time() - cpu_start
    searcher = index.searcher()
    after = rss_bytes()
    if searcher.num_docs != len(documents):
        log(f"tantivy: {searcher.num_docs:,} documents searchable, {len(documents):,} added")
    emit({"event": "index", "system": PEER, "docs": searcher.num_docs, "seconds": round(seconds, 3),
          "docs_per_second": round(len(documents) / seconds, 1), "rss_bytes": after - before,
          "add_seconds": round(added - started, 3), "commit_seconds": round(seconds - (added - started), 3),
          "cpu_seconds": round(cpu_seconds, 3), "docs_per_cpu_second": round(len(documents) / cpu_seconds, 1),
          "segments": searcher.num_segments, "threads": 1,
          "heap_bytes": heap, "total_rss_bytes": after, "tantivy": package_version("tantivy")})
    del documents

    latencies = []
    results = []
    started = clock()
    for query in queries:
        t0 = clock()
        hits = searcher.search(index.parse_query(query, ["text"]), args.k, count=False).hits
        latencies.append(clock() - t0)
        results.append(searcher.fast_field_values("id", [address for _, address in hits]) if hits else [])
    seconds = clock() - started
    # The binding's fixed cost per query, for reading the figures: the same calls for a
    # word no document contains (not part of the measurement above).
    empty = []
    for _ in range(min(len(queries), 1000)):
        t0 = clock()
        searcher.search(index.parse_query(NO_MATCH, ["text"]), args.k, count=False)
        empty.append(clock() - t0)
    emit({"event": "search", "system": PEER, "queries": len(queries), "seconds": round(seconds, 4),
          "qps": round(len(queries) / seconds, 1), "p50_ms": round(percentile(latencies, 0.5) * 1e3, 4),
          "p99_ms": round(percentile(latencies, 0.99) * 1e3, 4), "k": args.k, "threads": 1,
          "queries_with_k_hits": sum(1 for r in results if len(r) == args.k),
          "no_match_p50_ms": round(percentile(empty, 0.5) * 1e3, 4)})
    if args.out:
        write_results(args.out, queries, results)


# ---------------------------------------------------------------------------------------
# Driver.

def attach_results(run, path):
    """Read the program's per-query results file into the run (None if it wrote none)."""
    run["results"] = None
    if os.path.exists(path):
        try:
            run["results"] = read_results(path)
        except (ValueError, KeyError, TypeError) as error:
            log(f"[{run['system']}] unreadable results file {path}: {error}")
    else:
        log(f"[{run['system']}] wrote no results file ({path})")
    return run


def run_tantivy(args, corpus, queries, work):
    out = os.path.join(work, "tantivy.jsonl")
    cmd = [sys.executable, os.path.abspath(__file__), "peer", "--corpus", corpus, "--queries", queries,
           "--k", str(K), "--out", out, "--heap-mb", str(args.peer_heap_mb)]
    return attach_results(run_events(PEER, cmd), out)


def run_freshet(args, corpus, queries, work):
    binary = freshet_program(args.freshet_bin, "freshet-bench-text", "FRESHET_TEXT_BIN", "tantivy still runs.")
    if binary is None:
        return None
    out = os.path.join(work, "freshet.jsonl")
    cmd = [binary, "--corpus", corpus, "--queries", queries, "--k", str(K), "--out", out]
    if args.freshet_args:
        cmd += args.freshet_args.split()
    try:
        return attach_results(run_events("freshet", cmd), out)
    except OSError as error:
        log(f"*** could not run {binary}: {error}; skipping Freshet")
        return None


def subset_file(path, n, name):
    """The first n non-empty lines of path, as a file beside it (written once); returns
    (path, lines)."""
    with open(path, encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip())
    if n is None or n >= total:
        return path, total
    stem, ext = os.path.splitext(path)
    target = f"{stem}-{n}{ext}"
    if not os.path.exists(target):
        with open(path, encoding="utf-8") as f, open(target + ".part", "w", encoding="utf-8") as out:
            kept = 0
            for line in f:
                if line.strip():
                    out.write(line)
                    kept += 1
                    if kept == n:
                        break
        os.replace(target + ".part", target)
        log(f"{name}: first {n:,} of {total:,} written to {target}")
    return target, n


def overlap(runs):
    """Top-10 agreement of Freshet with tantivy, by query position (the query strings must match)."""
    peer = next((r for r in runs if r["system"] == PEER and r.get("results")), None)
    fr = next((r for r in runs if r["system"] == "freshet" and r.get("results")), None)
    if peer is None or fr is None:
        return None
    a_rows, b_rows = peer["results"], fr["results"]
    if len(a_rows) != len(b_rows):
        log(f"overlap: tantivy answered {len(a_rows):,} queries, Freshet {len(b_rows):,}; comparing the common prefix")
    full, full_n, loose, loose_n, mismatched, hit_count_differs = 0.0, 0, 0.0, 0, 0, 0
    per_query = []
    for (qa, a), (qb, b) in zip(a_rows, b_rows):
        if qa != qb:
            mismatched += 1
            continue
        common = len(set(a[:K]) & set(b[:K]))
        if len(a) == K:
            full += common / K
            full_n += 1
        m = min(len(a), len(b))
        share = common / m if m else (1.0 if not a and not b else 0.0)
        loose += share
        loose_n += 1
        hit_count_differs += len(a) != len(b)
        per_query.append({"query": qa, "tantivy": a, "freshet": b, "common": common})
    if mismatched:
        log(f"overlap: {mismatched:,} result lines name different queries; left out")
    return {"mean_overlap_at_10": full / full_n if full_n else None, "queries_with_10_tantivy_hits": full_n,
            "mean_overlap_min_len": loose / loose_n if loose_n else None, "queries_compared": loose_n,
            "queries_with_different_hit_counts": hit_count_differs, "mismatched_lines": mismatched,
            "exact_top10_matches": sum(1 for q in per_query if q["tantivy"] == q["freshet"]),
            "same_set_top10": sum(1 for q in per_query if set(q["tantivy"]) == set(q["freshet"])),
            "per_query": per_query}


def figures(run):
    """docs/s and QPS of a run, computed from docs, queries and seconds when not printed."""
    index = next((e for e in run["events"] if e.get("event") == "index"), {})
    search = next((e for e in run["events"] if e.get("event") == "search"), {})
    dps = index.get("docs_per_second")
    if not isinstance(dps, (int, float)) and isinstance(index.get("docs"), int) and index.get("seconds"):
        dps = index["docs"] / index["seconds"]
    qps = search.get("qps")
    if not isinstance(qps, (int, float)) and isinstance(search.get("queries"), int) and search.get("seconds"):
        qps = search["queries"] / search["seconds"]
    return index, search, dps, qps


def summarise(corpus_info, runs, agreement):
    out = [f"\n=== full text: {corpus_info['docs']:,} documents ({corpus_info['path']}), {corpus_info['queries']:,} "
           f"queries of 1-3 words, BM25 top-{K}, OR semantics, single threaded, one query per call ==="]
    rows = []
    stats = {}
    for run in runs:
        index, search, dps, qps = figures(run)
        stats[run["system"]] = {"docs_per_second": dps, "qps": qps}
        status = "" if run["exit_code"] == 0 else f" (exit {run['exit_code']})"
        rows.append([run["system"] + status, fmt_num(index.get("docs", "-")), fmt_num(index.get("seconds", "-"), 2),
                     fmt_num(float(dps)) if dps is not None else "-", fmt_num(float(qps)) if qps is not None else "-",
                     fmt_num(search.get("p50_ms", "-"), 3), fmt_num(search.get("p99_ms", "-"), 3),
                     mib(index.get("rss_bytes"))])
    out.append(table(["system", "docs indexed", "index s", "docs/s", "QPS", "p50 ms", "p99 ms", "index RSS"], rows))

    fr, peer = stats.get("freshet"), stats.get(PEER)
    ratios = {}
    if fr is None or peer is None:
        out.append(f"\nratios: n/a ({'Freshet' if fr is None else 'tantivy'} did not run)")
    else:
        out.append(f"\nratios (Freshet / tantivy), target >= {TARGET_RATIO}x:")
        ratio_rows = []
        for key, label in (("docs_per_second", "indexing docs/s"), ("qps", "top-10 BM25 QPS")):
            a, b = fr[key], peer[key]
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
                ratios[key] = a / b
                ratio_rows.append([label, f"{a / b:.2f}x", "met" if a / b >= TARGET_RATIO else "NOT met"])
            else:
                ratio_rows.append([label, "n/a", ""])
        out.append(table(["", "ratio", "target"], ratio_rows))

    if agreement is not None:
        a10 = agreement["mean_overlap_at_10"]
        amin = agreement["mean_overlap_min_len"]
        out.append(f"\ntop-{K} overlap with tantivy: "
                   f"{a10:.4f} mean |A∩B|/{K} over the {agreement['queries_with_10_tantivy_hits']:,} queries where tantivy "
                   f"found {K} hits; " if a10 is not None else f"\ntop-{K} overlap with tantivy: n/a over full top-{K}s; ")
        out[-1] += (f"{amin:.4f} mean |A∩B|/min(|A|,|B|) over all {agreement['queries_compared']:,} queries"
                    if amin is not None else "n/a over all queries")
        out.append(f"  identical top-{K} lists: {agreement['exact_top10_matches']:,}; same sets: "
                   f"{agreement['same_set_top10']:,}; different hit counts: {agreement['queries_with_different_hit_counts']:,}")
    elif len(runs) > 1:
        out.append("\ntop-10 overlap: n/a (a results file is missing)")

    for run in runs:
        out.append(raw_events_heading(run))
        for e in run["events"]:
            out.append(f"{e.get('event', '?')}: " + ", ".join(f"{k}={fmt_num(v, 4)}" for k, v in e.items()
                                                           if k not in ("event", "system")))
    return "\n".join(out), ratios


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "peer":
        p = argparse.ArgumentParser(prog="text_bench.py peer")
        p.add_argument("peer")
        p.add_argument("--corpus", required=True)
        p.add_argument("--queries", required=True)
        p.add_argument("--k", type=int, default=K)
        p.add_argument("--out", default=None)
        p.add_argument("--heap-mb", type=int, default=PEER_HEAP_MB)
        run_peer(p.parse_args())
        return

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=None, help="index the first N documents (default: all)")
    p.add_argument("--queries", type=int, default=None, help="run the first N queries (default: all)")
    p.add_argument("--skip-freshet", action="store_true")
    p.add_argument("--skip-peer", action="store_true", help="do not run tantivy")
    p.add_argument("--freshet-bin", default=None,
                   help="default $FRESHET_TEXT_BIN or .build/release/freshet-bench-text")
    p.add_argument("--freshet-args", default=None, help="extra options for freshet-bench-text, e.g. \"--tokenizer word_v3\"")
    p.add_argument("--peer-heap-mb", type=int, default=PEER_HEAP_MB,
                   help=f"tantivy writer heap, MiB (default {PEER_HEAP_MB:,}: the corpus fits one segment)")
    p.add_argument("--corpus-dir", default=text_corpus.DEFAULT_DIR, help="where text_corpus.py writes the corpus")
    p.add_argument("--prepare-only", action="store_true", help="make the corpus and stop")
    p.add_argument("--out", default=None, help="JSON results file (default bench-data/results/text-<time>.json)")
    args = p.parse_args()
    for name in ("docs", "queries"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            p.error(f"--{name} must be positive")

    files = text_corpus.build(os.path.abspath(args.corpus_dir))
    if args.prepare_only:
        return
    corpus, n_docs = subset_file(files["corpus"], args.docs, "corpus")
    queries, n_queries = subset_file(files["queries"], args.queries, "queries")
    with open(files["manifest"]) as f:
        manifest = json.load(f)

    work = os.path.join(REPO, "bench-data", "text-runs", str(os.getpid()))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    runs = []
    try:
        if not args.skip_peer:
            runs.append(run_tantivy(args, corpus, queries, work))
        if not args.skip_freshet:
            fr = run_freshet(args, corpus, queries, work)
            if fr is not None:
                runs.append(fr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    agreement = overlap(runs)
    corpus_info = {"path": corpus, "docs": n_docs, "queries_path": queries, "queries": n_queries}
    text, ratios = summarise(corpus_info, runs, agreement)
    print(text, flush=True)

    out = args.out or os.path.join(REPO, "bench-data", "results",
                                   f"text-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    for run in runs:
        # Per-query ids live in "overlap"; keep only a count here.
        results = run.pop("results", None)
        run["result_lines"] = len(results) if results is not None else None
    with open(out, "w") as f:
        json.dump({"argv": sys.argv, "corpus": {**corpus_info, "manifest": manifest},
                   "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                               "python": platform.python_version()},
                   "runs": runs, "ratios": ratios, "target_ratio": TARGET_RATIO, "overlap": agreement,
                   "report": text}, f, indent=1)
    log(f"\nresults written to {out}")


if __name__ == "__main__":
    main()
