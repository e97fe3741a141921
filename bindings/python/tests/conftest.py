"""Shared fixtures: a small learnable synthetic problem (the twin of tests/capi/synthetic.h)
and a model trained on it once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import twotower

REPO_ROOT = Path(__file__).resolve().parents[3]

SYN_USERS = 40
SYN_ITEMS = 30
SYN_ROWS = 1200

# 40 users in 5 groups; each group watches only its own 6 of the 30 items.
SYN_SPEC = {
    "name": "synthetic",
    "query_tower": {
        "features": [
            {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
            {"name": "ts", "column": "timestamp", "kind": "normalization"},
        ],
        "layers": [16],
    },
    "candidate_tower": {
        "id_column": "item_id",
        "features": [
            {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 8},
            {"name": "title", "column": "title", "kind": "text", "max_tokens": 100, "embedding_dim": 8},
        ],
        "layers": [16],
    },
    "training": {"batch_size": 64, "epochs": 4, "eval_every": 2, "seed": 7},
    "data": {"train_rows": 1000, "test_rows": 200, "split_seed": 1},
    "evaluation": {"k": [1, 5, 10]},
}


def group_items(group: int) -> list[str]:
    return [f"i{group * 6 + j}" for j in range(6)]


def synthetic_columns() -> tuple[dict, dict]:
    """(interactions {user_id, timestamp, item_id, title}, candidates {item_id, title}) as
    dicts of lists."""
    users, stamps, items, titles = [], [], [], []
    for i in range(SYN_ROWS):
        u = i % SYN_USERS
        row = i // SYN_USERS
        group = u % 5
        it = group * 6 + (row * 7 + u) % 6
        users.append(f"u{u}")
        stamps.append(1000000 + 37 * i)
        items.append(f"i{it}")
        titles.append(f"item {it}")
    interactions = {"user_id": users, "timestamp": stamps, "item_id": items, "title": titles}
    candidates = {"item_id": [f"i{i}" for i in range(SYN_ITEMS)], "title": [f"item {i}" for i in range(SYN_ITEMS)]}
    return interactions, candidates


@pytest.fixture(scope="session")
def synthetic():
    interactions, candidates = synthetic_columns()
    return twotower.Table(interactions), twotower.Table(candidates)


@pytest.fixture(scope="session")
def trained(synthetic):
    """A model trained on the synthetic data (8 epochs), shared by read-only tests."""
    interactions, candidates = synthetic
    model = twotower.Model(SYN_SPEC)
    metrics = model.train(interactions, candidates, epochs=8, seed=3)
    model.train_metrics = metrics
    yield model
    model.close()


def user_queries(users: list[int]) -> dict:
    return {"user_id": [f"u{u}" for u in users], "timestamp": [1000000 + 37 * u for u in users]}


def movielens_dir() -> Path | None:
    d = os.environ.get("TWOTOWER_DATA") or str(REPO_ROOT.parent / "shared" / "data" / "ml-100k")
    p = Path(d)
    return p if (p / "u.data").exists() else None
