// Overview: the box's facts, its poll targets with their state, the latest events, where its
// samples are forwarded, and the agents whose data it keeps.
import { gql } from "./api.js";
import { eventRow, eventTable, severityBadge } from "./events.js";
import { h, showError, formatAgo, formatTime, formatBytes, formatCount, formatDuration, parseTime, pageHash } from "./ui.js";

const QUERY = `{
  appliance { name version uptimeSeconds databaseBytes sampleCount seriesCount samplesWritten }
  pollers { program name intervalSeconds ok lastSuccess lastError lastErrorAt roundTripMs datapoints samplesToday polls failures diagnostics { name value } }
  forwarders { name kind connected backlogSamples oldestUnsentAge lastError samplesPerSecond samplesSent }
  allAgent { edges { node { idxAgent agentProgram agentPolledTarget datapointAgent { totalCount } } } }
  alerts { rule state severity since value message agentProgram agentPolledTarget key }
  events(first: 5) { totalCount edges { node { idxEvent timestamp agentProgram agentPolledTarget kind severity text details { key value } } } }
}`;

export function render(main) {
  const facts = h("dl", { class: "facts", id: "facts" });
  const pollers = h("div", { class: "table-wrap", id: "pollers" }, h("p", { class: "muted" }, "Loading…"));
  const agents = h("div", { class: "table-wrap", id: "agents" });
  const forwarders = h("section", { "aria-labelledby": "h-forwarders", id: "forwarders", hidden: "" });
  const events = h("section", { "aria-labelledby": "h-events", id: "latest-events", hidden: "" });
  const alerts = h("section", { "aria-labelledby": "h-alerts", id: "alerts", hidden: "" });
  main.append(
    h("h1", null, "Overview"),
    h("section", { "aria-labelledby": "h-box" }, h("h2", { id: "h-box", class: "visually-hidden" }, "This box"), facts),
    alerts,
    h("section", { "aria-labelledby": "h-pollers" }, h("h2", { id: "h-pollers" }, "Pollers"), pollers),
    events,
    forwarders,
    h("section", { "aria-labelledby": "h-agents" }, h("h2", { id: "h-agents" }, "Stored data by agent"), agents));

  let timer = 0;
  let controller = null;
  async function load() {
    controller = new AbortController();
    try {
      const d = await gql(QUERY, undefined, controller.signal);
      showError("");
      fill(d, facts, pollers, agents);
      fillForwarders(d.forwarders, forwarders);
      fillEvents(d.events, events);
      fillAlerts(d.alerts, alerts);
    } catch (e) {
      if (e.name !== "AbortError") showError(e.message);
    }
    timer = setTimeout(load, 10_000);
  }
  load();
  return () => { clearTimeout(timer); if (controller) controller.abort(); };
}

