// What the detectors look at and what they saw, drawn over a camera's live image: each rule's region and belt
// direction, and the boxes (with the ground point a person stands on) of the camera's newest alerts.
import { $, $$, el, svg } from "./dom.js";
import { normalizedBoxes } from "./details.js";
import { state } from "./state.js";

const ARROW_LENGTH = 0.18; // of the image's width

export function imageSize(tile) {
  const img = $(".snapshot", tile);
  return { width: img.naturalWidth || 16, height: img.naturalHeight || 9 };
}

export function layer(tile, name) {
  const overlay = $(".overlay", tile);
  let group = $(`g.${name}`, overlay);
  if (!group) {
    group = svg("g", { class: name });
    overlay.append(group);
  }
  return group;
}

export function drawOverlay(entry) {
  const { tile, view } = entry;
  const size = imageSize(tile);
  const rules = layer(tile, "rules");
  rules.replaceChildren();
  $$(".overlay-label", tile).forEach((label) => label.remove());
  for (const rule of view.rules || []) {
    if (!rule.region) continue;
    const points = corners(rule.region);
    rules.append(svg("polygon", { points: points.map((p) => p.join(",")).join(" "), class: `region ${rule.kind}` }));
    if (rule.direction) rules.append(arrow(centroid(points), rule.direction, size, "direction"));
    label(tile, points[0], rule.id);
  }
  drawDetections(entry, size);
}

function drawDetections(entry, size) {
  const group = layer(entry.tile, "detections");
  group.replaceChildren();
  for (const [key, event] of state.latest) {
    if (!key.startsWith(`${entry.view.id}/`) || event.type === "ended") continue;
    for (const b of normalizedBoxes(event, size.width, size.height)) {
      const cls = b.inZone === false ? "box outside" : "box";
      group.append(svg("rect", { x: b.x0, y: b.y0, width: b.x1 - b.x0, height: b.y1 - b.y0, class: cls }));
      group.append(svg("ellipse", { cx: b.ground[0], cy: b.ground[1], rx: 0.008, ry: 0.008 * size.width / size.height,
        class: "ground" }));
    }
  }
}

export function corners(region) {
  if (region.length !== 2) return region;
  const [[x0, y0], [x1, y1]] = region;
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
}

export function centroid(points) {
  const n = points.length;
  return [points.reduce((s, p) => s + p[0], 0) / n, points.reduce((s, p) => s + p[1], 0) / n];
}

// An arrow from `from` along a direction given in image axes (pixels, y down), drawn in 0..1 coordinates.
export function arrow(from, [dx, dy], { width, height }, className) {
  const length = Math.hypot(dx, dy) || 1;
  const ux = dx / length;
  const uy = dy / length;
  const reach = ARROW_LENGTH * width; // pixels
  const tip = [from[0] + (ux * reach) / width, from[1] + (uy * reach) / height];
  const head = 0.035 * width;
  const side = (sign) => [
    tip[0] + (-ux * head + sign * -uy * head * 0.6) / width,
    tip[1] + (-uy * head + sign * ux * head * 0.6) / height,
  ];
  const group = svg("g", { class: className });
  group.append(svg("line", { x1: from[0], y1: from[1], x2: tip[0], y2: tip[1] }));
  group.append(svg("polygon", { points: [tip, side(1), side(-1)].map((p) => p.join(",")).join(" ") }));
  return group;
}

function label(tile, [x, y], text) {
  const tag = el("span", "overlay-label", text);
  tag.style.left = `${Math.min(85, x * 100)}%`;
  tag.style.top = `${Math.min(92, y * 100)}%`;
  $(".frame", tile).append(tag);
}
