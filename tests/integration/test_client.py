"""The official turbopuffer Python client drives a live freshet server."""
import math
import random

import pytest
import turbopuffer


def ids(rows):
    return [row.id for row in rows]


def test_write_forms_and_vector_query(tpuf):
    ns = tpuf.namespace("client-basic")
    ns.write(
        upsert_rows=[
            {"id": 1, "vector": [1.0, 0.0], "color": "red", "size": 3},
            {"id": 2, "vector": [0.0, 1.0], "color": "blue", "size": 5},
        ],
        distance_metric="euclidean_squared",
    )
    ns.write(upsert_columns={"id": [3, 4], "vector": [[1.0, 1.0], [-1.0, 0.0]], "color": ["red", None], "size": [7, 9]})
    res = ns.query(rank_by=("vector", "ANN", [1.0, 0.1]), top_k=3, include_attributes=["color"])
    assert ids(res.rows) == [1, 3, 2]
    assert math.isclose(res.rows[0]["$dist"], 0.01, rel_tol=1e-5)
    assert res.rows[0]["color"] == "red"
    assert res.performance.exhaustive_search_count == 4
    exact = ns.query(rank_by=("vector", "kNN", [-1.0, 0.0]), top_k=1)
    assert ids(exact.rows) == [4]


def test_filters_order_by_and_pagination(tpuf):
    ns = tpuf.namespace("client-filters")
    ns.write(upsert_rows=[{"id": i, "n": i % 7, "tag": ["even" if i % 2 == 0 else "odd"], "name": f"doc-{i:03d}"} for i in range(1, 51)])
    res = ns.query(rank_by=("n", "desc"), top_k=5, filters=("And", [("n", "Gte", 3), ("tag", "Contains", "even")]), include_attributes=["n"])
    assert all(row["n"] >= 3 for row in res.rows)
    assert [row["n"] for row in res.rows] == sorted([row["n"] for row in res.rows], reverse=True)
    assert ids(ns.query(rank_by=("id", "asc"), top_k=3, filters=("name", "Glob", "doc-00*")).rows) == [1, 2, 3]
    assert ids(ns.query(rank_by=("id", "asc"), top_k=100, filters=("Not", ("n", "NotEq", 0))).rows) == [7, 14, 21, 28, 35, 42, 49]
    # Pagination by id, as the reference recommends.
    seen, last = [], None
    while True:
        filters = ("id", "Gt", last) if last is not None else None
        page = ns.query(rank_by=("id", "asc"), top_k=16, filters=filters) if filters else ns.query(rank_by=("id", "asc"), top_k=16)
        if not page.rows:
            break
        seen += ids(page.rows)
        last = page.rows[-1].id
    assert seen == list(range(1, 51))


def test_patch_delete_and_conditional_writes(tpuf):
    ns = tpuf.namespace("client-conditions")
    ns.write(upsert_rows=[{"id": "a", "version": 2, "v": "two"}, {"id": "b", "version": 1, "v": "one"}])
    res = ns.write(
        upsert_rows=[{"id": "a", "version": 1, "v": "stale"}, {"id": "b", "version": 3, "v": "three"}, {"id": "c", "version": 1, "v": "new"}],
        upsert_condition=("version", "Lt", {"$ref_new": "version"}),
        return_affected_ids=True,
    )
    assert sorted(res.upserted_ids) == ["b", "c"]
    res = ns.write(patch_rows=[{"id": "a", "extra": True}, {"id": "zzz", "extra": True}], return_affected_ids=True)
    assert res.patched_ids == ["a"]
    res = ns.write(patch_columns={"id": ["b"], "v": ["patched"]}, patch_condition=("v", "Eq", "three"))
    assert res.rows_patched == 1
    res = ns.write(deletes=["a", "b"], delete_condition=("v", "Eq", "patched"), return_affected_ids=True)
    assert res.deleted_ids == ["b"]
    rows = ns.query(rank_by=("id", "asc"), top_k=10, include_attributes=True).rows
    assert ids(rows) == ["a", "c"]
    assert rows[0]["v"] == "two" and rows[0]["extra"] is True


