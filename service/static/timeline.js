// The alert timeline: history, then live events over server-sent events; snapshots and clips on demand.
import { apiJson, blobUrl, setLive, token } from "./api.js";
import { $, clock, el } from "./dom.js";
import { state } from "./state.js";

const TIMELINE_MAX = 100;

function isoSeconds(value) {
  if (value == null) return null;
  return typeof value === "number" ? value : Date.parse(value) / 1000;
}

// The alert event's wire format is docs/alert-event.schema.json; this picks what the timeline shows.
function normalize(event) {
  const clip = event.clip || {};
  const snapshot = event.snapshot || {};
  const started = isoSeconds(event.started_at);
  return {
    id: event.id,
    type: event.type,
    camera: event.camera,
    rule: event.rule,
    severity: event.severity || "info",
    condition: event.condition,
    score: event.score,
    question: event.question,
    explanation: event.explanation,
    measured: event.measured || null,
    started,
    ended: isoSeconds(event.ended_at),
    snapshotT: isoSeconds(snapshot.at) ?? started,
    clipStart: isoSeconds(clip.start),
    clipEnd: isoSeconds(clip.end),
  };
}

function alertItem(alert) {
  const item = el("li", `alert ${alert.severity}`);
  item.dataset.alertId = alert.id;
  const thumb = el("img");
  thumb.alt = `Snapshot of ${alert.camera} at ${clock(alert.snapshotT)}`;
  const body = el("div");
  body.append(el("div", "sev", alert.severity), el("div", "title", `${alert.rule} · ${alert.camera}`));
  body.append(el("div", "meta"));
  if (alert.explanation) body.append(el("div", "explanation", alert.explanation));
  // A question rule's alert is the model's answer: with the untrained preset it is mechanics, not a detection.
  const note = state.info?.model_note;
  if (alert.condition === "question" && note) body.append(el("div", "caveat", note));
  const play = el("button", "play", "Play clip");
  play.type = "button";
  play.setAttribute("aria-label", `Play the clip of ${alert.rule} on ${alert.camera}`);
  play.addEventListener("click", () => playClip(state.alerts.get(alert.id)?.alert || alert));
  body.append(play);
  item.append(thumb, body);
  loadThumb(thumb, alert);
  return item;
}

function updateAlertItem(item, alert) {
  item.className = `alert ${alert.severity} ${alert.type}`;
  const score = alert.score == null ? "" : ` · score ${Number(alert.score).toFixed(2)}`;
  const ended = alert.ended ? ` → ${clock(alert.ended)}` : "";
  $(".meta", item).textContent = `${alert.type} · ${clock(alert.started)}${ended}${score}${figures(alert.measured)}`;
}

// What a detector measured (conveyor: belt speed against its normal speed, held cells of a pile-up).
function figures(m) {
  if (!m) return "";
  const parts = [];
  if (m.speed_px_s != null) parts.push(`belt ${m.speed_px_s} px/s`);
  if (m.pct_of_normal != null) parts.push(`${m.pct_of_normal} % of normal ${m.normal_speed_px_s} px/s`);
  if (m.held_cells != null) parts.push(`${m.held_cells} of ${m.cells} cells held`);
  return parts.length ? ` · ${parts.join(", ")}` : "";
}

async function loadThumb(img, alert) {
  if (alert.snapshotT == null) return;
  try {
    img.src = await blobUrl(`/api/cameras/${encodeURIComponent(alert.camera)}/snapshot.jpg?t=${alert.snapshotT}`);
  } catch {
    img.alt = "No snapshot retained";
  }
}

export function addAlert(event, list = $("#alert-list"), store = state.alerts) {
  const alert = normalize(event);
  let entry = store.get(alert.id);
  if (!entry) {
    entry = { alert, item: alertItem(alert) };
    store.set(alert.id, entry);
    list.prepend(entry.item);
    trim(list, store);
  }
  entry.alert = alert;
  updateAlertItem(entry.item, alert);
  if (list === $("#alert-list")) $("#alerts-empty").hidden = true;
}

function trim(list, store) {
  while (list.children.length > TIMELINE_MAX) {
    const last = list.lastElementChild;
    store.delete(last.dataset.alertId);
    last.remove();
  }
}

export async function loadAlerts() {
  const { alerts } = await apiJson("/api/alerts?limit=50");
  // The API answers newest first; prepend oldest first so the newest ends on top.
  for (const event of alerts.reverse()) addAlert(event);
}

export function openFeed() {
  if (state.feed) state.feed.close();
  // EventSource cannot send headers: the token travels as ?token= (Referrer-Policy keeps it off other sites).
  const query = token() ? `?token=${encodeURIComponent(token())}` : "";
  const feed = new EventSource(`/api/alerts/stream${query}`);
  feed.addEventListener("open", () => setLive("Live", true));
  feed.addEventListener("error", () => setLive("Live alerts reconnecting…", false));
  feed.addEventListener("alert", (message) => onLiveAlert(JSON.parse(message.data)));
  state.feed = feed;
}

function onLiveAlert(event) {
  addAlert(event);
  if (state.page && normalize(event).camera === state.page) addAlert(event, $("#camera-alerts"), state.pageAlerts);
}

async function playClip(alert) {
  const dialog = $("#clip-dialog");
  const video = $("#clip-video");
  $("#clip-title").textContent = `${alert.rule} · ${alert.camera} · ${clock(alert.started)}`;
  $("#clip-status").textContent = "Loading the clip…";
  dialog.showModal();
  const { start, end } = clipRange(alert);
  try {
    const path = `/api/cameras/${encodeURIComponent(alert.camera)}/clip.mp4?start=${start}&end=${end}`;
    if (video.src.startsWith("blob:")) URL.revokeObjectURL(video.src);
    video.src = await blobUrl(path);
    $("#clip-status").textContent = `${clock(start)}–${clock(end)}`;
    await video.play().catch(() => {});
  } catch (error) {
    $("#clip-status").textContent = `No clip: ${error.message}`;
  }
}

function clipRange(alert) {
  // An alert still active has no end yet: cut up to a second ago, within the configured maximum.
  const now = Date.now() / 1000 - 1;
  const maxClip = state.info ? state.info.limits.max_clip_s : 300;
  const pre = state.info ? state.info.clip_pre_s : 5;
  const start = alert.clipStart ?? alert.started - pre;
  let end = Math.min(alert.clipEnd ?? now, now);
  end = Math.min(end, start + maxClip);
  return { start: Math.round(start * 1000) / 1000, end: Math.round(Math.max(end, start + 1) * 1000) / 1000 };
}

export function setupDialog() {
  // Closing the clip (button or Escape) stops it; the next clip starts from a clean element.
  $("#clip-dialog").addEventListener("close", () => $("#clip-video").pause());
}