function fill(d, facts, pollers, agents) {
  const a = d.appliance;
  const fact = (label, value, id) => h("div", null, h("dt", null, label), h("dd", { "data-fact": id }, value));
  facts.replaceChildren(
    fact("Name", a.name, "name"),
    fact("Version", a.version, "version"),
    fact("Up for", formatDuration(a.uptimeSeconds * 1000), "uptime"),
    fact("Series", formatCount(a.seriesCount), "series"),
    fact("Samples stored", formatCount(a.sampleCount), "samples"),
    fact("Written since start", formatCount(a.samplesWritten), "written"),
    fact("Database", formatBytes(a.databaseBytes), "database"),
    fact("Poll targets", d.pollers.length + (d.pollers.some(p => !p.ok) ? " (" + d.pollers.filter(p => !p.ok && p.lastError).length + " failing)" : ""), "targets"));

  if (d.pollers.length === 0) {
    pollers.replaceChildren(h("p", { class: "muted" }, "No pollers are configured on this box. Data posted by pattoo agents is listed below."));
  } else {
    const now = Date.now();
    const rows = d.pollers.map(p => {
      const last = parseTime(p.lastSuccess);
      const errorAt = parseTime(p.lastErrorAt);
      const state = p.ok ? h("span", { class: "state ok" }, "OK") : p.lastError ? h("span", { class: "state bad" }, "Failing") : h("span", { class: "state idle" }, "Waiting");
      return h("tr", { "data-program": p.program, "data-target": p.name },
        h("td", { "data-label": "Program", class: "nowrap" }, p.program),
        h("td", { "data-label": "Target", class: "nowrap" }, h("a", { href: pageHash("browse", { program: p.program, target: p.name }) }, p.name)),
        h("td", { "data-label": "State", class: "nowrap" }, state),
        h("td", { "data-label": "Last success", class: "nowrap" }, last ? h("time", { datetime: p.lastSuccess, title: formatTime(last) }, formatAgo(last, now)) : "never"),
        h("td", { "data-label": "Last error", class: p.lastError ? (p.ok ? "error recovered" : "error") : "" }, lastError(p, errorAt, now)),
        h("td", { "data-label": "Datapoints", class: "num" }, formatCount(p.datapoints)),
        h("td", { "data-label": "Samples today", class: "num" }, formatCount(p.samplesToday)),
        h("td", { "data-label": "Interval", class: "num" }, formatDuration(p.intervalSeconds * 1000)),
        h("td", { "data-label": "Round trip", class: "num" }, p.roundTripMs.toFixed(1) + " ms"),
        h("td", { "data-label": "Polls / failures", class: "num" }, h("span", null, formatCount(p.polls) + " / " + formatCount(p.failures), figures(p.diagnostics))));
    });
    pollers.replaceChildren(h("table", { class: "cards" },
      h("caption", null, d.pollers.length + " poll targets; refreshed every 10 s"),
      h("thead", null, h("tr", null, ["Program", "Target", "State", "Last success", "Last error", "Datapoints", "Samples today", "Interval", "Round trip", "Polls / failures"]
        .map((t, i) => h("th", { scope: "col", class: i >= 5 ? "num" : "" }, t)))),
      h("tbody", null, rows)));
  }

  const list = d.allAgent.edges.map(e => e.node);
  if (list.length === 0) {
    agents.replaceChildren(h("p", { class: "muted" }, "Nothing stored yet."));
  } else {
    const byProgram = new Map();
    for (const n of list) byProgram.set(n.agentProgram, (byProgram.get(n.agentProgram) || 0) + n.datapointAgent.totalCount);
    agents.replaceChildren(h("table", { class: "cards" },
      h("caption", null, list.length + " agent targets, " + byProgram.size + " programs, " + formatCount(list.reduce((s, n) => s + n.datapointAgent.totalCount, 0)) + " datapoints"),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Program"), h("th", { scope: "col" }, "Target"), h("th", { scope: "col", class: "num" }, "Datapoints"))),
      h("tbody", null, list.map(n => h("tr", { "data-agent": n.agentProgram + "/" + n.agentPolledTarget },
        h("td", { "data-label": "Program" }, n.agentProgram),
        h("td", { "data-label": "Target" }, h("a", { href: pageHash("browse", { program: n.agentProgram, target: n.agentPolledTarget }) }, n.agentPolledTarget)),
        h("td", { "data-label": "Datapoints", class: "num" }, formatCount(n.datapointAgent.totalCount)))))));
  }
}

// Alerts pending or firing now ([[alerts.rules]]), first on the page: what needs a look.
function fillAlerts(list, section) {
  if (!list || list.length === 0) { section.hidden = true; return; }
  section.hidden = false;
  const now = Date.now();
  section.replaceChildren(h("h2", { id: "h-alerts" }, "Alerts"), h("div", { class: "table-wrap" }, h("table", { class: "cards" },
    h("caption", null, list.filter(a => a.state === "firing").length + " firing, " + list.filter(a => a.state === "pending").length + " pending; their history is on the Events page"),
    h("thead", null, h("tr", null, ["State", "Rule", "Series", "Since", "Message"].map(t => h("th", { scope: "col" }, t)))),
    h("tbody", null, list.map(a => h("tr", { "data-alert": a.rule, "data-state": a.state },
      h("td", { "data-label": "State", class: "nowrap" }, a.state === "firing" ? severityBadge(a.severity) : h("span", { class: "state idle" }, "pending")),
      h("td", { "data-label": "Rule", class: "nowrap" }, h("a", { href: pageHash("events", { source: "alerts/" + a.rule }) }, a.rule)),
      h("td", { "data-label": "Series" }, a.agentProgram + "/" + a.agentPolledTarget + " " + a.key),
      h("td", { "data-label": "Since", class: "nowrap" }, h("time", { datetime: new Date(a.since).toISOString(), title: formatTime(a.since) }, formatAgo(a.since, now))),
      h("td", { "data-label": "Message" }, a.message)))))));
}

