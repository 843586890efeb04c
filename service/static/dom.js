// Small DOM and formatting helpers shared by the console's modules.
export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function clock(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
}

export function dateTime(t) {
  const d = new Date(t * 1000);
  return `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${clock(t)}`;
}

export function bytes(n) {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

export function seconds(s) {
  return s == null ? "–" : `${s.toFixed(1)} s`;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

export function isoSeconds(value) {
  if (value == null) return null;
  return typeof value === "number" ? value : Date.parse(value) / 1000;
}
