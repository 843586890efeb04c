// Vigil console: plain JavaScript modules, no build step. Reads the HTTP API; see /openapi.json.
import { AuthNeeded, apiJson, setLive, setupToken, token } from "./api.js";
import { $ } from "./dom.js";
import { refreshScores, route } from "./camera_page.js";
import { state } from "./state.js";
import { refreshCameras, refreshSnapshot } from "./tiles.js";
import { loadAlerts, openFeed, setupDialog } from "./timeline.js";

const CAMERA_POLL_MS = 2000;
const SNAPSHOT_MS = 1000;
const SCORES_POLL_MS = 2000;

function every(ms, task) {
  const run = async () => {
    try {
      await task();
    } catch (error) {
      if (!(error instanceof AuthNeeded)) setLive(`Service: ${error.message}`, false);
    }
    setTimeout(run, ms);
  };
  run();
}

let started = false;

async function start() {
  try {
    state.info = await apiJson("/api/info");
  } catch (error) {
    if (!(error instanceof AuthNeeded)) setLive(`Service unreachable: ${error.message}`, false);
    return;
  }
  $("#token-forget").hidden = !token();
  showModel(state.info);
  await refreshCameras();
  route();
  await loadAlerts();
  openFeed();
  if (started) return;
  started = true;
  every(CAMERA_POLL_MS, refreshCameras);
  every(SNAPSHOT_MS, async () => Promise.all([...state.cameras.values()].map(refreshSnapshot)));
  every(SCORES_POLL_MS, refreshScores);
  window.addEventListener("hashchange", route);
}

function showModel(info) {
  const note = $("#model-note");
  note.hidden = !info.model_note;
  note.textContent = info.model_note ? `Model: ${info.model_note}` : "";
}

setupToken(start);
setupDialog();
start();
