"""From a question about a camera to its view of the cache: which chunks are visible, which are read back dense."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch

from engine.api import EngineError
from engine.layers import lm_dims
from engine.protocols import StreamModel
from engine.records import ChunkRecord
from engine.relevance import chunk_scores, question_queries, relevance_layer, top_k
from engine.session import StreamSession
from engine.views import DenseSource, QuestionView, build_view, visible

QUERY_CACHE = 512  # distinct questions whose relevance query is kept (a few KB each)
SPARE_TOKENS = 512  # room after a view for question and answer tokens (a batch of ~30 rule questions fits)
VIEW_CACHE = 4  # cameras whose last view is kept: extra memory is bounded by a few views, whatever the cameras


class ViewPlanner:
    """Builds a question's bi-granular view; reads the session, never changes it."""

    def __init__(self, model: StreamModel, top_k: int) -> None:
        self.model = model
        self.top_k = top_k
        self._layer = relevance_layer(lm_dims(model.lm).layers)
        self._queries: OrderedDict[str, torch.Tensor] = OrderedDict()  # question -> [Hq, Dh], bounded LRU
        self._views: OrderedDict[str, tuple[object, QuestionView]] = OrderedDict()  # camera -> view, until an append

    @torch.inference_mode()
    def view(
        self, session: StreamSession, questions: Sequence[str], window_s: float | None, source: DenseSource | None
    ) -> QuestionView:
        records = visible(session.views(), window_s)
        if not records:
            raise EngineError(
                f"camera {session.camera_id!r} has no video in the engine yet: the first answer comes once 4 frames "
                "have been sampled and encoded"
            )
        selected = self.select(session, records, questions)
        key = (session.version, window_s, frozenset(selected))
        cached = self._views.get(session.camera_id)
        if cached is not None and cached[0] == key:
            self._views.move_to_end(session.camera_id)
            return cached[1]
        self._views.pop(session.camera_id, None)  # free the stale view before building the new one
        prefix = (session.store.prefix_k, session.store.prefix_v)
        view = build_view(self.model.lm, prefix, records, selected, source, SPARE_TOKENS)
        self._views[session.camera_id] = (key, view)
        if len(self._views) > VIEW_CACHE:
            self._views.popitem(last=False)
        return view

    def forget(self, camera_id: str) -> None:
        """Drop the camera's cached view (its cache changed): memory goes back to the store alone."""
        self._views.pop(camera_id, None)

    def view_bytes(self, camera_id: str) -> int:
        cached = self._views.get(camera_id)
        return cached[1].nbytes if cached is not None else 0

    def select(self, session: StreamSession, records: Sequence[ChunkRecord], questions: Sequence[str]) -> set[int]:
        """Seqs of the top-k pooled chunks most relevant to the questions (see relevance.py)."""
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
