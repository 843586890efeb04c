"""POST /api/cameras/{id}/ask: an operator's question about what a camera has just seen."""

from __future__ import annotations

import asyncio
import time

import structlog
from fastapi import APIRouter

from config.settings import VigilSettings
from engine.api import EngineError, TextAnswer, TimeRange, YesNoAnswer
from service.api.deps import Camera, Ctx
from service.api.errors import BadRequest, Timeout, Unavailable
from service.api.health import model_note
from service.api.metrics import QUESTION_SECONDS, QUESTIONS
from service.api.schemas import AskRequest, AskResponse, TimeRangeView, errors

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/cameras", tags=["ask"])
ASK_TIMEOUT_S = 120.0  # a question queued behind a long backlog is answered 504 rather than held forever


@router.post(
    "/{camera_id}/ask", response_model=AskResponse,
    responses=errors(400, 404, 409, 413, 422, 503, 504),
)
async def ask(ctx: Ctx, camera: Camera, body: AskRequest) -> AskResponse:
    """yes_no answers P(yes) from one forward pass; text decodes a short answer. Neither changes the camera's cache."""
    question = body.question.strip()
    check_limits(ctx.settings, question, body)
    if ctx.engine is None:
        raise Unavailable("the engine is disabled (engine.enabled is false): questions cannot be answered")
    outcome = "error"
    started = time.perf_counter()
    try:
        answer = await asyncio.wait_for(_ask_engine(ctx, camera.id, question, body), ASK_TIMEOUT_S)
        outcome = "ok"
    except TimeoutError as exc:
        outcome = "timeout"
        raise Timeout(f"camera {camera.id!r}: no answer within {ASK_TIMEOUT_S:.0f} s; the engine is behind, "
                      "try again or with a shorter window") from exc
    except EngineError:
        outcome = "refused"
        raise
    finally:
        QUESTIONS.labels(camera_id=camera.id, mode=body.mode, outcome=outcome).inc()
        QUESTION_SECONDS.labels(camera_id=camera.id, mode=body.mode).observe(time.perf_counter() - started)
    return _response(ctx, camera.id, question, answer)


def check_limits(settings: VigilSettings, question: str, body: AskRequest) -> None:
    api = settings.api
    if not question:
        raise BadRequest("question is empty")
    if len(question) > api.max_question_chars:
        raise BadRequest(f"question has {len(question)} characters; the limit is {api.max_question_chars} "
                         "(api.max_question_chars)")
    if body.window_s is not None and body.window_s > api.max_window_s:
        raise BadRequest(f"window_s {body.window_s:g} is over the limit of {api.max_window_s:g} s (api.max_window_s)")
    if body.max_tokens is not None and body.max_tokens > settings.engine.max_new_tokens:
        raise BadRequest(f"max_tokens {body.max_tokens} is over engine.max_new_tokens "
                         f"({settings.engine.max_new_tokens})")


async def _ask_engine(ctx: Ctx, camera_id: str, question: str, body: AskRequest) -> YesNoAnswer | TextAnswer:
    assert ctx.engine is not None
    if body.mode == "yes_no":
        return await ctx.engine.ask_yes_no(camera_id, [question], window_s=body.window_s)
    max_tokens = body.max_tokens or ctx.settings.engine.max_new_tokens
    return await ctx.engine.ask_text(camera_id, question, max_tokens=max_tokens, window_s=body.window_s)


def _response(ctx: Ctx, camera_id: str, question: str, answer: YesNoAnswer | TextAnswer) -> AskResponse:
    model = ctx.settings.engine.model
    yes_no = isinstance(answer, YesNoAnswer)
    log.info("api.answered", camera_id=camera_id, mode="yes_no" if yes_no else "text", latency_ms=answer.latency_ms)
    return AskResponse(
        camera_id=camera_id, mode="yes_no" if yes_no else "text", question=question,
        p_yes=answer.p_yes[0] if isinstance(answer, YesNoAnswer) else None,
        text=answer.text if isinstance(answer, TextAnswer) else None,
        seen=_range(answer.seen), latency_ms=round(answer.latency_ms, 1), model=model, model_note=model_note(model),
    )


def _range(seen: TimeRange) -> TimeRangeView:
    return TimeRangeView.of(seen)
