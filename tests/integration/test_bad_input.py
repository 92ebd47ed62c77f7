"""Raw HTTP bad input: each gets the right 4xx and a useful message, and the server
keeps serving with its data intact."""
import gzip
import json

import pytest
import requests


def post(server, path, body, **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(server.url + path, data=data, headers={"Content-Type": "application/json", **kwargs.pop("headers", {})}, **kwargs)


@pytest.fixture
def seeded(server):
    r = post(server, "/v2/namespaces/good", {"upsert_rows": [{"id": 1, "vector": [1, 2, 3], "n": 1}]})
    assert r.status_code == 200, r.text
    return server


CASES = [
    ("malformed JSON", "/v2/namespaces/good", b'{"upsert_rows": [', 422, "not valid JSON"),
    ("not an object", "/v2/namespaces/good", b"[1,2]", 422, "must be a JSON object"),
    ("wrong type for rows", "/v2/namespaces/good", {"upsert_rows": {"id": 1}}, 422, "upsert_rows must be an array"),
    ("wrong attribute type", "/v2/namespaces/good", {"upsert_rows": [{"id": 2, "n": "one"}]}, 400, "n has type int"),
    ("wrong dimensions", "/v2/namespaces/good", {"upsert_rows": [{"id": 2, "vector": [1, 2]}]}, 400, "has 2 dimensions"),
    ("duplicate ids", "/v2/namespaces/good", {"upsert_rows": [{"id": 5}, {"id": 5}]}, 400, "appears more than once"),
    ("unknown filter operator", "/v2/namespaces/good/query", {"rank_by": ["id", "asc"], "filters": ["n", "Near", 1]}, 400, "unknown filter operator"),
    ("malformed filter", "/v2/namespaces/good/query", {"rank_by": ["id", "asc"], "filters": ["n"]}, 400, "filter"),
    ("top_k too large", "/v2/namespaces/good/query", {"rank_by": ["id", "asc"], "top_k": 100001}, 400, "top_k must be between"),
    ("top_k wrong type", "/v2/namespaces/good/query", {"rank_by": ["id", "asc"], "top_k": "ten"}, 422, "top_k must be an integer"),
    ("query vector dims", "/v2/namespaces/good/query", {"rank_by": ["vector", "ANN", [1, 2]]}, 400, "dimensions"),
    ("unknown field", "/v2/namespaces/good", {"upsert_rowz": []}, 400, "unknown write field"),
    ("dotdot name", "/v2/namespaces/../query", {"rank_by": ["id", "asc"]}, 404, ""),
    ("dots name", "/v2/namespaces/...", {"upsert_rows": [{"id": 1}]}, 400, "reserved"),
    ("slash name", "/v2/namespaces/a%2Fb", {"upsert_rows": [{"id": 1}]}, 400, "contains"),
    ("long name", "/v2/namespaces/" + "n" * 200, {"upsert_rows": [{"id": 1}]}, 400, "1 to 128"),
    ("missing namespace", "/v2/namespaces/absent/query", {"rank_by": ["id", "asc"]}, 404, "does not exist"),
    ("oversized id", "/v2/namespaces/strings", {"upsert_rows": [{"id": "x" * 65}]}, 400, "64-byte limit"),
]


@pytest.mark.parametrize("label,path,body,status,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input(seeded, label, path, body, status, fragment):
    r = post(seeded, path, body)
    assert r.status_code == status, f"{label}: {r.status_code} {r.text}"
    if status != 404 or fragment:
        payload = r.json()
        assert payload["status"] == "error"
        assert fragment in payload["error"], payload
    assert r.headers.get("x-request-id")
    # The server keeps serving with its data intact.
    q = post(seeded, "/v2/namespaces/good/query", {"rank_by": ["id", "asc"], "include_attributes": True})
    assert q.status_code == 200
    assert q.json()["rows"] == [{"id": 1, "n": 1, "vector": [1.0, 2.0, 3.0]}]


def test_oversized_body_is_413(make_server, tmp_path):
    srv = make_server(extra_args=["--max-body-bytes", "4096"]).start()
    r = post(srv, "/v2/namespaces/big", {"upsert_rows": [{"id": i, "text": "x" * 100} for i in range(100)]})
    assert r.status_code == 413, r.text
    assert "limit" in r.json()["error"]
    ok = post(srv, "/v2/namespaces/big", {"upsert_rows": [{"id": 1}]})
    assert ok.status_code == 200


def test_gzip_request_and_response(seeded):
    body = gzip.compress(json.dumps({"upsert_rows": [{"id": i, "pad": "p" * 50} for i in range(2, 60)]}).encode())
    r = post(seeded, "/v2/namespaces/good", body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    r = requests.post(seeded.url + "/v2/namespaces/good/query", json={"rank_by": ["id", "asc"], "top_k": 100, "include_attributes": True},
                      headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"
    assert len(r.json()["rows"]) == 59
    bad = post(seeded, "/v2/namespaces/good", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    assert bad.status_code == 400


def test_request_id_is_echoed_and_unknown_query_params_ignored(seeded):
    r = requests.post(seeded.url + "/v2/namespaces/good/query?stainless_overload=multiQuery&x=1", json={"rank_by": ["id", "asc"]},
                      headers={"x-request-id": "abc-123"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "abc-123"
    region = requests.post(seeded.url + "/gcp-us-central1/v2/namespaces/good/query", json={"rank_by": ["id", "asc"]})
    assert region.status_code == 200


def test_api_keys_are_enforced(make_server):
    srv = make_server(extra_args=["--api-key", "secret-1"]).start()
    assert requests.get(srv.url + "/healthz").status_code == 200
    r = requests.get(srv.url + "/v1/namespaces")
    assert r.status_code == 401 and "Authorization" in r.json()["error"]
    r = requests.get(srv.url + "/v1/namespaces", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = requests.get(srv.url + "/v1/namespaces", headers={"Authorization": "Bearer secret-1"})
    assert r.status_code == 200
