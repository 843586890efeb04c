// The alert list: history filtered by camera, rule, severity and time, then live events read from the
// server-sent event stream; each alert has its snapshot (with the detector's boxes), figures and clip.
import { AuthNeeded, apiJson, blobUrl, readEvents, setLive } from "./api.js";
import { $, clock, el, isoSeconds, svg } from "./dom.js";
import { figures, normalizedBoxes, speedGauge } from "./details.js";
import { state } from "./state.js";

const LIST_MAX = 100;
const RECONNECT_MS = 2000;
const recent = []; // the newest events received live, re-applied when the list is reloaded under new filters

// The alert event's wire format is docs/alert-event.schema.json; this picks what the list shows.
export function normalize(event) {
  const clip = event.clip || {};
  const snapshot = event.snapshot || {};
  const started = isoSeconds(event.started_at);
  return {
    id: event.id, type: event.type, camera: event.camera, rule: event.rule,
    severity: event.severity || "info", condition: event.condition,
    score: event.score, peak: event.peak_score ?? event.score, question: event.question,
    explanation: event.explanation, started, ended: isoSeconds(event.ended_at),
    emitted: isoSeconds(event.emitted_at) ?? started,
    snapshotT: isoSeconds(snapshot.at) ?? started,
    clipStart: isoSeconds(clip.start), clipEnd: isoSeconds(clip.end), raw: event,
    // question rules carry the model that answered; an untrained one's alert is mechanics, never a detection
    untrained: Boolean(event.model && !event.model.trained), modelLabel: event.model ? event.model.label : null,
  };
}

function alertItem(alert) {
  const item = el("li", `alert ${alert.severity}${alert.untrained ? " untrained" : ""}`);
  item.dataset.alertId = alert.id;
  const thumb = el("figure", "thumb");
  const img = el("img");
  img.alt = `Snapshot of ${alert.camera} at ${clock(alert.snapshotT)}`;
  thumb.append(img, svg("svg", { class: "overlay", viewBox: "0 0 1 1", preserveAspectRatio: "none",
    "aria-hidden": "true" }));
  const body = el("div", "body");
  const sev = alert.untrained ? `${alert.severity} · untrained model` : alert.severity;
  body.append(el("div", "sev", sev), el("div", "title", `${alert.rule} · ${alert.camera}`));
  body.append(el("div", "meta"), el("dl", "detail-figures"));
  if (alert.explanation) body.append(el("div", "explanation", alert.explanation));
  // A question rule's alert is the model's answer: with the untrained preset it is mechanics, not a detection.
  const note = alert.untrained ? alert.modelLabel : state.info?.model_note;
  if (alert.condition === "question" && note) body.append(el("div", "caveat", note));
  const play = el("button", "play", "Play clip");
  play.type = "button";
  play.setAttribute("aria-label", `Play the clip of ${alert.rule} on ${alert.camera}`);
  play.addEventListener("click", () => playClip(state.alerts.get(alert.id)?.alert || alert));
  body.append(play);
  item.append(thumb, body);
  loadThumb(img, alert);
  return item;
}

function updateAlertItem(entry) {
  const { item, alert } = entry;
  item.className = `alert ${alert.severity} ${alert.type}${alert.untrained ? " untrained" : ""}`;
  // An ended alert shows its peak; an open one its current score and the peak so far.
  const score = alert.type === "ended"
    ? `peak ${fmt(alert.peak)}`
    : `score ${fmt(alert.score)} · peak ${fmt(alert.peak)}`;
  const ended = alert.ended ? ` → ${clock(alert.ended)}` : "";
  $(".meta", item).textContent = `${alert.type} · ${clock(alert.started)}${ended} · ${score}`;
  showFigures($(".detail-figures", item), alert.raw);
  drawThumbBoxes(item, alert.raw);
}

function fmt(value) {
  return value == null ? "–" : Number(value).toFixed(2);
}

