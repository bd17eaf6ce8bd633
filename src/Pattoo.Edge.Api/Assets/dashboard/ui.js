// Small DOM and formatting helpers. Text always goes in through textContent, never innerHTML.

/** h("a", {href: "#/"}, "text", child...): attributes starting with "on" become listeners. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
      else if (name === "class") el.className = value;
      else if (name === "dataset") Object.assign(el.dataset, value);
      else if (name === "style" && typeof value === "object") Object.assign(el.style, value);
      else if (value === true) el.setAttribute(name, "");
      else el.setAttribute(name, value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

let banner;
/** Shows (or with no message hides) the page-wide error banner, announced to screen readers. */
export function showError(message) {
  banner ??= document.getElementById("banner");
  banner.textContent = message || "";
  banner.hidden = !message;
}

const pad = n => String(n).padStart(2, "0");

/** Local time as 2024-05-01 13:04:05: unambiguous in any language. */
export function formatTime(ms, seconds = true) {
  if (ms === null || ms === undefined || ms === 0) return "never";
  const d = new Date(ms);
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + (seconds ? ":" + pad(d.getSeconds()) : "");
}

/** The value for an <input type="datetime-local">. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
}

export function formatAgo(ms, now = Date.now()) {
  if (!ms) return "never";
  return formatDuration(Math.max(0, now - ms)) + " ago";
}

export function formatDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min" + (s % 60 ? " " + (s % 60) + " s" : "");
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}

export function formatBytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}

export function formatCount(n) {
  return Number(n).toLocaleString("en-US");
}

/** A value for people: up to 4 significant decimals, thousands grouped. */
export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e9 || abs < 1e-3)) return v.toExponential(3);
  return v.toLocaleString("en-US", { maximumFractionDigits: abs >= 100 ? 1 : 4 });
}

/**
 * An axis tick: short enough to fit beside the chart. SI prefixes for large numbers (65.7M,
 * not a cut "000,000"), an exponent for tiny ones (1.39e-36, not 0: a wrong Modbus byte order
 * shows up exactly that way).
 */
export function formatAxis(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  const abs = Math.abs(v);
  if (abs === 0) return "0";
  if (abs < 1e-3 || abs >= 1e15) return v.toExponential(2).replace(/\.?0+e/, "e");
  // Below 10,000 numbers fit as they are; above, with a prefix.
  const prefixes = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  if (abs >= 1e4) {
    for (const [scale, p] of prefixes) {
      if (abs >= scale) return trim((v / scale).toPrecision(3)) + p;
    }
  }
  return trim(abs >= 100 ? v.toFixed(0) : v.toPrecision(3));
}

function trim(text) {
  return text.includes(".") && !text.includes("e") ? text.replace(/\.?0+$/, "") : text;
}

/** Parses the ISO 8601 strings the API gives for times (null stays null). */
export function parseTime(iso) {
  return iso ? Date.parse(iso) : null;
}

/** The query part of the hash (#/page?a=1) as URLSearchParams. */
export function hashParams() {
  const hash = location.hash;
  const q = hash.indexOf("?");
  return new URLSearchParams(q >= 0 ? hash.slice(q + 1) : "");
}

/** The hash for a page with parameters (empty ones left out). */
export function pageHash(page, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return "#/" + page + (s ? "?" + s : "");
}

/** The language datapoint names and units are shown in (pattoo's key translations). */
export function language() {
  try { return localStorage.getItem("pattoo-edge.language") || "en"; } catch { return "en"; }
}

export function setLanguage(code) {
  try { localStorage.setItem("pattoo-edge.language", code); } catch { /* private mode: this page only */ }
}

/** The GraphQL selection of a series' translated name and unit. */
export function translated() {
  const l = JSON.stringify(language());
  return `name(language: ${l}) unit(language: ${l})`;
}

/** One short description of a series: its translated name (else key), target, labels. */
export function seriesLabel(s) {
  const labels = (s.labels || []).filter(l => l.key !== "units").map(l => l.value);
  return (s.name || s.key) + " · " + s.agentPolledTarget + (labels.length ? " (" + labels.join(", ") + ")" : "");
}

/** The unit of a series as charted: counters are per-second rates. */
export function seriesUnit(s) {
  if (s.counter) return (s.unit || "") + "/s";
  return s.unit || "";
}

/** Puts the page's heading in focus after navigation, so screen readers announce the new page. */
export function focusHeading(main) {
  const heading = main.querySelector("h1");
  if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
}
