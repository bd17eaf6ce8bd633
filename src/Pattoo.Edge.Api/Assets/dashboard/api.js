// The dashboard's only way to the box: the public GraphQL API at /graphql (POST JSON).
// A token (api.read_tokens / api.write_tokens) is kept in this browser only and sent as a
// Bearer header; boxes that keep reads open to the LAN need none to look, and loopback or
// api.ingest_allow clients need none to save favourites.

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

/** Runs one GraphQL operation; resolves to its data, rejects with ApiError listing every error. */
export async function gql(query, variables, signal) {
  const headers = { "Content-Type": "application/json", "Accept": "application/json" };
  const t = token();
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
  if (body && body.errors && body.errors.length) throw new ApiError(body.errors.map(e => e.message).join("; "), response.status);
  return body ? body.data : null;
}

/** A GraphQL string literal. */
export function str(value) {
  return JSON.stringify(String(value));
}
