// The dashboard's only way to the box: the public GraphQL API at /graphql (POST JSON).
// A token (api.read_tokens / api.write_tokens) is kept in this browser only and sent as a
// Bearer header; boxes that keep reads open to the LAN need none to look, and loopback or
// api.ingest_allow clients need none to save favourites. Writes to devices need a control
// token (api.control_tokens), kept for the tab only and sent with those requests alone.

const TOKEN_KEY = "pattoo.edge.dashboard.token";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export function token() {
  try { return localStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

export function setToken(value) {
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY);
  } catch { /* private mode: the token lasts for this page only */ }
}

const CONTROL_TOKEN_KEY = "pattoo.edge.dashboard.controlToken";

/** The control token (api.control_tokens) for write-back: kept for this tab only, never in localStorage. */
export function controlToken() {
  try { return sessionStorage.getItem(CONTROL_TOKEN_KEY) || ""; } catch { return ""; }
}

export function setControlToken(value) {
  try {
    if (value) sessionStorage.setItem(CONTROL_TOKEN_KEY, value); else sessionStorage.removeItem(CONTROL_TOKEN_KEY);
  } catch { /* storage blocked: the token is not kept */ }
}

/**
 * Runs one GraphQL operation; resolves to its data, rejects with ApiError listing every error
 * (its code, when the API gave one, in ApiError.code). bearer replaces the read token (a control token).
 */
export async function gql(query, variables, signal, bearer) {
  const headers = { "Content-Type": "application/json", "Accept": "application/json" };
  const t = bearer || token();
  if (t) headers.Authorization = "Bearer " + t;
  let response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }), signal, cache: "no-store" });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError("The box did not answer (" + e.message + ").", 0);
  }
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  if (response.status === 401) throw new ApiError("This box needs a read token: set one on the Favourites page.", 401);
  if (!response.ok && !(body && body.data)) {
    const message = body && (body.error || (body.errors && body.errors.map(e => e.message).join("; ")));
    throw new ApiError("The API answered " + response.status + (message ? ": " + message : ""), response.status);
  }
  if (body && body.errors && body.errors.length) {
    const error = new ApiError(body.errors.map(e => e.message).join("; "), response.status);
    error.code = body.errors[0].extensions && body.errors[0].extensions.code;
    throw error;
  }
  return body ? body.data : null;
}

/** A GraphQL string literal. */
export function str(value) {
  return JSON.stringify(String(value));
}
