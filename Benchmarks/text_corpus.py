#!/usr/bin/env python3
"""Full-text benchmark corpus: paragraph-sized documents of real English text from this machine.

Sources, read in sorted path order (symbolic links skipped):
  man        English manual pages, /usr/share/man/man*/ (the translated trees beside them are
             left out). Roff is stripped crudely: comment and request lines (starting with '.'
             or "'") are dropped, except that the text of font macros (.B, .I, .BR, .IR, ...)
             and of headings (.SH, .SS) is kept; paragraph macros (.PP, .P, .LP, .TP, .IP,
             .SH, .sp, ...) and blank lines end a paragraph; \\f font escapes, \\(xx and \\[xx]
             special characters, \\*x strings and the other escapes are removed or replaced.
             Pages that only redirect (.so) are skipped.
  info       GNU Info manuals, /usr/share/info/*.info*.gz: node headers, menus and underlines
             dropped, paragraphs separated by blank lines.
  changelog  /usr/share/doc/*/changelog*.gz (Debian and upstream change logs): paragraphs
             separated by blank lines, list bullets removed.
  copyright  /usr/share/doc/*/copyright: paragraphs separated by blank lines.
  python     The Python 3.11 standard library, /usr/lib/python3.11 (not site-/dist-packages):
             module, class and function docstrings and blocks of consecutive '#' comments (via
             ast and tokenize), split at blank lines, plus the language-reference topics of
             pydoc_data.topics.

Every paragraph has its whitespace collapsed. A paragraph longer than 200 words is split at
sentence ends into pieces of at most 200 words (a longer sentence is cut every 200 words);
pieces under 10 words are dropped, and so are those that do not read as English prose (under
60% of the words alphabetic, or over 2% non-ASCII characters). Exact repeats (compared in
lower case) are kept once: licence texts and generated boilerplate occur many times.
The documents are then shuffled with a fixed seed and numbered 0..N-1 in that order, so a
prefix (text_bench.py --docs N) mixes all sources.

Queries: 1, 2 or 3 distinct words (equally likely), drawn from the corpus vocabulary as
tantivy's default analyzer sees it (runs of letters and digits, lower-cased): only
alphabetic ASCII words of 3-20 letters whose document frequency is at least 5 (no hapax or
near-hapax words) and at most 5% of the documents (no stop-word-like words), each drawn with
probability proportional to its document frequency (like a word picked from a random
document within that band). A repeated query is drawn again, so single words, which
repeat most, end up a little under a third (585 of 2,000 here).

Outputs, in bench-data/text-corpus/ (not committed; rebuilt by this script):
  corpus.jsonl   one {"id": <int>, "text": "..."} per line, in id order
  queries.txt    one query per line
  manifest.json  counts per source, words, seeds and parameters

The output is a function of the files installed on the machine: the same machine (same
packages) gives byte-identical files.

    .venv/bin/python Benchmarks/text_corpus.py
    .venv/bin/python Benchmarks/text_corpus.py --queries 5000 --force
"""
import argparse
import ast
import collections
import glob
import gzip
import io
import json
import os
import random
import re
import sys
import time
import tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_DIR = os.path.join(REPO, "bench-data", "text-corpus")

MIN_DOCS = 200_000
MIN_WORDS = 10
MAX_WORDS = 200
MIN_ALPHA_SHARE = 0.60
MAX_NON_ASCII_SHARE = 0.02
SHUFFLE_SEED = 20261128
QUERY_SEED = 7
QUERIES = 2_000
QUERY_MIN_DF = 5
QUERY_MAX_DF_SHARE = 0.05
QUERY_WORD_LENGTH = (3, 20)

