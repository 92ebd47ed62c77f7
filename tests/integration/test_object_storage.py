"""A server on object storage (SeaweedFS, moto, fake-gcs-server, or hybrid over
SeaweedFS) is killed with SIGKILL and its cache directory deleted; a new server on the
same bucket serves every acknowledged write and the same query results."""
import os
import random
import shutil
import time
import uuid

import pytest
import requests

from conftest import Server

SERVICES = os.environ.get("FRESHET_REQUIRE_SERVICES") == "1"


def service(name):
    value = os.environ.get(name)
    if not value:
        if SERVICES:
            pytest.fail(f"{name} is not set although FRESHET_REQUIRE_SERVICES=1; run `make test`")
        pytest.skip(f"{name} is not set: start the services with `python tests/services.py start`")
    return value


def storage_for(kind):
    """(storage URL, extra args, environment) for a fresh prefix on the named store."""
    prefix = f"it-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ)
    bucket = "freshet-test"
    if kind in ("seaweed", "hybrid", "moto"):
        endpoint = service("FRESHET_TEST_S3_SEAWEED_ENDPOINT" if kind != "moto" else "FRESHET_TEST_S3_MOTO_ENDPOINT")
        env["AWS_ACCESS_KEY_ID"] = service("FRESHET_TEST_S3_ACCESS_KEY")
        env["AWS_SECRET_ACCESS_KEY"] = service("FRESHET_TEST_S3_SECRET_KEY")
        url = f"s3://{bucket}/{prefix}"
        if kind == "hybrid":
            url = "hybrid://" + url
        return url, ["--s3-endpoint", endpoint, "--s3-path-style"], env
    env["STORAGE_EMULATOR_HOST"] = service("FRESHET_TEST_GCS_ENDPOINT")
    return f"gs://{bucket}/{prefix}", [], env


def all_rows(url, namespace):
    rows, last = [], None
    while True:
        body = {"rank_by": ["id", "asc"], "top_k": 1000, "include_attributes": ["text", "group"]}
        if last is not None:
            body["filters"] = ["id", "Gt", last]
        response = requests.post(f"{url}/v2/namespaces/{namespace}/query", json=body, timeout=60)
        assert response.status_code == 200, response.text
        page = response.json().get("rows", [])
        if not page:
            return rows
        rows += page
        last = page[-1]["id"]


