// The footage timeline of the camera page: what is retained (spans), alert markers, a seek bar that shows the
// stored frame at any moment, and a clip range to export as MP4.
import { AuthNeeded, apiJson, blobUrl } from "./api.js";
import { $, clock, dateTime, el, isoSeconds } from "./dom.js";
import { showClip } from "./alert_list.js";
import { state } from "./state.js";

const SEEK_STEPS = 1000;
const SNAPSHOT_DEBOUNCE_MS = 150;
const REFRESH_MS = 15000;

const view = { camera: null, start: 0, end: 1, t: null, clip: { start: null, end: null }, timer: null, url: null,
  fitted: false };

export function setupFootage() {
  $("#footage-range").addEventListener("change", () => loadFootage(view.camera));
  $("#footage-seek").addEventListener("input", () => seek(fromSteps(Number($("#footage-seek").value))));
  $("#footage-track").addEventListener("click", (event) => {
    if (event.target.closest(".marker")) return;
    const box = $("#footage-track").getBoundingClientRect();
    seek(view.start + ((event.clientX - box.left) / box.width) * (view.end - view.start));
  });
  $("#clip-start").addEventListener("click", () => setClip("start"));
  $("#clip-end").addEventListener("click", () => setClip("end"));
  $("#clip-export").addEventListener("click", exportClip);
}

export async function loadFootage(cameraId) {
  clearTimeout(view.timer);
  if (!cameraId) return;
  if (cameraId !== view.camera) resetCamera(cameraId);
  try {
    await drawTrack();
  } catch (error) {
    if (error instanceof AuthNeeded) return;
    $("#footage-coverage").textContent = `Footage unavailable: ${error.message}`;
  }
  view.timer = setTimeout(() => state.page === cameraId && loadFootage(cameraId), REFRESH_MS);
}

function resetCamera(cameraId) {
  view.camera = cameraId;
  view.fitted = false;
  view.t = null;
  view.clip = { start: null, end: null };
  $("#footage-image").hidden = true;
  $("#footage-caption").hidden = false;
  $("#footage-caption").textContent = "Pick a time on the track";
  $("#footage-time").textContent = "–";
  showClipRange();
}

async function drawTrack() {
  const span = Number($("#footage-range").value);
  view.end = Date.now() / 1000;
  view.start = view.end - span;
  const camera = encodeURIComponent(view.camera);
  const [footage, history] = await Promise.all([
    apiJson(`/api/cameras/${camera}/footage?start=${view.start}&end=${view.end}`),
    apiJson(`/api/alerts?camera=${camera}&since=${view.start}&limit=500`),
  ]);
  if (!view.fitted && fitRange(footage)) return drawTrack();
  drawSpans(footage);
  drawMarkers(occurrences(history.alerts));
  drawAxis();
  placeHead();
  showClipRange();
  // Until the operator picks a moment, the viewer shows the newest stored frame.
  if (view.t == null && footage.retained) seek(Math.min(view.end, footage.retained.end));
}

function drawAxis() {
  // Five times along the track, the first with its date; short ranges keep the seconds.
  const span = view.end - view.start;
  const short = span <= 900;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const t = view.start + f * span;
    if (f === 1) return el("span", null, "now");
    return el("span", null, f === 0 ? dateTime(t) : short ? clock(t) : clock(t).slice(0, 5));
  });
  $("#footage-axis").replaceChildren(...ticks);
}

function fitRange(footage) {
  // The first view of a camera spans its retained footage: the shortest choice that holds all of it.
  view.fitted = true;
  if (!footage.retained) return false;
  const held = Date.now() / 1000 - footage.retained.start;
  const select = $("#footage-range");
  const options = [...select.options];
  const fit = options.find((option) => Number(option.value) >= held - 30) || options[options.length - 1];
  if (fit.value === select.value) return false;
  select.value = fit.value;
  return true;
}

function drawSpans(footage) {
  const spans = $("#footage-track .track-spans");
  spans.replaceChildren(...footage.spans.map(([s, e]) => bar("span", s, Math.max(e, s + footage.gap_s / 2))));
  const kept = footage.retained;
  const held = kept ? `retained ${dateTime(kept.start)} – ${clock(kept.end)}` : "no footage stored";
  $("#footage-coverage").textContent = `${footage.frames} frames in this range · ${held}`;
}