export function showFigures(list, event) {
  list.replaceChildren();
  const gauge = speedGauge(event);
  if (gauge) list.append(gaugeRow(gauge));
  for (const figure of figures(event).slice(0, 8)) {
    const row = el("div");
    const value = typeof figure.value === "number" ? Number(figure.value.toFixed(3)) : figure.value;
    row.append(el("dt", null, figure.label), el("dd", null, `${value}${figure.unit ? ` ${figure.unit}` : ""}`));
    list.append(row);
  }
}

function gaugeRow(gauge) {
  // Belt speed against its own normal speed (100 %), with the thresholds the detector reported.
  const row = el("div", "gauge");
  const scale = Math.max(1.5, gauge.fraction * 1.1);
  const bar = el("div", "gauge-bar");
  const fill = el("div", "gauge-fill");
  fill.style.width = `${Math.min(100, (gauge.fraction / scale) * 100)}%`;
  bar.append(fill, mark("normal", 1 / scale));
  for (const m of gauge.marks) bar.append(mark(m.label, m.fraction / scale));
  const unitText = gauge.unit ? ` ${gauge.unit}` : "";
  const speed = `${Number(gauge.speed.toFixed(2))}${unitText}`;
  const normal = `${Number(gauge.normal.toFixed(2))}${unitText}`;
  const text = `${speed} = ${Math.round(gauge.fraction * 100)} % of normal (${normal})`;
  row.append(el("dt", null, "belt speed"), el("dd", null, text), bar);
  return row;
}

function mark(name, at) {
  const tick = el("span", "gauge-mark");
  tick.style.left = `${Math.min(100, at * 100)}%`;
  tick.title = name;
  return tick;
}

async function loadThumb(img, alert) {
  if (alert.snapshotT == null) return;
  try {
    img.src = await blobUrl(`/api/cameras/${encodeURIComponent(alert.camera)}/snapshot.jpg?t=${alert.snapshotT}`);
    img.addEventListener("load", () => drawThumbBoxes(img.closest("li"), alert.raw), { once: true });
  } catch {
    img.alt = "No snapshot retained";
  }
}

function drawThumbBoxes(item, event) {
  const img = $("img", item);
  const overlay = $("svg", item);
  overlay.replaceChildren();
  if (!img.naturalWidth) return;
  for (const b of normalizedBoxes(event, img.naturalWidth, img.naturalHeight)) {
    overlay.append(svg("rect", { x: b.x0, y: b.y0, width: b.x1 - b.x0, height: b.y1 - b.y0, class: "box" }));
    overlay.append(svg("circle", { cx: b.ground[0], cy: b.ground[1], r: 0.012, class: "ground" }));
  }
}

// ---- the list and its filters ------------------------------------------------------------------------------

function matches(alert) {
  const f = state.filters;
  const since = f.period ? Date.now() / 1000 - Number(f.period) : null;
  return (!f.camera || alert.camera === f.camera) && (!f.rule || alert.rule === f.rule)
    && (!f.severity || alert.severity === f.severity) && (since == null || alert.emitted >= since);
}

export function addAlert(event) {
  remember(event);
  show(event);
}

function show(event) {
  const alert = normalize(event);
  if (!matches(alert)) return;
  let entry = state.alerts.get(alert.id);
  if (!entry) {
    entry = { alert, item: alertItem(alert) };
    state.alerts.set(alert.id, entry);
    $("#alert-list").prepend(entry.item);
    trim();
  }
  entry.alert = alert;
  updateAlertItem(entry);
  $("#alerts-empty").hidden = true;
}

function remember(event) {
  if (!recent.some((known) => known.event_id === event.event_id)) recent.push(event);
  if (recent.length > LIST_MAX) recent.shift();
  const key = `${event.camera}/${event.rule}`;
  const known = state.latest.get(key);
  if (!known || (known.seq ?? 0) <= (event.seq ?? 0) || known.id !== event.id) state.latest.set(key, event);
  document.dispatchEvent(new CustomEvent("vigil:alert", { detail: event }));
}