// Shown once the box has events: the five newest, and the way to the Events page.
function fillEvents(list, section) {
  if (!list || list.totalCount === 0) { section.hidden = true; return; }
  section.hidden = false;
  const now = Date.now();
  section.replaceChildren(h("h2", { id: "h-events" }, "Latest events"), h("div", { class: "table-wrap" },
    eventTable(list.edges.length + " newest of " + list.totalCount, list.edges.map(e => eventRow(e.node, now)))),
    h("p", null, h("a", { href: "#/events" }, "All events")));
}

// Shown only on a box that forwards ([forward] in its config): each destination, whether it
// takes the samples, and how far behind it is.
function fillForwarders(list, section) {
  if (!list || list.length === 0) { section.hidden = true; return; }
  section.hidden = false;
  const rows = list.map(f => h("tr", { "data-forwarder": f.name },
    h("td", { "data-label": "Name", class: "nowrap" }, f.name),
    h("td", { "data-label": "Kind", class: "nowrap" }, f.kind),
    h("td", { "data-label": "State", class: "nowrap" }, f.connected ? h("span", { class: "state ok" }, "OK") : f.lastError ? h("span", { class: "state bad" }, "Failing") : h("span", { class: "state idle" }, "Waiting")),
    h("td", { "data-label": "Last error", class: f.lastError ? "error" : "" }, f.lastError || "–"),
    h("td", { "data-label": "Behind", class: "num" }, f.oldestUnsentAge == null ? "–" : formatDuration(f.oldestUnsentAge)),
    h("td", { "data-label": "Backlog", class: "num" }, formatCount(f.backlogSamples)),
    h("td", { "data-label": "Samples/s", class: "num" }, f.samplesPerSecond.toFixed(1)),
    h("td", { "data-label": "Sent", class: "num" }, formatCount(f.samplesSent))));
  section.replaceChildren(h("h2", { id: "h-forwarders" }, "Forwarding"), h("div", { class: "table-wrap" }, h("table", { class: "cards" },
    h("caption", null, list.length + " destinations; samples wait on this box until each acknowledges them"),
    h("thead", null, h("tr", null, ["Name", "Kind", "State", "Last error", "Behind", "Backlog", "Samples/s", "Sent"]
      .map((t, i) => h("th", { scope: "col", class: i >= 4 ? "num" : "" }, t)))),
    h("tbody", null, rows))));
}

// A failing target shows its error in full; one that has recovered shows only that it had
// one and when (greyed), with the text a click away: an old error in red next to "OK" reads
// as a fault that is still there.
export function lastError(p, errorAt, now) {
  if (!p.lastError) return "–";
  const ago = errorAt ? formatAgo(errorAt, now) : null;
  if (!p.ok) return h("span", null, p.lastError, ago ? h("span", { class: "muted" }, " (" + ago + ")") : null);
  return h("details", { class: "recovered" },
    h("summary", null, "last error" + (ago ? ", " + ago : "")),
    h("span", null, p.lastError));
}

// The poller's own figures (reconnects, timeouts, dropped datagrams), folded away: they matter
// when something is off, and then the ones that are not zero are the interesting ones.
function figures(list) {
  if (!list || list.length === 0) return null;
  const nonZero = list.filter(d => d.value !== 0).length;
  return h("details", { class: "figures" },
    h("summary", { title: nonZero + " of " + list.length + " are not zero" }, list.length + " figures"),
    h("dl", null, list.map(d => [h("dt", null, d.name), h("dd", { class: d.value === 0 ? "muted" : "" }, d.value.toLocaleString("en-US"))])));
}
