// API access with the bearer token kept in sessionStorage (entered once per browser session).
import { $ } from "./dom.js";

const TOKEN_KEY = "vigil.token";

export class AuthNeeded extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token()) headers.set("Authorization", `Bearer ${token()}`);
  const response = await fetch(path, { ...options, headers });
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

// Images and clips are fetched with the Authorization header and shown through blob: URLs,
// so the token never appears in an <img> or <video> URL.
export async function blobUrl(path) {
  const blob = await (await api(path)).blob();
  return URL.createObjectURL(blob);
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
