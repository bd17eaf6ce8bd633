// Events: SNMP traps and informs, alert state changes; newest first, filtered by source, kind
// and severity, paged by "Older", refreshed every 10 s while the first page is shown.
import { gql, str } from "./api.js";
import { h, showError, formatTime, formatAgo, pageHash } from "./ui.js";
import { replaceParams } from "./main.js";

const PAGE = 50;
const SEVERITIES = ["", "critical", "warning", "info"];
const KINDS = ["", "trap", "inform", "alert"];

const FIELDS = "totalCount pageInfo { hasNextPage endCursor } edges { node { idxEvent timestamp agentProgram agentPolledTarget kind severity text details { key value } } }";

/** The query of one page with the filters set. */
function query(filters, after) {
  const args = [`first: ${PAGE}`];
  for (const name of ["source", "kind", "severity"]) if (filters[name]) args.push(`${name}: ${str(filters[name])}`);
  if (after) args.push(`after: ${str(after)}`);
  return `{ events(${args.join(", ")}) { ${FIELDS} } }`;
}

/** A severity as a badge: critical and warning stand out, info does not. */
export function severityBadge(severity) {
  const cls = severity === "critical" ? "state bad" : severity === "warning" ? "state warn" : "state idle";
  return h("span", { class: cls }, severity);
}

/** One event as a table row; its details fold out. */
export function eventRow(e, now) {
  return h("tr", { "data-event": e.idxEvent, "data-severity": e.severity },
    h("td", { "data-label": "Time", class: "nowrap" }, h("time", { datetime: new Date(e.timestamp).toISOString(), title: formatAgo(e.timestamp, now) }, formatTime(e.timestamp))),
    h("td", { "data-label": "Severity", class: "nowrap" }, severityBadge(e.severity)),
    h("td", { "data-label": "Source", class: "nowrap" }, h("a", { href: pageHash("events", { source: e.agentProgram + "/" + e.agentPolledTarget }) }, e.agentProgram + "/" + e.agentPolledTarget)),
    h("td", { "data-label": "Kind", class: "nowrap" }, e.kind),
    h("td", { "data-label": "Event" }, h("details", { class: "event" },
      h("summary", null, e.text),
      h("dl", null, e.details.map(d => [h("dt", null, d.key), h("dd", null, d.value)])))));
}

export function eventTable(caption, rows) {
  return h("table", { class: "cards events" },
    h("caption", null, caption),
    h("thead", null, h("tr", null, ["Time", "Severity", "Source", "Kind", "Event"].map(t => h("th", { scope: "col" }, t)))),
    h("tbody", null, rows));
}

export function render(main, params) {
  const filters = { source: params.get("source") || "", kind: params.get("kind") || "", severity: params.get("severity") || "" };
  const source = h("input", { type: "search", id: "events-source", value: filters.source, placeholder: "snmp or snmp/core-switch", autocomplete: "off", spellcheck: "false" });
  const kind = h("select", { id: "events-kind" }, KINDS.map(k => h("option", { value: k, selected: k === filters.kind }, k || "any")));
  const severity = h("select", { id: "events-severity" }, SEVERITIES.map(s => h("option", { value: s, selected: s === filters.severity }, s || "any")));
  const list = h("div", { class: "table-wrap", id: "events" }, h("p", { class: "muted" }, "Loading…"));
  const older = h("button", { type: "button", id: "events-older", hidden: true }, "Older events");
  main.append(
    h("h1", null, "Events"),
    h("p", { class: "muted" }, "What devices said and what the box noticed: SNMP traps and informs ([snmp.traps] in the config) and alert state changes, newest first, kept for events.retention."),
    h("form", { class: "filters", onsubmit: e => { e.preventDefault(); apply(); } },
      h("div", { class: "field" }, h("label", { for: "events-source" }, "Source"), source),
      h("div", { class: "field" }, h("label", { for: "events-kind" }, "Kind"), kind),
      h("div", { class: "field" }, h("label", { for: "events-severity" }, "Severity"), severity),
      h("button", { type: "submit", class: "primary" }, "Show")),
    list, older);

  let rows = [];
  let cursor = null;
  let total = 0;
  let timer = 0;
  let controller = null;

  function apply() {
    filters.source = source.value.trim();
    filters.kind = kind.value;
    filters.severity = severity.value;
    replaceParams(pageHash("events", filters));
    rows = [];
    cursor = null;
    load(false);
  }

  async function load(more) {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const d = (await gql(query(filters, more ? cursor : null), undefined, controller.signal)).events;
      showError("");
      const now = Date.now();
      const page = d.edges.map(e => eventRow(e.node, now));
      rows = more ? rows.concat(page) : page;
      total = d.totalCount;
      if (more || rows.length <= PAGE) cursor = d.pageInfo.endCursor;
      older.hidden = !d.pageInfo.hasNextPage;
      list.replaceChildren(rows.length === 0
        ? h("p", { class: "muted" }, "No events" + (filters.source || filters.kind || filters.severity ? " match these filters." : " yet."))
        : eventTable(`${rows.length} of ${total} events${rows.length <= PAGE ? "; refreshed every 10 s" : ""}`, rows));
    } catch (e) {
      if (e.name !== "AbortError") showError(e.message);
    }
    // Only the first page refreshes: a reader paging back must not have rows move under them.
    if (rows.length <= PAGE) timer = setTimeout(() => load(false), 10_000);
  }

  older.addEventListener("click", () => load(true));
  load(false);
  return () => { clearTimeout(timer); if (controller) controller.abort(); };
}
