// The console's one mutable state, owned by the modules that render it.
export const state = {
  info: null, // GET /api/info: model preset and its caveat, limits, clip padding
  cameras: new Map(), // camera id -> {view, tile, busy, url}
  alerts: new Map(), // occurrence id -> {alert, item} in the timeline
  pageAlerts: new Map(), // the same, for the camera page's recent alerts
  feed: null, // the live EventSource
  page: null, // camera id shown on the camera page, or null for the overview
};
