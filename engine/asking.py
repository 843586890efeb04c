"""From questions about a camera to views of its cache: each question's own selection, one view per selection.

Every question gets exactly the view it would get alone: its top-k chunks are chosen from its own relevance scores,
never from a batch's mean. Questions that chose the same chunks (and the same window) share one view and one packed
forward; the others get their own. Views are cached per camera until its next append, then *extended* from the
stale one (views.build_view with reuse), never copied twice. A view costs about the camera's store again (its keys
are rotated to compacted positions in one contiguous buffer, so it cannot alias the store's pre-RoPE records):
memory is bounded by `per_camera` views per camera (engine.cached_views; 0 frees each view after its questions) and
VIEW_CACHE views in all, and every cached view counts in its camera's kv_bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

from engine.api import EngineError
from engine.layers import lm_dims
from engine.protocols import StreamModel
from engine.questions import yes_no
from engine.records import ChunkRecord
from engine.relevance import chunk_scores, question_queries, relevance_layer, top_k
from engine.session import StreamSession
from engine.views import DenseSource, QuestionView, build_view, visible

QUERY_CACHE = 512  # distinct questions whose relevance query is kept (a few KB each)
SPARE_TOKENS = 256  # room after a view for question and answer tokens (a batch of ~15 rule questions fits)
VIEWS_PER_CAMERA = 1  # default of engine.cached_views: views of one camera kept between its appends
VIEW_CACHE = 16  # views kept in all: extra memory is bounded by a few views, whatever the number of cameras

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Key:
    camera_id: str
    window_s: float | None
    selected: frozenset[int]


class ViewPlanner:
    """Builds questions' bi-granular views; reads the session, never changes it. Owned by the engine thread."""

    def __init__(self, model: StreamModel, top_k: int, per_camera: int = VIEWS_PER_CAMERA) -> None:
        self.model = model
        self.top_k = top_k
        self.per_camera = per_camera  # 0: every view is built for its questions and freed after them
        self._layer = relevance_layer(lm_dims(model.lm).layers)
        self._queries: OrderedDict[str, torch.Tensor] = OrderedDict()  # question -> [Hq, Dh], bounded LRU
        self._views: OrderedDict[_Key, tuple[int, QuestionView]] = OrderedDict()  # -> (session version, view)

    @torch.inference_mode()
    def selections(
        self, session: StreamSession, questions: Sequence[str], window_s: float | None, source: DenseSource | None
    ) -> list[tuple[QuestionView, list[int]]]:
        """One view per distinct relevance selection among `questions`, each with the indices of the questions that
        chose it. Every view is at the session's current version: only stale views are ever extended in place, so
        these stay valid together until the session next changes."""
        records = self._visible(session, window_s)
        by_selection: dict[frozenset[int], list[int]] = {}
        for i, question in enumerate(questions):
            by_selection.setdefault(frozenset(self.select(session, records, [question])), []).append(i)
        return [(self._view(session, records, selected, window_s, source), indices)
                for selected, indices in by_selection.items()]

    def each_view(
        self,
        session: StreamSession,
        questions: Sequence[str],
        window_s: float | None,
        source: DenseSource | None,
        answer: Callable[[QuestionView, list[int]], Sequence[T]],
    ) -> tuple[list[T], QuestionView]:
        """Answer every question on its own selection's view: `answer(view, indices)` gets the indices of the
        questions that share `view`. Returns the answers in question order and the last view (for its time range)."""
        out: dict[int, T] = {}
        chosen = self.selections(session, questions, window_s, source)
        for view, indices in chosen:
            out.update(zip(indices, answer(view, indices), strict=True))
        return [out[i] for i in range(len(questions))], chosen[-1][0]

    def yes_no(
        self, session: StreamSession, questions: Sequence[str], window_s: float | None, source: DenseSource | None
    ) -> tuple[list[float], QuestionView]:
        """P(yes) per question, each on its own selection's view (packed with the questions that share it)."""
        def ask(view: QuestionView, indices: list[int]) -> list[float]:
            return yes_no(self.model, view, [questions[i] for i in indices])

        return self.each_view(session, questions, window_s, source, ask)

    @torch.inference_mode()
    def view(
        self, session: StreamSession, questions: Sequence[str], window_s: float | None, source: DenseSource | None
    ) -> QuestionView:
        """The one view `questions` share; EngineError if their selections differ (use `each_view` then)."""
        records = self._visible(session, window_s)
        selections = {frozenset(self.select(session, records, [q])) for q in questions}
        if len(selections) != 1:
            raise EngineError(f"camera {session.camera_id!r}: these questions select different chunks; "
                              "ask them through each_view so each gets its own view")
        return self._view(session, records, set(selections.pop()), window_s, source)

    def _visible(self, session: StreamSession, window_s: float | None) -> list[ChunkRecord]:
        records = visible(session.views(), window_s)
        if not records:
            raise EngineError(
                f"camera {session.camera_id!r} has no video in the engine yet: the first answer comes once 4 frames "
                "have been sampled and encoded"
            )
        return records

    def _view(
        self,
        session: StreamSession,
        records: list[ChunkRecord],
        selected: set[int] | frozenset[int],
        window_s: float | None,
        source: DenseSource | None,
    ) -> QuestionView:
        key = _Key(session.camera_id, window_s, frozenset(selected))
        cached = self._views.get(key)
        if cached is not None and cached[0] == session.version:
            self._views.move_to_end(key)
            return cached[1]
        stale = self._take_stale(key, session.version)
        prefix = (session.store.prefix_k, session.store.prefix_v)
        view = build_view(self.model.lm, prefix, records, set(selected), source, SPARE_TOKENS, reuse=stale)
        self._keep(key, session.version, view)
        return view

    def _take_stale(self, key: _Key, version: int) -> QuestionView | None:
        """Remove and return a view of the camera built before its last change, to extend: the same selection's,
        else the most recent of the same window. Views of the current version are never taken."""
        same = self._views.get(key)
        if same is not None and same[0] != version:
            return self._views.pop(key)[1]
        for other in reversed(self._views):
            if other.camera_id == key.camera_id and other.window_s == key.window_s and self._views[other][0] != version:
                return self._views.pop(other)[1]
        return None

    def _keep(self, key: _Key, version: int, view: QuestionView) -> None:
        self._views[key] = (version, view)
        mine = [k for k in self._views if k.camera_id == key.camera_id]
        for old in mine[: max(0, len(mine) - self.per_camera)]:
            del self._views[old]
        while len(self._views) > VIEW_CACHE:
            self._views.popitem(last=False)

    def forget(self, camera_id: str) -> None:
        """Drop the camera's cached views: memory goes back to the store alone (the next view is built afresh)."""
        for key in [k for k in self._views if k.camera_id == camera_id]:
            del self._views[key]

    def view_bytes(self, camera_id: str) -> int:
        """Bytes of the camera's cached views (counted in its kv_bytes)."""
        return sum(view.nbytes for key, (_, view) in self._views.items() if key.camera_id == camera_id)

    def select(self, session: StreamSession, records: Sequence[ChunkRecord], questions: Sequence[str]) -> set[int]:
        """Seqs of the top-k pooled chunks most relevant to the questions (see relevance.py); pass one question to
        get its own selection, as `each_view` does."""
        pooled = [rec for rec in records if rec.sparse]
        if self.top_k <= 0 or not pooled:
            return set()
        scores = self.scores(session, pooled, questions)
        return {pooled[i].seq for i in top_k(scores, self.top_k)}

    def scores(self, session: StreamSession, records: Sequence[ChunkRecord], questions: Sequence[str]) -> torch.Tensor:
        """Relevance [C] of each record to the questions (see relevance.py)."""
        query = torch.stack([self._query(session, q) for q in questions]).mean(0)
        return chunk_scores(query, [rec.rel for rec in records])

    def _query(self, session: StreamSession, question: str) -> torch.Tensor:
        if question in self._queries:
            self._queries.move_to_end(question)
            return self._queries[question]
        embeds = [self.model.embed(self.model.prompt.question_ids(question))]
        store = session.store  # every session holds the same prefix KV: the query is the question's alone
        query = question_queries(self.model.lm, store.prefix_k, store.prefix_v, embeds, self._layer)[0]
        self._queries[question] = query
        if len(self._queries) > QUERY_CACHE:
            self._queries.popitem(last=False)
        return query
