// The camera page: its live tile with overlays and the zone editor, its footage timeline, its rules' recent
// scores as charts with axes, and what its detectors measured. Its alerts are the side list, filtered to it.
import { apiJson } from "./api.js";
import { $, clock, el } from "./dom.js";
import { drawChart } from "./charts.js";
import { loadAlerts, setFilter, showFigures } from "./alert_list.js";
import { loadFootage } from "./footage.js";
import { drawOverlay } from "./overlay.js";
import { state } from "./state.js";
import { clearDraft, fillConditions } from "./zone_editor.js";

const CHART_WINDOW_S = 300;

export function route() {
  const match = location.hash.match(/^#\/camera\/([^/]+)$/);
  const cameraId = match ? decodeURIComponent(match[1]) : null;
  const previous = state.page;
  state.page = cameraId && state.cameras.has(cameraId) ? cameraId : null;
  $("#overview").hidden = state.page !== null;
  $("#camera-page").hidden = state.page === null;
  for (const [id, entry] of state.cameras) placeTile(id, entry);
  if (previous !== state.page) {
    clearDraft();
    // One alert list: on a camera page it shows that camera's alerts (no second copy beside it).
    setFilter("camera", state.page || "");
    loadAlerts().catch(() => {});
  }
  if (state.page) showCameraPage(state.page);
}

function placeTile(id, entry) {
  // One tile per camera: it moves to the camera page and back, keeping its live view and ask box.
  if (id === state.page) $("#camera-tile-slot").append(entry.tile);
  else if (entry.tile.parentElement !== $("#grid")) $("#grid").append(entry.tile);
}

function showCameraPage(cameraId) {
  const { view } = state.cameras.get(cameraId);
  $("#camera-heading").textContent = view.name;
  $("#chart-minutes").textContent = String(CHART_WINDOW_S / 60);
  renderRules(view);
  showDetectorFigures();
  fillConditions();
  loadFootage(cameraId);
  $("#camera-heading").focus({ preventScroll: true }); // screen readers hear the new page; no focus box is drawn
}

function renderRules(view) {
  const list = $("#rule-list");
  list.replaceChildren();
  for (const rule of view.rules) {
    const item = el("li");
    item.dataset.rule = rule.id;
    const what = rule.question ? `“${rule.question}”` : rule.kind;
    item.append(el("div", "title", `${rule.id} (${rule.severity})`), el("div", "meta", what));
    const note = state.info?.model_note;
    if (rule.kind === "question" && note) item.append(el("div", "caveat", note));
    const canvas = el("canvas");
    canvas.setAttribute("role", "img");
    const minutes = CHART_WINDOW_S / 60;
    const label = `Scores of rule ${rule.id} over the last ${minutes} minutes; threshold ${rule.threshold}`;
    canvas.setAttribute("aria-label", label);
    item.append(canvas, el("div", "meta latest"));
    list.append(item);
  }
}

export async function refreshScores() {
  if (!state.page) return;
  const scores = await apiJson(`/api/cameras/${encodeURIComponent(state.page)}/scores`);
  const view = state.cameras.get(state.page).view;
  for (const rule of view.rules) {
    const item = $(`#rule-list li[data-rule="${CSS.escape(rule.id)}"]`);
    if (!item) continue;
    const points = scores[rule.id] || [];
    const yLabel = rule.kind === "question" ? "P(yes), 0–1" : "score, 0–1";
    drawChart($("canvas", item), points, { threshold: rule.threshold, windowS: CHART_WINDOW_S, yLabel });
    const last = points[points.length - 1];
    $(".latest", item).textContent = last ? `now ${last[1].toFixed(2)} at ${clock(last[0])}` : "no score yet";
  }
}

export function showDetectorFigures() {
  if (!state.page) return;
  const panel = $("#detector-figures");
  const events = [...state.latest.entries()].filter(([key]) => key.startsWith(`${state.page}/`)).map(([, e]) => e);
  panel.replaceChildren();
  for (const event of events) {
    const block = el("div", "detector");
    const list = el("dl", "detail-figures");
    showFigures(list, event);
    if (!list.children.length) continue;
    const when = clock(Date.parse(event.emitted_at) / 1000);
    block.append(el("div", "title", `${event.rule} · ${event.type} ${when}`), list);
    panel.append(block);
  }
  if (!panel.children.length) panel.append(el("p", "muted", "No alert with measurements yet."));
}

document.addEventListener("vigil:alert", (message) => {
  const entry = state.cameras.get(message.detail.camera);
  if (entry) drawOverlay(entry);
  if (message.detail.camera === state.page) showDetectorFigures();
});
