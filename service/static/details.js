// What an alert's detector measured, read generically from the event: any field beyond the published schema
// (docs/alert-event.schema.json) is a detector's addition, e.g. people's boxes or a belt's speed against normal.
const SCHEMA_KEYS = new Set([
  "schema_version", "event_id", "id", "seq", "type", "rule", "camera", "condition", "severity", "score",
  "peak_score", "question", "explanation", "started_at", "ended_at", "emitted_at", "snapshot", "clip", "model",
]);
const BOX_KEYS = ["box", "bbox", "xyxy"];
const GROUND_KEYS = ["ground", "ground_point", "foot", "feet"];

export function extras(event) {
  return Object.entries(event || {}).filter(([key]) => !SCHEMA_KEYS.has(key));
}

// Boxes as {x0, y0, x1, y1, ground: [x, y], label, inZone}; coordinates as the event gives them.
export function boxes(event) {
  const found = [];
  walk(extras(event), (key, value) => {
    if (!Array.isArray(value)) return false;
    const items = value.map((item) => asBox(item, key)).filter(Boolean);
    found.push(...items);
    return items.length > 0;
  });
  return found;
}

function walk(entries, visit, depth = 0) {
  for (const [key, value] of entries) {
    if (visit(key, value) || depth > 2) continue;
    if (value && typeof value === "object" && !Array.isArray(value)) walk(Object.entries(value), visit, depth + 1);
  }
}

function isQuad(value) {
  return Array.isArray(value) && value.length === 4 && value.every((v) => typeof v === "number");
}

function asBox(item, listKey) {
  if (isQuad(item) && /box|people|person|detection/i.test(listKey)) return box(item, null, {});
  if (!item || typeof item !== "object" || Array.isArray(item)) return null;
  const key = BOX_KEYS.find((k) => isQuad(item[k]));
  if (key) return box(item[key], GROUND_KEYS.map((k) => item[k]).find(isPoint) || null, item);
  if (["x0", "y0", "x1", "y1"].every((k) => typeof item[k] === "number")) {
    return box([item.x0, item.y0, item.x1, item.y1], null, item);
  }
  return null;
}

function isPoint(value) {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number");
}

function box([x0, y0, x1, y1], ground, item) {
  // The ground point is where a person stands: the bottom centre of the box unless the detector says otherwise.
  return {
    x0, y0, x1, y1,
    ground: ground || [(x0 + x1) / 2, y1],
    label: item.label ?? item.track_id ?? item.track ?? item.id ?? null,
    inZone: item.in_zone ?? item.inside ?? null,
  };
}

// Boxes in pixels become fractions of the image; fractions stay as they are.
export function normalizedBoxes(event, width, height) {
  return boxes(event).map((b) => {
    const pixels = Math.max(b.x1, b.y1, b.ground[0], b.ground[1]) > 1.5;
    const sx = pixels ? 1 / (width || 1) : 1;
    const sy = pixels ? 1 / (height || 1) : 1;
    return { ...b, x0: b.x0 * sx, x1: b.x1 * sx, y0: b.y0 * sy, y1: b.y1 * sy,
      ground: [b.ground[0] * sx, b.ground[1] * sy] };
  });
}

// Numbers the detector reported, with a unit read from the field's name (speed_px_s -> px/s).
export function figures(event) {
  const out = [];
  walk(extras(event), (key, value) => {
    const named = { key, label: label(key) };
    if (typeof value === "number" && Number.isFinite(value)) out.push({ ...named, value, unit: unit(key) });
    if (typeof value === "boolean" || typeof value === "string") out.push({ ...named, value: String(value), unit: "" });
    return Array.isArray(value);
  });
  return out;
}

const UNITS = [
  [/_px_s$|_px_per_s$/, "px/s"], [/_m_s$/, "m/s"], [/_pct$|_percent$|percent/, "%"],
  [/_px$/, "px"], [/_s$|_seconds$/, "s"], [/_ms$/, "ms"], [/frac|ratio/, "× normal"],
];

function label(key) {
  // speed_px_s -> "speed": the unit is shown after the value.
  const match = UNITS.find(([pattern]) => pattern.test(key));
  const bare = match && match[1] !== "× normal" ? key.replace(match[0], "") : key;
  return bare.replaceAll("_", " ").trim() || key;
}

function unit(key) {
  const match = UNITS.find(([pattern]) => pattern.test(key));
  return match ? match[1] : "";
}

// A belt's speed against its normal speed and thresholds, when the detector reported them (px/s or % alike).
export function speedGauge(event) {
  const list = figures(event).filter((f) => typeof f.value === "number");
  const pick = (pattern, not) => list.find((f) => pattern.test(f.key) && !(not && not.test(f.key)));
  const speed = pick(/speed/, /normal|threshold|below|above|clear|stop/);
  const normal = pick(/normal/);
  if (!speed || !normal || normal.value <= 0) return null;
  // A threshold as a fraction of normal: "15 %" is 0.15; a small number beside a speed in px/s already is one.
  const inNormal = (f) => {
    if (f.unit === "%") return f.value / 100;
    return f.value <= 1.5 && normal.value > 1.5 ? f.value : f.value / normal.value;
  };
  const marks = list.filter((f) => /threshold|below|above|stop|clear/.test(f.key) && f !== speed && f !== normal)
    .map((f) => ({ key: f.key, label: f.label, fraction: inNormal(f) }))
    .filter((m) => Number.isFinite(m.fraction) && m.fraction >= 0);
  return { speed: speed.value, normal: normal.value, unit: speed.unit, fraction: speed.value / normal.value, marks };
}
