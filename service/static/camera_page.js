// The camera page: its tile, its rules' recent scores as small charts, and its recent alerts.
import { apiJson } from "./api.js";
import { $, clock, el } from "./dom.js";
import { state } from "./state.js";
import { addAlert } from "./timeline.js";

const CHART_WINDOW_S = 300;

export function route() {
  const match = location.hash.match(/^#\/camera\/([^/]+)$/);
  const cameraId = match ? decodeURIComponent(match[1]) : null;
  state.page = cameraId && state.cameras.has(cameraId) ? cameraId : null;
  $("#overview").hidden = state.page !== null;
  $("#camera-page").hidden = state.page === null;
  for (const [id, entry] of state.cameras) placeTile(id, entry);
  if (state.page) showCameraPage(state.page);
}

function placeTile(id, entry) {
  // One tile per camera: it moves to the camera page and back, keeping its image and ask box.
  if (id === state.page) $("#camera-tile-slot").append(entry.tile);
  else if (entry.tile.parentElement !== $("#grid")) $("#grid").append(entry.tile);
}

async function showCameraPage(cameraId) {
  const { view } = state.cameras.get(cameraId);
  $("#camera-heading").textContent = view.name;
  $("#chart-minutes").textContent = String(CHART_WINDOW_S / 60);
  renderRules(view);
  $("#camera-alerts").replaceChildren();
  state.pageAlerts.clear();
  const { alerts } = await apiJson(`/api/alerts?camera=${encodeURIComponent(cameraId)}&limit=20`);
  for (const event of alerts.reverse()) addAlert(event, $("#camera-alerts"), state.pageAlerts);
  $("#camera-heading").focus?.();
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
    canvas.setAttribute("aria-label", `Scores of rule ${rule.id}; threshold ${rule.threshold}`);
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
    drawChart($("canvas", item), points, rule.threshold);
    const last = points[points.length - 1];
    $(".latest", item).textContent = last ? `now ${last[1].toFixed(2)} at ${clock(last[0])}` : "no score yet";
  }
}

function drawChart(canvas, points, threshold) {
  const ratio = window.devicePixelRatio || 1;
  const width = (canvas.width = canvas.clientWidth * ratio);
  const height = (canvas.height = canvas.clientHeight * ratio);
  const ctx = canvas.getContext("2d");
  const now = Date.now() / 1000;
  const x = (t) => ((t - (now - CHART_WINDOW_S)) / CHART_WINDOW_S) * width;
  const top = Math.max(1, threshold, ...points.map((p) => p[1]));
  const y = (s) => height - (s / top) * (height - 4) - 2;
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = "#e3b341";
  ctx.setLineDash([6 * ratio, 4 * ratio]);
  ctx.beginPath();
  ctx.moveTo(0, y(threshold));
  ctx.lineTo(width, y(threshold));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.strokeStyle = "#6cb6ff";
  ctx.lineWidth = 2 * ratio;
  ctx.beginPath();
  points.filter((p) => p[0] >= now - CHART_WINDOW_S).forEach(([t, s], i) => {
    if (i === 0) ctx.moveTo(x(t), y(s));
    else ctx.lineTo(x(t), y(s));
  });
  ctx.stroke();
}