function occurrences(events) {
  // One marker per alert occurrence: from its start to its end (or now while it is open).
  const byId = new Map();
  for (const event of events) {
    const known = byId.get(event.id);
    if (!known || event.seq > known.seq) byId.set(event.id, event);
  }
  return [...byId.values()];
}

function drawMarkers(events) {
  const markers = $("#footage-track .track-markers");
  markers.replaceChildren();
  for (const event of events) {
    const start = isoSeconds(event.started_at);
    const end = isoSeconds(event.ended_at) ?? view.end;
    const narrowest = (view.end - view.start) / 300;
    const marker = bar(`marker ${event.severity}`, start, Math.max(end, start + narrowest), "button");
    marker.type = "button";
    marker.setAttribute("aria-label", `${event.rule} (${event.severity}) at ${clock(start)}: show this moment`);
    marker.title = `${event.rule} · ${event.severity} · ${clock(start)}`;
    marker.dataset.alertId = event.id;
    marker.addEventListener("click", () => seek(start));
    markers.append(marker);
  }
}

function bar(className, start, end, tag = "div") {
  const node = el(tag, className);
  const left = Math.max(0, (start - view.start) / (view.end - view.start));
  const right = Math.min(1, (end - view.start) / (view.end - view.start));
  node.style.left = `${left * 100}%`;
  node.style.width = `${Math.max(0.3, (right - left) * 100)}%`;
  return node;
}

function fromSteps(steps) {
  return view.start + (steps / SEEK_STEPS) * (view.end - view.start);
}

export function seek(t) {
  view.t = Math.min(view.end, Math.max(view.start, t));
  $("#footage-seek").value = String(Math.round(((view.t - view.start) / (view.end - view.start)) * SEEK_STEPS));
  $("#footage-time").textContent = dateTime(view.t);
  placeHead();
  clearTimeout(view.snapshotTimer);
  view.snapshotTimer = setTimeout(() => showFrame(view.t), SNAPSHOT_DEBOUNCE_MS);
}

function placeHead() {
  const head = $("#footage-track .track-head");
  head.hidden = view.t == null;
  if (view.t != null) head.style.left = `${((view.t - view.start) / (view.end - view.start)) * 100}%`;
}

async function showFrame(t) {
  const img = $("#footage-image");
  try {
    const url = await blobUrl(`/api/cameras/${encodeURIComponent(view.camera)}/snapshot.jpg?t=${t.toFixed(3)}`);
    if (t !== view.t) return URL.revokeObjectURL(url); // a newer seek won
    img.src = url;
    img.alt = `${view.camera} at ${dateTime(t)}`;
    img.hidden = false;
    $("#footage-caption").hidden = true;
    if (view.url) URL.revokeObjectURL(view.url);
    view.url = url;
  } catch (error) {
    img.hidden = true;
    $("#footage-caption").hidden = false;
    const why = error instanceof AuthNeeded ? "Enter the API token first." : "No footage at this time";
    $("#footage-caption").textContent = why;
  }
}

function setClip(which) {
  if (view.t == null) return;
  view.clip[which] = view.t;
  const { start, end } = view.clip;
  if (start != null && end != null && end < start) view.clip = { start: end, end: start };
  showClipRange();
}

function showClipRange() {
  const { start, end } = view.clip;
  const selection = $("#footage-track .track-selection");
  const maxClip = state.info ? state.info.limits.max_clip_s : 300;
  selection.hidden = start == null || end == null;
  if (!selection.hidden) {
    const node = bar("", start, end);
    selection.style.left = node.style.left;
    selection.style.width = node.style.width;
  }
  const tooLong = start != null && end != null && end - start > maxClip;
  $("#clip-export").disabled = start == null || end == null || end - start < 1 || tooLong;
  $("#clip-range").textContent = start == null && end == null ? "No clip range chosen."
    : `Clip ${start == null ? "?" : clock(start)} – ${end == null ? "?" : clock(end)}`
      + (tooLong ? ` is longer than the ${maxClip} s limit (storage.max_clip_s)` : "");
}

function exportClip() {
  const { start, end } = view.clip;
  showClip(view.camera, start.toFixed(3), end.toFixed(3), `${view.camera} · ${clock(start)}–${clock(end)}`);
}