def wait_indexed(url, namespace, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        meta = requests.get(f"{url}/v1/namespaces/{namespace}/metadata", timeout=10).json()
        if meta.get("index", {}).get("status", "up-to-date") == "up-to-date":
            return
        time.sleep(0.2)
    raise AssertionError(f"{namespace} still indexing after {timeout}s")


WORDS = "river stone salmon delta spring flood bank reed heron willow current estuary".split()


@pytest.mark.parametrize("kind", ["seaweed", "moto", "gcs", "hybrid"])
def test_killed_server_loses_nothing_on_object_storage(tmp_path, kind):
    storage, args, env = storage_for(kind)
    rng = random.Random(7)
    dims = 16
    vectors = {i: [rng.gauss(0, 1) for _ in range(dims)] for i in range(1, 1201)}
    cache = tmp_path / "cache-1"
    first = Server(tmp_path / "node-1", storage=storage, env=env,
                   extra_args=args + ["--cache-dir", str(cache), "--index-min-vectors", "300", "--cache-memory", "16M"]).start(timeout=60)
    acknowledged = {}
    try:
        schema = {"text": {"type": "string", "full_text_search": True}, "group": {"type": "int", "filterable": True}}
        ids = sorted(vectors)
        for start in range(0, len(ids), 150):
            rows = [{"id": i, "vector": vectors[i], "text": " ".join(rng.choice(WORDS) for _ in range(6)), "group": i % 7}
                    for i in ids[start:start + 150]]
            response = requests.post(f"{first.url}/v2/namespaces/river", timeout=60,
                                     json={"upsert_rows": rows, "distance_metric": "euclidean_squared", "schema": schema})
            assert response.status_code == 200, response.text
            for row in rows:
                acknowledged[row["id"]] = row
        deleted = list(range(5, 1201, 97))
        response = requests.post(f"{first.url}/v2/namespaces/river", json={"deletes": deleted}, timeout=60)
        assert response.status_code == 200, response.text
        for i in deleted:
            acknowledged.pop(i)
        wait_indexed(first.url, "river")

        def answers(url):
            out = {}
            for probe in (11, 222, 333, 777, 1111):
                response = requests.post(f"{url}/v2/namespaces/river/query", timeout=60,
                                         json={"rank_by": ["vector", "ANN", vectors[probe]], "top_k": 5})
                assert response.status_code == 200, response.text
                out[f"ann-{probe}"] = response.json()["rows"][0]["id"]
            response = requests.post(f"{url}/v2/namespaces/river/query", timeout=60,
                                     json={"rank_by": ["text", "BM25", "salmon heron"], "top_k": 10,
                                           "filters": ["group", "In", [1, 3]]})
            assert response.status_code == 200, response.text
            assert all("$dist" in row for row in response.json()["rows"]), response.text[:600]
            out["bm25"] = [(row["id"], round(row["$dist"], 4)) for row in response.json()["rows"]]
            response = requests.post(f"{url}/v2/namespaces/river/query", timeout=60,
                                     json={"aggregate_by": {"n": ["Count"]}, "filters": ["group", "Eq", 2]})
            out["count"] = response.json()["aggregations"]["n"]
            return out

        before = answers(first.url)
        for probe in (11, 222, 333, 777, 1111):
            assert before[f"ann-{probe}"] == probe, f"{kind}: a stored vector's nearest neighbour is itself"
        stats = requests.get(f"{first.url}/_debug/cache", timeout=10)
        assert stats.status_code == 200, stats.text
        memory = stats.json()["tiers"][0]
        assert memory["level"] == "memory" and memory["stores"] > 0, f"{kind}: index files should warm the cache: {stats.text}"
    finally:
        first.kill()
    shutil.rmtree(cache)

    second = Server(tmp_path / "node-2", storage=storage, env=env,
                    extra_args=args + ["--cache-dir", str(tmp_path / "cache-2"), "--index-min-vectors", "300"]).start(timeout=60)
    try:
        rows = all_rows(second.url, "river")
        present = {row["id"]: row for row in rows}
        missing = set(acknowledged) - set(present)
        assert not missing, f"{kind}: acknowledged ids lost: {sorted(missing)[:20]}"
        assert not set(present) - set(acknowledged), f"{kind}: deleted ids came back"
        for i, row in acknowledged.items():
            assert present[i]["text"] == row["text"] and present[i]["group"] == row["group"], f"{kind}: id {i} changed"
        wait_indexed(second.url, "river")
        assert answers(second.url) == before, f"{kind}: query results differ after the restart"
        stats = requests.get(f"{second.url}/_debug/cache", timeout=10).json()
        levels = [tier["level"] for tier in stats["tiers"]]
        assert levels[:2] == ["memory", "disk"], f"{kind}: cache levels {levels}"
        assert all(0.0 <= tier["hit_rate"] <= 1.0 for tier in stats["tiers"]), stats
    finally:
        second.kill()


def test_storage_routes_place_namespaces_and_merge_the_catalog(tmp_path):
    """A config-file router: `eu-*` namespaces on GCS, the rest on SeaweedFS; each
    namespace's objects land in its store, and listing namespaces merges both."""
    import json

    import boto3
    import botocore.config

    seaweed = service("FRESHET_TEST_S3_SEAWEED_ENDPOINT")
    gcs = service("FRESHET_TEST_GCS_ENDPOINT")
    prefix = f"routes-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, AWS_ACCESS_KEY_ID=service("FRESHET_TEST_S3_ACCESS_KEY"),
               AWS_SECRET_ACCESS_KEY=service("FRESHET_TEST_S3_SECRET_KEY"), STORAGE_EMULATOR_HOST=gcs)
    config = tmp_path / "freshet.json"
    config.write_text(json.dumps({
        "storage_routes": {
            "backends": {"s3": f"s3://freshet-test/{prefix}", "gcs": f"gs://freshet-test/{prefix}"},
            "routes": [{"namespace": "eu-*", "backends": ["gcs", "s3"]}],
            "default": ["s3"],
        },
        "s3_endpoint": seaweed, "s3_path_style": True,
    }))
    server = Server(tmp_path / "node", env=env, extra_args=["--config", str(config)]).start(timeout=60)
    try:
        for namespace in ("eu-docs", "us-docs"):
            response = requests.post(f"{server.url}/v2/namespaces/{namespace}", timeout=30,
                                     json={"upsert_rows": [{"id": 1, "vector": [1.0, 2.0], "name": namespace}]})
            assert response.status_code == 200, response.text
        listed = requests.get(f"{server.url}/v1/namespaces", timeout=30).json()
        assert [n["id"] for n in listed["namespaces"]] == ["eu-docs", "us-docs"], listed
        for namespace in ("eu-docs", "us-docs"):
            rows = requests.post(f"{server.url}/v2/namespaces/{namespace}/query", timeout=30,
                                 json={"top_k": 5, "include_attributes": ["name"]}).json()["rows"]
            assert rows == [{"id": 1, "name": namespace}], rows
    finally:
        server.kill()
    s3 = boto3.client("s3", endpoint_url=seaweed, region_name="us-east-1",
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                      config=botocore.config.Config(s3={"addressing_style": "path"}))
    in_s3 = [o["Key"] for o in s3.list_objects_v2(Bucket="freshet-test", Prefix=prefix + "/").get("Contents", [])]
    in_gcs = [o["name"] for o in requests.get(f"{gcs}/storage/v1/b/freshet-test/o", params={"prefix": prefix + "/"},
                                               timeout=10).json().get("items", [])]
    assert any("/namespaces/us-docs/" in key for key in in_s3) and not any("eu-docs" in key for key in in_s3), in_s3
    assert any("/namespaces/eu-docs/" in key for key in in_gcs) and not any("us-docs" in key for key in in_gcs), in_gcs
