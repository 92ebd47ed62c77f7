"""Full-text search through the official turbopuffer client against a live server."""
import math

import pytest
import turbopuffer


def ids(rows):
    return [row.id for row in rows]


# remove_stopwords is on by default, as in turbopuffer, with Lucene's English list.
ENGLISH_STOP_WORDS = set(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split()
)


def tokens(text):
    return [word for word in text.lower().split() if word not in ENGLISH_STOP_WORDS]


def bm25(query_tokens, docs, k1=1.2, b=0.75):
    """BM25 from its definition over already-tokenized documents (dict id -> tokens)."""
    n = len(docs)
    average = sum(len(tokens) for tokens in docs.values()) / n
    scores = {}
    for doc_id, tokens in docs.items():
        score = 0.0
        for term in set(query_tokens):
            tf = tokens.count(term)
            if tf == 0:
                continue
            df = sum(1 for other in docs.values() if term in other)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(tokens) / average))
        if score > 0:
            scores[doc_id] = score
    return scores


def test_bm25_ranking_expressions_and_token_filters(tpuf):
    ns = tpuf.namespace("client-fts")
    texts = {
        1: "turbopuffer is a fast search engine with FTS filtering and vector search support",
        2: "turbopuffer can store billions and billions of documents cheaper than any other search engine",
        3: "turbopuffer will support many more types of queries in the future",
        4: "freshet is a river flood after a thaw",
    }
    ns.write(
        upsert_rows=[{"id": i, "text": t, "stars": i * 10} for i, t in texts.items()],
        schema={"text": {"type": "string", "full_text_search": True}},
    )
    res = ns.query(rank_by=("text", "BM25", "search engine"), top_k=10, include_attributes=["text"])
    expected = bm25(["search", "engine"], {i: tokens(t) for i, t in texts.items()})
    assert ids(res.rows) == sorted(expected, key=lambda i: -expected[i])
    for row in res.rows:
        assert math.isclose(row["$dist"], expected[row.id], rel_tol=1e-9), (row.id, row["$dist"], expected[row.id])

    # Weighted sum of a text clause and an attribute curve; zero scores excluded.
    res = ns.query(
        rank_by=("Sum", [("Product", 2, ("text", "BM25", "turbopuffer")), ("Saturate", ("Attribute", "stars"), {"midpoint": 20})]),
        top_k=10,
    )
    assert set(ids(res.rows)) == {1, 2, 3, 4}
    res = ns.query(rank_by=("text", "BM25", "thaw"), top_k=10)
    assert ids(res.rows) == [4]

    # Token filters, and BM25 with a filter.
    assert ids(ns.query(rank_by=("id", "asc"), top_k=10, filters=("text", "ContainsAllTokens", "search turbopuffer")).rows) == [1, 2]
    assert ids(ns.query(rank_by=("id", "asc"), top_k=10, filters=("text", "ContainsTokenSequence", "search engine")).rows) == [1, 2]
    assert ids(ns.query(rank_by=("id", "asc"), top_k=10, filters=("text", "ContainsAnyToken", "river queries")).rows) == [3, 4]
    # Stop words leave no gap in a phrase (they are dropped on both sides).
    assert ids(ns.query(rank_by=("id", "asc"), top_k=10, filters=("text", "ContainsTokenSequence", "billions and billions")).rows) == [2]
    res = ns.query(rank_by=("text", "BM25", "turbopuffer"), top_k=10, filters=("stars", "Gte", 20))
    assert set(ids(res.rows)) == {2, 3}

    # explain_query names the plan; BM25 on an attribute without full-text search is a clear 400.
    with pytest.raises(turbopuffer.BadRequestError) as error:
        ns.query(rank_by=("stars", "BM25", "x"), top_k=10)
    assert "full_text_search" in str(error.value)


def test_group_by_through_the_client(tpuf):
    ns = tpuf.namespace("client-groups")
    ns.write(upsert_rows=[{"id": i, "color": ["red", "blue"][i % 2], "n": i} for i in range(10)])
    res = ns.query(aggregate_by={"count": ("Count",), "total": ("Sum", "n")}, group_by=["color"], top_k=10)
    groups = res.aggregation_groups
    assert [(g["color"], g["count"], g["total"]) for g in groups] == [("blue", 5, 25), ("red", 5, 20)]