def test_delete_by_filter_and_patch_by_filter(tpuf):
    ns = tpuf.namespace("client-byfilter")
    ns.write(upsert_rows=[{"id": i, "group": "x" if i < 5 else "y"} for i in range(10)])
    res = ns.write(delete_by_filter=("group", "Eq", "x"))
    assert res.rows_deleted == 5
    res = ns.write(patch_by_filter={"filters": ("id", "Gte", 8), "patch": {"flag": "late"}})
    assert res.rows_patched == 2
    rows = ns.query(rank_by=("id", "asc"), top_k=100, include_attributes=["flag"]).rows
    assert ids(rows) == [5, 6, 7, 8, 9]
    assert [row.model_extra.get("flag") for row in rows] == [None, None, None, "late", "late"]


def test_schema_metadata_listing_multi_query_and_deletion(tpuf):
    ns = tpuf.namespace("client-meta-1")
    ns.write(upsert_rows=[{"id": 1, "vector": [0.1, 0.2, 0.3], "title": "hello"}], schema={"published": "datetime"})
    schema = ns.schema()
    assert schema["title"].type == "string"
    assert schema["published"].type == "datetime"
    assert schema["vector"].type == "[3]f32"
    updated = ns.update_schema(schema={"score": {"type": "float", "filterable": True}})
    assert updated["score"].type == "float"
    meta = ns.metadata()
    assert meta.approx_row_count == 1
    assert meta.index.status == "up-to-date"
    tpuf.namespace("client-meta-2").write(upsert_rows=[{"id": 1}])
    tpuf.namespace("other-ns").write(upsert_rows=[{"id": 1}])
    listed = [n.id for n in tpuf.namespaces(prefix="client-meta-")]
    assert listed == ["client-meta-1", "client-meta-2"]
    page = [n.id for n in tpuf.namespaces(page_size=1)]
    assert "other-ns" in page and len(page) >= 3, "the paginator must follow next_cursor"
    multi = ns.multi_query(queries=[
        {"rank_by": ("vector", "ANN", [0.1, 0.2, 0.3]), "top_k": 1},
        {"rank_by": ("id", "asc"), "top_k": 1, "aggregate_by": {"n": ("Count",)}},
    ])
    assert ids(multi.results[0].rows) == [1]
    assert multi.results[1].aggregations == {"n": 1}
    tpuf.namespace("client-meta-2").delete_all()
    with pytest.raises(turbopuffer.NotFoundError):
        tpuf.namespace("client-meta-2").query(rank_by=("id", "asc"), top_k=1)
    with pytest.raises(turbopuffer.NotFoundError):
        tpuf.namespace("client-meta-2").delete_all()


def test_bad_requests_surface_as_client_errors(tpuf):
    ns = tpuf.namespace("client-errors")
    ns.write(upsert_rows=[{"id": 1, "vector": [1.0, 2.0]}])
    with pytest.raises(turbopuffer.BadRequestError) as info:
        ns.write(upsert_rows=[{"id": 2, "vector": [1.0, 2.0, 3.0]}])
    assert "dimensions" in str(info.value)
    with pytest.raises(turbopuffer.BadRequestError):
        ns.write(upsert_rows=[{"id": 3}], deletes=[3])


def test_larger_namespace_recall_of_exact_search(tpuf):
    rng = random.Random(5)
    ns = tpuf.namespace("client-large")
    vectors = [[rng.gauss(0, 1) for _ in range(16)] for _ in range(2000)]
    for start in range(0, 2000, 500):
        ns.write(upsert_rows=[{"id": i, "vector": vectors[i]} for i in range(start, start + 500)], distance_metric="cosine_distance")
    query = vectors[1234]
    res = ns.query(rank_by=("vector", "ANN", query), top_k=10)
    assert res.rows[0].id == 1234

    def cos(a, b):
        dot = sum(x * y for x, y in zip(a, b))
        return 1 - dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    expected = sorted(range(2000), key=lambda i: (cos(query, vectors[i]), i))[:10]
    exact = ns.query(rank_by=("vector", "kNN", query), top_k=10)
    assert ids(exact.rows) == expected
    # ANN may go through the SPFresh index (2,000 vectors is the default threshold).
    assert len(set(ids(res.rows)) & set(expected)) >= 7
