// Camera tiles: live image, state badge, fps, engine lag and KV size, and the ask box.
import { AuthNeeded, apiJson, blobUrl } from "./api.js";
import { $, bytes, clock, el, seconds } from "./dom.js";
import { state } from "./state.js";

function makeTile(view) {
  const tile = $("#tile-template").content.firstElementChild.cloneNode(true);
  tile.dataset.camera = view.id;
  $(".snapshot", tile).hidden = true; // shown once a first image arrived, never as a broken-image icon
  const link = $(".cam-link", tile);
  link.textContent = view.name;
  link.href = `#/camera/${encodeURIComponent(view.id)}`;
  $(".snapshot", tile).alt = `Live image from ${view.name}`;
  const form = $(".ask", tile);
  form.setAttribute("aria-label", `Ask about ${view.name}`);
  $("input[name=question]", form).maxLength = state.info ? state.info.limits.max_question_chars : 500;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(view.id, form);
  });
  return tile;
}

function updateTile(tile, view) {
  const badge = $(".badge", tile);
  badge.textContent = view.enabled ? view.badge : "disabled";
  $(".ask", tile).hidden = !view.enabled;
  badge.className = `badge ${view.badge}`;
  badge.title = view.reason || view.state;
  $(".fps", tile).textContent = view.fps == null ? "–" : view.fps.toFixed(1);
  $(".lag", tile).textContent = view.engine ? seconds(view.engine.lag_s) : "–";
  $(".kv", tile).textContent = view.engine ? `${view.engine.kv_tokens} tok · ${bytes(view.engine.kv_bytes)}` : "–";
  const age = view.last_frame_t == null ? null : Date.now() / 1000 - view.last_frame_t;
  $(".age", tile).textContent = age == null ? "–" : `${Math.max(0, age).toFixed(0)} s ago`;
}

export async function refreshCameras() {
  const views = await apiJson("/api/cameras");
  $("#cameras-empty").hidden = views.length > 0;
  for (const view of views) {
    let entry = state.cameras.get(view.id);
    if (!entry) {
      entry = { view, tile: makeTile(view), busy: false, url: null };
      state.cameras.set(view.id, entry);
      $("#grid").append(entry.tile);
    }
    entry.view = view;
    updateTile(entry.tile, view);
  }
}

export async function refreshSnapshot(entry) {
  // A camera with no frame in memory has nothing new to show: poll again once it delivers.
  if (entry.busy || entry.view.last_frame_t == null) {
    $(".no-image", entry.tile).hidden = entry.url !== null;
    return;
  }
  entry.busy = true;
  try {
    const url = await blobUrl(`/api/cameras/${encodeURIComponent(entry.view.id)}/snapshot.jpg`);
    const img = $(".snapshot", entry.tile);
    img.src = url;
    img.hidden = false;
    if (entry.url) URL.revokeObjectURL(entry.url);
    entry.url = url;
    $(".no-image", entry.tile).hidden = true;
  } catch (error) {
    $(".no-image", entry.tile).hidden = false;
  } finally {
    entry.busy = false;
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
    const answer = await apiJson(`/api/cameras/${encodeURIComponent(cameraId)}/ask`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    showAnswer(output, answer);
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
  output.append(el("div", "value", value));
  const seen = `saw ${clock(answer.seen.start)}–${clock(answer.seen.end)} · ${Math.round(answer.latency_ms)} ms`;
  output.append(el("div", "meta", `${seen} · model ${answer.model}`));
  for (const gap of answer.seen.gaps || []) {
    output.append(el("div", "caveat", `not seen: ${clock(gap.start)}–${clock(gap.end)} (${gap.chunks} chunk(s) refused on restore)`));
  }
  // The tiny preset has random weights: its answers must never read as detections.
  if (answer.model_note) output.append(el("div", "caveat", answer.model_note));
}