MAN_ROOT = "/usr/share/man"
INFO_ROOT = "/usr/share/info"
DOC_ROOT = "/usr/share/doc"
PYTHON_ROOT = "/usr/lib/python3.11"
SOURCES = ("man", "info", "changelog", "copyright", "python")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_text(path):
    """A file's text (gunzipped if it ends in .gz), undecodable bytes replaced."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return ""


def regular_files(pattern):
    return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p) and not os.path.islink(p))


def blank_line_paragraphs(lines):
    """Group lines into paragraphs at blank lines."""
    paragraph = []
    for line in lines:
        if line.strip():
            paragraph.append(line)
        elif paragraph:
            yield "\n".join(paragraph)
            paragraph = []
    if paragraph:
        yield "\n".join(paragraph)


# ---------------------------------------------------------------------------------------
# man: crude roff stripping.

ROFF_BREAKS = {"PP", "P", "LP", "TP", "IP", "HP", "SH", "SS", "sp", "br", "RS", "RE", "nf", "fi",
               "TH", "EX", "EE", "TS", "TE", "Sh", "Ss", "Pp", "Bl", "El", "It", "Bd", "Ed", "in",
               "ti", "ne", "bp", "TQ", "SY", "YS", "UR", "UE", "MT", "ME"}
ROFF_TEXT = {"B", "I", "R", "SM", "SB", "BR", "BI", "IB", "IR", "RB", "RI", "SH", "SS"}
ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),     # font changes: \fB \fI \fR \f(CW \f[B]
    (re.compile(r"\\s[+-]?\d"), ""),                 # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),    # predefined strings
    (re.compile(r"\\n(\[[^\]]*\]|\(..|.)"), ""),     # number registers
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\((oq|cq|aq)"), "'"),
    (re.compile(r"\\\((em|en|hy|mi)"), "-"),
    (re.compile(r"\\\(bu"), " "),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),        # other special characters
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\e"), ""),                     # a printed backslash
    (re.compile(r"\\[ ~0]"), " "),                  # unbreakable spaces
    (re.compile(r"\\[&|^/,%:]|\\c$"), ""),           # zero-width escapes
    (re.compile(r"\\[a-zA-Z](\[[^\]]*\]|'[^']*')?"), ""),  # anything else (\h'..', \v'..', \w'..', \X..)
]


def strip_roff(line):
    for pattern, replacement in ROFF_ESCAPES:
        line = pattern.sub(replacement, line)
    return line.replace("\\", "")


def man_paragraphs(path):
    text = read_text(path)
    if text.lstrip().startswith(".so "):
        return
    paragraph = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith((".", "'")):
            parts = line[1:].strip().split(None, 1)
            name = parts[0] if parts else ""
            if name in ROFF_BREAKS and paragraph:
                yield " ".join(paragraph)
                paragraph = []
            if name in ROFF_TEXT and len(parts) == 2:
                words = strip_roff(parts[1].replace('"', ""))
                if name in ("SH", "SS"):  # a heading is a paragraph of its own (usually dropped: too short)
                    yield words
                else:
                    paragraph.append(words)
            continue
        if not line.strip():
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            continue
        paragraph.append(strip_roff(line))
    if paragraph:
        yield " ".join(paragraph)


def source_man():
    for path in regular_files(os.path.join(MAN_ROOT, "man*", "*")):
        yield from man_paragraphs(path)


# ---------------------------------------------------------------------------------------
# info, changelogs, copyright files.

INFO_UNDERLINE = re.compile(r"^\s*([=*\-.])\1{2,}\s*$")


def source_info():
    for path in regular_files(os.path.join(INFO_ROOT, "*.info*")):
        lines = []
        in_menu = False
        for line in read_text(path).splitlines():
            if "\x1f" in line or line.startswith(("File: ", "Tag Table:", "End Tag Table", "INFO-DIR-SECTION",
                                                  "START-INFO-DIR-ENTRY", "END-INFO-DIR-ENTRY")):
                lines.append("")
                in_menu = False
                continue
            if line.startswith("* Menu:"):
                in_menu = True
                lines.append("")
                continue
            if in_menu and (line.startswith("* ") or not line.strip()):
                lines.append("")
                continue
            in_menu = False
            lines.append("" if INFO_UNDERLINE.match(line) else line)
        yield from blank_line_paragraphs(lines)


BULLET = re.compile(r"^\s*([*+\-]|\d+[.)])\s+")
CHANGELOG_HEADER = re.compile(r"^\S+ \([^)]*\) [^;]*; urgency=")
CHANGELOG_TRAILER = re.compile(r"^ -- .*<.*>")


def source_changelog():
    for path in regular_files(os.path.join(DOC_ROOT, "**", "changelog*.gz")):
        lines = []
        for line in read_text(path).splitlines():
            if CHANGELOG_HEADER.match(line) or CHANGELOG_TRAILER.match(line):
                lines.append("")
            else:
                lines.append(BULLET.sub("", line))
        yield from blank_line_paragraphs(lines)


def source_copyright():
    for path in regular_files(os.path.join(DOC_ROOT, "**", "copyright")):
        lines = []
        for line in read_text(path).splitlines():
            # DEP-5 files mark blank lines inside a field with " ."
            lines.append("" if line.strip() == "." else line)
        yield from blank_line_paragraphs(lines)


# ---------------------------------------------------------------------------------------
# python: docstrings and comment blocks of the standard library.

def python_files():
    skip = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
    return [p for p in regular_files(os.path.join(PYTHON_ROOT, "**", "*.py")) if not any(s in p for s in skip)]


def docstring_paragraphs(source):
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield from blank_line_paragraphs(doc.splitlines())


def comment_paragraphs(source):
    block, last_row = [], None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type != tokenize.COMMENT:
                continue
            row = token.start[0]
            text = token.string.lstrip("#").strip()
            if block and (row != last_row + 1 or not text):
                yield " ".join(block)
                block = []
            if text and not text.startswith("!"):
                block.append(text)
            last_row = row
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    if block:
        yield " ".join(block)


def source_python():
    for path in python_files():
        source = read_text(path)
        yield from docstring_paragraphs(source)
        yield from comment_paragraphs(source)
    topics = os.path.join(PYTHON_ROOT, "pydoc_data", "topics.py")
    if os.path.isfile(topics):
        table = {}
        try:  # the file is one assignment, `topics = {name: text, ...}`, of string literals
            for node in ast.parse(read_text(topics)).body:
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "topics":
                    table = ast.literal_eval(node.value)
        except (SyntaxError, ValueError):
            table = {}
        for name in sorted(table):
            yield from blank_line_paragraphs(table[name].splitlines())


EXTRACTORS = {"man": source_man, "info": source_info, "changelog": source_changelog,
              "copyright": source_copyright, "python": source_python}


# ---------------------------------------------------------------------------------------
# Paragraphs to documents.

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
ALPHA_WORD = re.compile(r"^[(\"'`]*[A-Za-z][A-Za-z'\-]*[)\"'`.,;:!?]*$")


def pieces(text):
    """Split a paragraph (whitespace already collapsed) into pieces of at most MAX_WORDS words."""
    words = text.split(" ")
    if len(words) <= MAX_WORDS:
        yield text
        return
    current = []
    for sentence in SENTENCE_END.split(text):
        sw = sentence.split(" ")
        while len(sw) > MAX_WORDS:  # a run-on "sentence": cut it
            if current:
                yield " ".join(current)
                current = []
            yield " ".join(sw[:MAX_WORDS])
            sw = sw[MAX_WORDS:]
        if len(current) + len(sw) > MAX_WORDS:
            yield " ".join(current)
            current = []
        current.extend(sw)
    if current:
        yield " ".join(current)


def reads_as_prose(words, text):
    alpha = sum(1 for w in words if ALPHA_WORD.match(w))
    if alpha < MIN_ALPHA_SHARE * len(words):
        return False
    non_ascii = sum(1 for c in text if ord(c) > 127)
    return non_ascii <= MAX_NON_ASCII_SHARE * len(text)


def collect(sources):
    """Documents from the sources in order, deduplicated; returns (texts, per-source stats)."""
    seen = set()
    texts = []
    stats = {}
    for name in sources:
        started = time.time()
        s = stats[name] = collections.Counter()
        for paragraph in EXTRACTORS[name]():
            s["paragraphs"] += 1
            text = " ".join(paragraph.split())
            if not text:
                continue
            for piece in pieces(text):
                words = piece.split(" ")
                if len(words) < MIN_WORDS:
                    s["too_short"] += 1
                    continue
                if not reads_as_prose(words, piece):
                    s["not_prose"] += 1
                    continue
                key = piece.lower()
                if key in seen:
                    s["repeats"] += 1
                    continue
                seen.add(key)
                texts.append(piece)
                s["documents"] += 1
                s["words"] += len(words)
        log(f"  {name:<9} {s['documents']:>9,} documents {s['words']:>12,} words "
            f"(from {s['paragraphs']:,} paragraphs; dropped {s['too_short']:,} short, {s['not_prose']:,} "
            f"not prose, {s['repeats']:,} repeats; {time.time() - started:.0f} s)")
    return texts, {name: dict(s) for name, s in stats.items()}


# ---------------------------------------------------------------------------------------
# Queries.

TOKEN = re.compile(r"[^\W_]+")  # tantivy's simple tokenizer: runs of alphanumeric characters


def make_queries(texts, n, seed):
    df = collections.Counter()
    for text in texts:
        df.update(set(TOKEN.findall(text.lower())))
    lo, hi = QUERY_WORD_LENGTH
    max_df = int(QUERY_MAX_DF_SHARE * len(texts))
    vocabulary = sorted(w for w, c in df.items()
                        if QUERY_MIN_DF <= c <= max_df and lo <= len(w) <= hi and w.isascii() and w.isalpha())
    if not vocabulary:
        sys.exit("no words in the query band: is the corpus empty?")
    cumulative = []
    total = 0
    for w in vocabulary:
        total += df[w]
        cumulative.append(total)
    rng = random.Random(seed)
    queries, seen = [], set()
    while len(queries) < n:
        size = rng.choice((1, 2, 3))
        words = []
        while len(words) < size:
            w = rng.choices(vocabulary, cum_weights=cumulative)[0]
            if w not in words:
                words.append(w)
        query = " ".join(words)
        if query not in seen:
            seen.add(query)
            queries.append(query)
    info = {"vocabulary_terms": len(df), "query_band_terms": len(vocabulary), "min_df": QUERY_MIN_DF,
            "max_df": max_df, "word_length": [lo, hi], "seed": seed,
            "words_per_query": dict(sorted(collections.Counter(len(q.split()) for q in queries).items()))}
    return queries, info


# ---------------------------------------------------------------------------------------

def write_atomically(path, lines):
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line)
            f.write("\n")
    os.replace(tmp, path)


def paths(folder):
    return {"corpus": os.path.join(folder, "corpus.jsonl"), "queries": os.path.join(folder, "queries.txt"),
            "manifest": os.path.join(folder, "manifest.json")}


def build(folder=DEFAULT_DIR, n_queries=QUERIES, sources=SOURCES, force=False, min_docs=MIN_DOCS):
    """Write corpus.jsonl, queries.txt and manifest.json into folder (unless there already);
    returns the paths."""
    out = paths(folder)
    if not force and all(os.path.exists(p) for p in out.values()):
        log(f"text corpus: cached in {folder}")
        return out
    os.makedirs(folder, exist_ok=True)
    started = time.time()
    log(f"text corpus: reading {', '.join(sources)}")
    texts, stats = collect(sources)
    if len(texts) < min_docs:
        sys.exit(f"only {len(texts):,} documents (need {min_docs:,}): this machine has too little text installed")
    random.Random(SHUFFLE_SEED).shuffle(texts)
    words = sum(len(t.split(" ")) for t in texts)
    write_atomically(out["corpus"], (json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(texts)))
    queries, query_info = make_queries(texts, n_queries, QUERY_SEED)
    write_atomically(out["queries"], queries)
    manifest = {"documents": len(texts), "words": words, "bytes": os.path.getsize(out["corpus"]),
                "words_per_document": {"min": MIN_WORDS, "max": MAX_WORDS, "mean": round(words / len(texts), 1)},
                "shuffle_seed": SHUFFLE_SEED, "sources": stats, "queries": len(queries), "query_sampling": query_info,
                "seconds": round(time.time() - started, 1)}
    with open(out["manifest"] + ".part", "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(out["manifest"] + ".part", out["manifest"])
    log(f"text corpus: {len(texts):,} documents, {words:,} words ({words / len(texts):.1f} per document), "
        f"{manifest['bytes'] / 2**20:,.1f} MiB; {len(queries):,} queries; {time.time() - started:.0f} s -> {folder}")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default=DEFAULT_DIR)
    p.add_argument("--queries", type=int, default=QUERIES, help=f"number of queries (default {QUERIES:,})")
    p.add_argument("--sources", default=",".join(SOURCES), help="comma-separated subset of " + ", ".join(SOURCES))
    p.add_argument("--force", action="store_true", help="rebuild even if the files exist")
    args = p.parse_args()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    for s in sources:
        if s not in SOURCES:
            p.error(f"unknown source {s!r}")
    started = time.time()
    out = build(os.path.abspath(args.out_dir), args.queries, sources, force=args.force)
    with open(out["manifest"]) as f:
        manifest = json.load(f)
    print(f"documents: {manifest['documents']:,}\nwords: {manifest['words']:,}\nqueries: {manifest['queries']:,}\n"
          f"elapsed: {time.time() - started:.1f} s\ncorpus: {out['corpus']}\nqueries file: {out['queries']}")


if __name__ == "__main__":
    main()