function trim() {
  const list = $("#alert-list");
  while (list.children.length > LIST_MAX) {
    state.alerts.delete(list.lastElementChild.dataset.alertId);
    list.lastElementChild.remove();
  }
}

export async function loadAlerts() {
  const f = state.filters;
  const query = new URLSearchParams({ limit: "50" });
  for (const key of ["camera", "rule", "severity"]) if (f[key]) query.set(key, f[key]);
  if (f.period) query.set("since", String(Date.now() / 1000 - Number(f.period)));
  const { alerts } = await apiJson(`/api/alerts?${query}`);
  state.alerts.clear();
  $("#alert-list").replaceChildren();
  $("#alerts-empty").hidden = false;
  $("#alerts-empty").textContent = Object.values(f).some(Boolean) ? "No alerts match these filters." : "No alerts yet.";
  // The API answers newest first; prepend oldest first so the newest ends on top. Events that arrived live
  // while the history was read are shown again, so a reload never hides them.
  for (const event of alerts.reverse()) remember(event);
  for (const event of recent) show(event);
}

export function setupFilters() {
  const form = $("#alert-filters");
  form.addEventListener("change", () => {
    for (const key of Object.keys(state.filters)) state.filters[key] = form.elements[key].value;
    loadAlerts().catch(() => {});
  });
}

export function setFilter(key, value) {
  state.filters[key] = value;
  $("#alert-filters").elements[key].value = value;
}

export function fillFilterChoices() {
  const form = $("#alert-filters");
  const rules = new Set();
  for (const { view } of state.cameras.values()) for (const rule of view.rules) rules.add(rule.id);
  fill(form.elements.camera, [...state.cameras.values()].map(({ view }) => [view.id, view.name]), state.filters.camera);
  fill(form.elements.rule, [...rules].sort().map((id) => [id, id]), state.filters.rule);
}

function fill(select, choices, current) {
  if (select.options.length === choices.length + 1) return;
  select.replaceChildren(new Option("all", ""), ...choices.map(([value, text]) => new Option(text, value)));
  select.value = current;
}

// ---- the live feed ------------------------------------------------------------------------------------------

export function openFeed() {
  if (state.feed) state.feed.stopped = true;
  const feed = { stopped: false, lastId: null };
  state.feed = feed;
  followFeed(feed);
}

async function followFeed(feed) {
  while (!feed.stopped) {
    try {
      await readEvents("/api/alerts/stream", feed.lastId, (message) => onMessage(feed, message));
      setLive("Live alerts reconnecting…", false);
    } catch (error) {
      if (error instanceof AuthNeeded) return;
      setLive("Live alerts reconnecting…", false);
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

function onMessage(feed, message) {
  if (message.type === "open") setLive("Live", true);
  if (message.id) feed.lastId = message.id;
  if (message.type === "alert") addAlert(JSON.parse(message.data));
}

// ---- clips --------------------------------------------------------------------------------------------------

export async function showClip(cameraId, start, end, title) {
  const dialog = $("#clip-dialog");
  const video = $("#clip-video");
  const download = $("#clip-download");
  $("#clip-title").textContent = title;
  $("#clip-status").textContent = "Loading the clip…";
  download.hidden = true;
  if (!dialog.open) dialog.showModal();
  try {
    const path = `/api/cameras/${encodeURIComponent(cameraId)}/clip.mp4?start=${start}&end=${end}`;
    if (video.src.startsWith("blob:")) URL.revokeObjectURL(video.src);
    video.src = await blobUrl(path);
    download.href = video.src;
    download.download = `${cameraId}-${Math.floor(start)}-${Math.ceil(end)}.mp4`;
    download.hidden = false;
    $("#clip-status").textContent = `${clock(start)}–${clock(end)}`;
    await video.play().catch(() => {});
  } catch (error) {
    $("#clip-status").textContent = `No clip: ${error.message}`;
  }
}

function playClip(alert) {
  const { start, end } = clipRange(alert);
  showClip(alert.camera, start, end, `${alert.rule} · ${alert.camera} · ${clock(alert.started)}`);
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
