// The zone editor: outline a region and a belt direction on the camera's live image; the service answers with
// the rule's YAML (normalised coordinates) and whether `vigil check-config` accepts it.
import { AuthNeeded, postJson } from "./api.js";
import { $, svg } from "./dom.js";
import { arrow, centroid, imageSize, layer } from "./overlay.js";
import { state } from "./state.js";

const CHECK_DEBOUNCE_MS = 250;
const draft = { mode: null, points: [], direction: null, from: null, timer: null };

export function setupZoneEditor() {
  $("#zone-draw").addEventListener("click", () => setMode(draft.mode === "region" ? null : "region"));
  $("#zone-direction").addEventListener("click", () => setMode(draft.mode === "direction" ? null : "direction"));
  $("#zone-undo").addEventListener("click", () => {
    draft.points.pop();
    changed();
  });
  $("#zone-clear").addEventListener("click", clearDraft);
  $("#zone-condition").addEventListener("change", () => {
    if (!takesDirection()) draft.direction = null;
    $("#zone-direction").disabled = !takesDirection();
    changed();
  });
  $("#zone-copy").addEventListener("click", () => navigator.clipboard?.writeText($("#zone-yaml").textContent));
  const slot = $("#camera-tile-slot");
  slot.addEventListener("pointerdown", (event) => onPointer(event, "down"));
  slot.addEventListener("pointerup", (event) => onPointer(event, "up"));
}

export function fillConditions() {
  const select = $("#zone-condition");
  const kinds = Object.entries(state.info?.region_conditions || {});
  if (select.options.length === kinds.length) return;
  const text = (kind, direction) => (direction ? `${kind} (belt: region + direction)` : `${kind} (zone)`);
  select.replaceChildren(...kinds.map(([kind, direction]) => new Option(text(kind, direction), kind)));
  $("#zone-direction").disabled = !takesDirection();
}

export function clearDraft() {
  Object.assign(draft, { points: [], direction: null, from: null });
  setMode(null);
  changed();
}

function takesDirection() {
  return Boolean(state.info?.region_conditions?.[$("#zone-condition").value]);
}

function setMode(mode) {
  draft.mode = mode;
  draft.from = null;
  $("#zone-draw").setAttribute("aria-pressed", String(mode === "region"));
  $("#zone-direction").setAttribute("aria-pressed", String(mode === "direction"));
  $("#camera-tile-slot").classList.toggle("drawing", mode !== null);
}

function onPointer(event, phase) {
  const img = event.target.closest(".frame")?.querySelector(".snapshot");
  if (!draft.mode || !img || img.hidden) return;
  event.preventDefault();
  const box = img.getBoundingClientRect();
  const point = [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  if (draft.mode === "region" && phase === "down") draft.points.push(point);
  if (draft.mode === "direction") directionPoint(point, phase);
  changed();
}

function directionPoint(point, phase) {
  // Drag from where the belt comes to where it goes, or click there and then click again.
  if (!draft.from) {
    if (phase === "down") draft.from = point;
    return;
  }
  const size = imageSize(tile());
  const dx = (point[0] - draft.from[0]) * size.width; // image axes, pixels: x right, y down
  const dy = (point[1] - draft.from[1]) * size.height;
  if (Math.hypot(dx, dy) < 4) return; // the click that started it
  draft.direction = [dx, dy];
  draft.from = null;
}

function clamp(v) {
  return Math.min(1, Math.max(0, v));
}

function tile() {
  return state.cameras.get(state.page)?.tile;
}

function changed() {
  drawDraft();
  clearTimeout(draft.timer);
  draft.timer = setTimeout(check, CHECK_DEBOUNCE_MS);
}

function drawDraft() {
  const current = tile();
  if (!current) return;
  const group = layer(current, "draft");
  group.replaceChildren();
  const points = draft.points.map((p) => p.join(",")).join(" ");
  const shape = draft.points.length > 2 ? "polygon" : "polyline";
  if (draft.points.length > 1) group.append(svg(shape, { points, class: "draft-shape" }));
  const size = imageSize(current);
  for (const [x, y] of draft.points) {
    const ry = (0.01 * size.width) / size.height; // a round dot on a stretched 0..1 canvas
    group.append(svg("ellipse", { cx: x, cy: y, rx: 0.01, ry, class: "draft-point" }));
  }
  if (draft.direction && draft.points.length) {
    group.append(arrow(centroid(draft.points), draft.direction, size, "draft-arrow"));
  }
}

async function check() {
  const status = $("#zone-status");
  if (draft.points.length < 3) {
    status.textContent = draft.points.length ? `${draft.points.length} point(s); a region needs at least 3.` : "";
    $("#zone-yaml").textContent = "";
    $("#zone-copy").disabled = true;
    return;
  }
  const body = { condition: $("#zone-condition").value, region: draft.points, direction: draft.direction };
  try {
    const answer = await postJson(`/api/cameras/${encodeURIComponent(state.page)}/zone`, body);
    $("#zone-yaml").textContent = answer.yaml;
    $("#zone-copy").disabled = false;
    status.className = `zone-status ${answer.valid ? "ok" : "bad"}`;
    const verdict = answer.valid
      ? "vigil check-config accepts this rule."
      : `check-config refuses it: ${answer.issues.join("; ")}`;
    const hint = takesDirection() && !draft.direction ? " Draw the belt's direction too (optional)." : "";
    status.textContent = [verdict + hint, ...answer.notes].join(" ");
  } catch (error) {
    status.className = "zone-status bad";
    status.textContent = error instanceof AuthNeeded ? "Enter the API token first." : error.message;
  }
}
