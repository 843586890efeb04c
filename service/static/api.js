// API access with the bearer token kept in sessionStorage (entered once per browser session).
import { $ } from "./dom.js";

const TOKEN_KEY = "vigil.token";

export class AuthNeeded extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function authHeaders(extra) {
  const headers = new Headers(extra || {});
  if (token()) headers.set("Authorization", `Bearer ${token()}`);
  return headers;
}

export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers) });
  if (response.status === 401) {
    askForToken();
    throw new AuthNeeded("a token is needed");
  }
  if (!response.ok) throw new Error(await reason(response));
  return response;
}

async function reason(response) {
  // Every API error is JSON {"error": "..."}; anything else is shown by its status.
  try {
    const body = await response.json();
    return body.error || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

export async function apiJson(path, options) {
  return (await api(path, options)).json();
}

export async function postJson(path, body) {
  return apiJson(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// Images and clips are fetched with the Authorization header and shown through blob: URLs,
// so the token never appears in an <img> or <video> URL.
export async function blobUrl(path) {
  const blob = await (await api(path)).blob();
  return URL.createObjectURL(blob);
}

// A live view is an <img>, which sends no header: it carries a one-minute ticket for its camera instead.
export async function liveUrl(cameraId, width) {
  const { url } = await postJson(`/api/cameras/${encodeURIComponent(cameraId)}/live-ticket`, {});
  return width ? `${url}&width=${width}` : url;
}

// Server-sent events read with fetch: the token goes in a header (never the URL), and an open stream does not
// hold the page "loading" (EventSource does, so headless renderers never finish).
export async function readEvents(path, lastId, onEvent) {
  const headers = authHeaders(lastId ? { "Last-Event-ID": lastId } : {});
  const response = await fetch(path, { headers, cache: "no-store" });
  if (response.status === 401) {
    askForToken();
    throw new AuthNeeded("a token is needed");
  }
  if (!response.ok || !response.body) throw new Error(await reason(response));
  onEvent({ type: "open" });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const message = parseMessage(buffered.slice(0, end));
      buffered = buffered.slice(end + 2);
      if (message) onEvent(message);
    }
  }
}

function parseMessage(block) {
  const message = { type: "message", data: [], id: null };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (field === "event") message.type = value;
    else if (field === "data") message.data.push(value);
    else if (field === "id") message.id = value;
  }
  if (!message.data.length) return null;
  return { ...message, data: message.data.join("\n") };
}

export function askForToken() {
  $("#token-form").hidden = false;
  $("#token-forget").hidden = true;
  setLive("A token is needed to read this service", false);
  if (!document.activeElement || document.activeElement === document.body) $("#token-input").focus();
}

export function setupToken(onToken) {
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token-input").value.trim());
    $("#token-input").value = "";
    $("#token-form").hidden = true;
    onToken();
  });
  $("#token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
}

export function setLive(text, ok) {
  const live = $("#live");
  live.textContent = text;
  live.classList.toggle("ok", ok === true);
  live.classList.toggle("down", ok === false);
}
