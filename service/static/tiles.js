// Camera tiles: the live view (MJPEG), state badge, fps, engine lag and KV size, and the ask box.
import { AuthNeeded, apiJson, liveUrl, postJson } from "./api.js";
import { $, bytes, clock, el, seconds } from "./dom.js";
import { drawOverlay } from "./overlay.js";
import { state } from "./state.js";

const LIVE_WIDTH = 960; // px; the server shares one encoding per camera and width among all viewers
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;

function makeTile(view) {
  const tile = $("#tile-template").content.firstElementChild.cloneNode(true);
  tile.dataset.camera = view.id;
  const img = $(".snapshot", tile);
  img.hidden = true; // shown once a first frame arrived, never as a broken-image icon
  img.alt = `Live view of ${view.name}`;
  const link = $(".cam-link", tile);
  link.textContent = view.name;
  link.href = `#/camera/${encodeURIComponent(view.id)}`;
  const form = $(".ask", tile);
  form.setAttribute("aria-label", `Ask about ${view.name}`);
  $("input[name=question]", form).maxLength = state.info ? state.info.limits.max_question_chars : 500;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(view.id, form);
  });
  return tile;
}

function updateTile(entry) {
  const { tile, view } = entry;
  const badge = $(".badge", tile);
  badge.textContent = view.enabled ? view.badge : "disabled";
  $(".ask", tile).hidden = !view.enabled || !state.info?.model; // no engine (engine.enabled: false): nothing to ask
  badge.className = `badge ${view.badge}`;
  badge.title = view.reason || view.state;
  $(".fps", tile).textContent = view.fps == null ? "–" : view.fps.toFixed(1);
  $(".lag", tile).textContent = view.engine ? seconds(view.engine.lag_s) : "–";
  $(".kv", tile).textContent = view.engine ? `${view.engine.kv_tokens} tok · ${bytes(view.engine.kv_bytes)}` : "–";
  const age = view.last_frame_t == null ? null : Date.now() / 1000 - view.last_frame_t;
  $(".age", tile).textContent = age == null ? "–" : `${Math.max(0, age).toFixed(0)} s ago`;
  $(".no-image", tile).hidden = !$(".snapshot", tile).hidden;
  $(".no-image", tile).textContent = view.enabled ? "No image yet" : "Camera disabled";
  drawOverlay(entry);
}

export async function refreshCameras() {
  const views = await apiJson("/api/cameras");
  $("#cameras-empty").hidden = views.length > 0;
  for (const view of views) {
    let entry = state.cameras.get(view.id);
    if (!entry) {
      entry = { view, tile: makeTile(view), live: { url: null, retryMs: RETRY_MIN_MS, timer: null } };
      state.cameras.set(view.id, entry);
      $("#grid").append(entry.tile);
      watchImage(entry);
    }
    entry.view = view;
    updateTile(entry);
    if (wantsLive(entry)) startLive(entry);
  }
}

// ---- the live view --------------------------------------------------------------------------------------

function wantsLive(entry) {
  // A camera with no frame yet has nothing to stream: a view opened now would sit waiting (and keep a page
  // "loading" for renderers); the next poll opens it once the first frame is in the ring.
  const { view, live } = entry;
  return view.enabled && view.last_frame_t != null && !live.url && !live.timer && !document.hidden;
}

function watchImage(entry) {
  const img = $(".snapshot", entry.tile);
  img.addEventListener("load", () => {
    img.hidden = false;
    $(".no-image", entry.tile).hidden = true;
    entry.live.retryMs = RETRY_MIN_MS;
    // The frame takes the image's own shape, so the overlay's 0..1 coordinates land on the right pixels.
    if (img.naturalWidth) $(".frame", entry.tile).style.aspectRatio = `${img.naturalWidth} / ${img.naturalHeight}`;
    drawOverlay(entry);
  });
  img.addEventListener("error", () => {
    if (!entry.live.url) return; // stopped on purpose
    entry.live.url = null;
    retryLive(entry);
  });
}

async function startLive(entry) {
  entry.live.timer = null;
  try {
    entry.live.url = await liveUrl(entry.view.id, LIVE_WIDTH);
    $(".snapshot", entry.tile).src = entry.live.url;
  } catch (error) {
    entry.live.url = null;
    if (!(error instanceof AuthNeeded)) retryLive(entry);
  }
}

function retryLive(entry) {
  // The stream ended (camera gone, service restarting): a fresh ticket after a growing pause.
  clearTimeout(entry.live.timer);
  entry.live.timer = setTimeout(() => startLive(entry), entry.live.retryMs);
  entry.live.retryMs = Math.min(RETRY_MAX_MS, entry.live.retryMs * 2);
}

export function stopLive() {
  for (const entry of state.cameras.values()) {
    clearTimeout(entry.live.timer);
    entry.live.timer = null;
    entry.live.url = null;
    $(".snapshot", entry.tile).removeAttribute("src"); // closes the stream: a hidden tab costs nothing
  }
}

export function resumeLive() {
  for (const entry of state.cameras.values()) {
    if (wantsLive(entry)) startLive(entry);
  }
}

// ---- asking -----------------------------------------------------------------------------------------------

async function ask(cameraId, form) {
  const output = $(".answer", form);
  const button = $("button", form);
  const body = {
    question: form.question.value.trim(),
    mode: form.mode.value,
    window_s: form.window_s.value ? Number(form.window_s.value) : null,
  };
  button.disabled = true;
  output.className = "answer";
  output.textContent = "Asking…";
  try {
    showAnswer(output, await postJson(`/api/cameras/${encodeURIComponent(cameraId)}/ask`, body));
  } catch (error) {
    output.className = "answer error";
    output.textContent = error instanceof AuthNeeded ? "Enter the API token first." : error.message;
  } finally {
    button.disabled = false;
  }
}

function showAnswer(output, answer) {
  output.replaceChildren();
  const value = answer.mode === "yes_no" ? `P(yes) = ${answer.p_yes.toFixed(2)}` : answer.text || "(empty answer)";
  output.append(el("div", answer.mode === "yes_no" ? "value" : "value text", value));
  const seen = `saw ${clock(answer.seen.start)}–${clock(answer.seen.end)} · ${Math.round(answer.latency_ms)} ms`;
  output.append(el("div", "meta", `${seen} · model ${answer.model}`));
  for (const gap of answer.seen.gaps || []) {
    output.append(el("div", "caveat", `not seen: ${clock(gap.start)}–${clock(gap.end)} (${gap.chunks} chunk(s) refused on restore)`));
  }
  // The tiny preset has random weights: its answers must never read as detections.
  if (answer.model_note) output.append(el("div", "caveat", answer.model_note));
}
