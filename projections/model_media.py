"""The likes view: how many customers like each catalog model, and who.

Liked and Unliked alternate strictly on each (model, customer) stream, so every Liked
adds one and every Unliked takes one away: a batch folds into one signed delta per model
(one upsert each) and each pair's last state. Exactly-once comes from the runner (the
view and its position commit together); a rebuild starts from nothing. `like_deltas` is
the same fold for the catalog view's likes_total column (sort=popular), which the catalog
projection keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from projections.base import Cursor, EventRecord, Projection

LIKED, UNLIKED = "Liked", "Unliked"

_ADD = (
    "INSERT INTO model_likes (model_id, likes_total) VALUES (?, ?)"
    " ON CONFLICT (model_id) DO UPDATE SET likes_total = model_likes.likes_total"
    " + excluded.likes_total"
)
_LIKER = (
    "INSERT INTO model_likers (model_id, user_id) VALUES (?, ?)"
    " ON CONFLICT (model_id, user_id) DO NOTHING"
)
_UNLIKER = "DELETE FROM model_likers WHERE model_id = ? AND user_id = ?"


def like_deltas(events: Iterable[EventRecord]) -> dict[str, int]:
    """The change in each model's like count over these events (models with none left out)."""
    deltas: dict[str, int] = {}
    for event in events:
        if event.type in (LIKED, UNLIKED):
            model_id = str(event.data["model_id"])
            deltas[model_id] = deltas.get(model_id, 0) + (1 if event.type == LIKED else -1)
    return {model_id: delta for model_id, delta in sorted(deltas.items()) if delta}


class ModelLikesProjection(Projection):
    """Folds Liked/Unliked into `model_likes` (counts) and `model_likers` (who)."""

    name = "model_likes"

    def create(self, cur: Cursor) -> None:
        """Create both tables."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS model_likes ("
            " model_id TEXT PRIMARY KEY, likes_total BIGINT NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS model_likers ("
            " model_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (model_id, user_id))"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop both tables."""
        cur.execute("DROP TABLE IF EXISTS model_likes")
        cur.execute("DROP TABLE IF EXISTS model_likers")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """One upsert per model whose count moved, one write per pair whose state did
        (both in key order: one lock order for every writer)."""
        pairs: dict[tuple[str, str], bool] = {}
        for event in events:
            if event.type in (LIKED, UNLIKED):
                pair = (str(event.data["model_id"]), str(event.data["user_id"]))
                pairs[pair] = event.type == LIKED
        if not pairs:
            return
        deltas = like_deltas(events)
        if deltas:
            cur.executemany(_ADD, list(deltas.items()))
        likers = sorted(pair for pair, now in pairs.items() if now)
        if likers:
            cur.executemany(_LIKER, likers)
        unlikers = sorted(pair for pair, now in pairs.items() if not now)
        if unlikers:
            cur.executemany(_UNLIKER, unlikers)

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Counts by model, then likers by model and user."""
        cur.execute("SELECT 'count', model_id, likes_total FROM model_likes ORDER BY model_id")
        yield from (tuple(row) for row in cur.fetchall())
        cur.execute("SELECT 'liker', model_id, user_id FROM model_likers ORDER BY 2, 3")
        yield from (tuple(row) for row in cur.fetchall())


def likes_total(cur: Cursor, model_id: str) -> int:
    """How many customers like the model, as far as the view has folded."""
    cur.execute("SELECT likes_total FROM model_likes WHERE model_id = ?", (model_id,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def likes_it(cur: Cursor, model_id: str, user_id: str) -> bool:
    """Whether the view has this customer liking the model (as far as it has folded)."""
    cur.execute(
        "SELECT 1 FROM model_likers WHERE model_id = ? AND user_id = ?", (model_id, user_id)
    )
    return cur.fetchone() is not None
