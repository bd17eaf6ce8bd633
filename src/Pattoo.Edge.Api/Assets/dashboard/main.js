// The dashboard: one page, hash routes (#/, #/browse, #/chart, #/events, #/favourites, #/discover).
// Each page module exports render(main, params) and may return a function that stops it
// (timers, pending requests) when the reader leaves.
import { gql } from "./api.js";
import { focusHeading, showError, language, setLanguage, h } from "./ui.js";
import * as overview from "./overview.js";
import * as browse from "./browse.js";
import * as chart from "./chart.js";
import * as favourites from "./favourites.js";
import * as discover from "./discover.js";
import * as events from "./events.js";

const pages = { overview, browse, chart, events, favourites, discover };
const titles = { overview: "Overview", browse: "Datapoints", chart: "Chart", events: "Events", favourites: "Favourites", discover: "Discover" };
const main = document.getElementById("main");
let stop = null;
let current = "";
let boxName = "";
let first = true;

function route() {
  const hash = location.hash || "#/";
  const path = hash.slice(2).split("?")[0];
  const page = pages[path] ? path : "overview";
  const params = new URLSearchParams(hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "");
  // A page may rewrite its own parameters (replaceState) without being rebuilt.
  const key = page + "?" + params.toString();
  if (key === current) return;
  const samePage = current.split("?")[0] === page;
  current = key;
  if (stop) { try { stop(); } catch { /* ignore */ } stop = null; }
  showError("");
  for (const a of document.querySelectorAll(".top nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.title = titles[page] + " · " + (boxName || "Pattoo.Edge");
  main.replaceChildren();
  document.body.dataset.page = page;
  stop = pages[page].render(main, params) || null;
  // Not on the first page load: a screen reader starts at the top, and Tab reaches the skip link.
  if (!samePage && !first) focusHeading(main);
  first = false;
}

/** Called by pages that change their own parameters: keeps the URL shareable without a rebuild. */
export function replaceParams(hash) {
  history.replaceState(null, "", hash);
  current = hash.slice(2).split("?")[0] + "?" + new URLSearchParams(hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "").toString();
}

window.addEventListener("hashchange", route);
route();

// Languages with translations (pattoo's language table); the choice is kept in this browser.
const languageSelect = document.getElementById("language");
languageSelect.addEventListener("change", () => {
  setLanguage(languageSelect.value);
  current = ""; // rebuild the page with names in the new language
  route();
});

gql("{ appliance { name version } allLanguage { edges { node { code name } } } }").then(d => {
  const languages = d.allLanguage.edges.map(e => e.node);
  const chosen = language();
  languageSelect.replaceChildren(...languages.map(l => h("option", { value: l.code, selected: l.code === chosen }, l.code + " · " + l.name)));
  languageSelect.closest("label").hidden = languages.length < 2;
  boxName = d.appliance.name;
  document.getElementById("box-name").textContent = d.appliance.name + " · " + d.appliance.version;
  document.title = document.title.replace("Pattoo.Edge", boxName);
}).catch(e => showError(e.message));
