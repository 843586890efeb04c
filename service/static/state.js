// The console's one mutable state, owned by the modules that render it.
export const state = {
  info: null, // GET /api/info: model preset and its caveat, limits, clip padding, drawable conditions
  cameras: new Map(), // camera id -> {view, tile, live: {url, retry}}
  alerts: new Map(), // occurrence id -> {alert, item} in the alert list
  latest: new Map(), // "camera/rule" -> the newest alert event seen (the detectors' figures and boxes)
  filters: { camera: "", rule: "", severity: "", period: "" }, // the alert list's filters
  feed: null, // {abort: AbortController} of the live alert stream
  page: null, // camera id shown on the camera page, or null for the overview
};
