// Vigil console: plain JavaScript modules, no build step. Reads the HTTP API; see /openapi.json.
import { AuthNeeded, apiJson, setLive, setupToken, token } from "./api.js";
import { $ } from "./dom.js";
import { fillFilterChoices, loadAlerts, openFeed, setupDialog, setupFilters } from "./alert_list.js";
import { refreshScores, route } from "./camera_page.js";
import { setupFootage } from "./footage.js";
import { state } from "./state.js";
import { refreshCameras, resumeLive, stopLive } from "./tiles.js";
import { setupZoneEditor } from "./zone_editor.js";

const CAMERA_POLL_MS = 2000;
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
  // Cameras first: the page shows them whatever the live alert stream does.
  await refreshCameras();
  fillFilterChoices();
  route();
  await loadAlerts();
  openFeed();
  if (started) return;
  started = true;
  every(CAMERA_POLL_MS, async () => {
    await refreshCameras();
    fillFilterChoices();
  });
  every(SCORES_POLL_MS, refreshScores);
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => (document.hidden ? stopLive() : resumeLive()));
}

function showModel(info) {
  const note = $("#model-note");
  note.hidden = !info.model_note;
  note.textContent = info.model_note ? `Model: ${info.model_note}` : "";
}

function setupWall() {
  // Wall view: live images only, as many as fit, for a control-room screen.
  const button = $("#wall-toggle");
  button.addEventListener("click", () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(on));
    document.body.classList.toggle("wall", on);
  });
}

setupToken(start);
setupDialog();
setupFilters();
setupFootage();
setupZoneEditor();
setupWall();
start();
