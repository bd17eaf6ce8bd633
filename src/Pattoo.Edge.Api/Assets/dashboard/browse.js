// Datapoint browser: search (every word must match key, program, target or a label) and
// exact filters by agent program, target, key and label; pick several to chart together.
import { gql, str } from "./api.js";
import { formatValue, h, showError, formatAgo, pageHash, seriesUnit, translated } from "./ui.js";
import { replaceParams } from "./main.js";

const LIMIT = 200;
const selected = new Set(); // idxDatapoint strings, kept while the page is open

export function render(main, params) {
  for (const id of (params.get("ids") || "").split(",")) if (id) selected.add(id);
  const state = { q: params.get("q") || "", program: params.get("program") || "", target: params.get("target") || "", key: params.get("key") || "", label: params.get("label") || "" };

  const search = h("input", { type: "search", id: "f-q", name: "q", value: state.q, placeholder: "e.g. eth0 bytes", autocomplete: "off", "aria-describedby": "f-q-help" });
  const program = h("select", { id: "f-program", name: "program" }, h("option", { value: "" }, "All programs"));
  const target = h("select", { id: "f-target", name: "target" }, h("option", { value: "" }, "All targets"));
  const key = h("input", { type: "text", id: "f-key", name: "key", value: state.key, list: "keys", autocomplete: "off", placeholder: "exact key" });
  const label = h("input", { type: "text", id: "f-label", name: "label", value: state.label, list: "labels", autocomplete: "off", placeholder: "name=value" });
  // Until the agents arrive, the selects hold just the chosen values, so a first search keeps them.
  if (state.program) program.append(h("option", { value: state.program, selected: true }, state.program));
  if (state.target) target.append(h("option", { value: state.target, selected: true }, state.target));
  const keys = h("datalist", { id: "keys" });
  const labels = h("datalist", { id: "labels" });
  const count = h("p", { id: "result-count", "aria-live": "polite", class: "muted" }, "Searching…");
  const chartButton = h("a", { class: "button primary", id: "chart-selected", href: "#/chart" });
  const clearButton = h("button", { type: "button", class: "small", onclick: () => { selected.clear(); for (const c of list.querySelectorAll("input[type=checkbox]")) c.checked = false; updateBar(); } }, "Clear selection");
  const list = h("ul", { class: "results", id: "results", "aria-labelledby": "h-results" });

  const form = h("form", { role: "search", class: "filters", "aria-label": "Find datapoints", onsubmit: e => { e.preventDefault(); run(); } },
    h("div", { class: "field wide" }, h("label", { for: "f-q" }, "Search"), search, h("span", { id: "f-q-help", class: "visually-hidden" }, "Every word must match the key, program, target or a label. Press the down arrow to reach the results.")),
    h("div", { class: "field" }, h("label", { for: "f-program" }, "Agent program"), program),
    h("div", { class: "field" }, h("label", { for: "f-target" }, "Target"), target),
    h("div", { class: "field" }, h("label", { for: "f-key" }, "Key"), key),
    h("div", { class: "field" }, h("label", { for: "f-label" }, "Label"), label),
    h("button", { type: "submit", class: "primary" }, "Search"),
    keys, labels);

  main.append(h("h1", null, "Datapoints"), form,
    h("div", { class: "result-bar" }, h("h2", { id: "h-results", class: "visually-hidden" }, "Results"), count, chartButton, clearButton),
    list);

  let agents = [];
  let debounce = 0;
  let controller = null;

  function updateBar() {
    const ids = [...selected];
    chartButton.textContent = ids.length ? "Chart selected (" + ids.length + ")" : "Chart selected";
    chartButton.href = ids.length ? pageHash("chart", { ids: ids.join(","), range: "24h" }) : "#/chart";
    chartButton.setAttribute("aria-disabled", ids.length ? "false" : "true");
    clearButton.disabled = ids.length === 0;
  }

  function fillTargets() {
    const chosen = target.value || state.target;
    const targets = [...new Set(agents.filter(a => !program.value || a.agentProgram === program.value).map(a => a.agentPolledTarget))].sort();
    target.replaceChildren(h("option", { value: "" }, "All targets"), ...targets.map(t => h("option", { value: t, selected: t === chosen }, t)));
  }

  async function run() {
    clearTimeout(debounce);
    if (controller) controller.abort();
    controller = new AbortController();
    Object.assign(state, { q: search.value.trim(), program: program.value, target: target.value, key: key.value.trim(), label: label.value.trim() });
    replaceParams(pageHash("browse", state));
    const [labelKey, labelValue] = splitLabel(state.label);
    // The label's value narrows the server's search; the exact match is checked here.
    const words = [state.q, labelValue].filter(Boolean).join(" ");
    const args = [`first: ${LIMIT + 1}`];
    if (words) args.push("search: " + str(words));
    if (state.program) args.push("agentProgram: " + str(state.program));
    if (state.target) args.push("agentPolledTarget: " + str(state.target));
    if (state.key) args.push("key: " + str(state.key));
    count.textContent = "Searching…";
    try {
      const d = await gql(`{ series(${args.join(", ")}) { idxDatapoint key agentProgram agentPolledTarget dataType counter lastTimestamp pollingInterval ${translated()} lastValue lastText labels { key value } } }`, undefined, controller.signal);
      showError("");
      let rows = d.series;
      const more = rows.length > LIMIT;
      if (more) rows = rows.slice(0, LIMIT);
      if (labelKey || labelValue) rows = rows.filter(s => s.labels.some(l => (!labelKey || l.key === labelKey) && (!labelValue || l.value === labelValue)));
      show(rows, more);
    } catch (e) {
      if (e.name === "AbortError") return;
      count.textContent = "Search failed.";
      showError(e.message);
    }
  }

  function show(rows, more) {
    count.textContent = rows.length === 0 ? "No datapoints match." : rows.length + (more ? "+ datapoints match; showing the first " + LIMIT + ", refine the search to see the rest." : rows.length === 1 ? " datapoint matches." : " datapoints match.");
    const now = Date.now();
    list.replaceChildren(...rows.map(s => {
      const id = "pick-" + s.idxDatapoint;
      const unit = seriesUnit(s);
      return h("li", { "data-idx": s.idxDatapoint, "data-key": s.key },
        h("input", { type: "checkbox", id, checked: selected.has(s.idxDatapoint), onchange: e => { if (e.target.checked) selected.add(s.idxDatapoint); else selected.delete(s.idxDatapoint); updateBar(); } }),
        h("div", { class: "what" },
          h("label", { for: id, class: "key" }, s.name ? [s.name, h("span", { class: "muted" }, " " + s.key)] : s.key),
          h("div", { class: "where" }, h("span", { class: "latest", "data-latest": "" }, latestText(s, unit)), " · " + s.agentPolledTarget + " · " + s.agentProgram + " · " + formatAgo(s.lastTimestamp, now)),
          h("div", { class: "chips" },
            unit ? h("span", { class: "chip unit" }, unit) : null,
            s.counter ? h("span", { class: "chip" }, "counter, charted as rate") : null,
            s.dataType === 2 ? h("span", { class: "chip" }, "text") : null,
            s.labels.filter(l => l.key !== "units").map(l => h("span", { class: "chip" }, l.key + "=" + l.value)))),
        h("a", { class: "button small", href: pageHash("chart", { ids: s.idxDatapoint, range: "24h" }), "aria-label": "Chart " + s.key + " on " + s.agentPolledTarget }, "Chart"));
    }));
    // Offer the keys and labels seen so far as suggestions.
    const seenKeys = new Set([...keys.options].map(o => o.value));
    for (const s of rows) if (!seenKeys.has(s.key)) { seenKeys.add(s.key); keys.append(h("option", { value: s.key })); }
    const seenLabels = new Set([...labels.options].map(o => o.value));
    for (const s of rows) for (const l of s.labels) {
      const v = l.key + "=" + l.value;
      if (!seenLabels.has(v) && seenLabels.size < 500) { seenLabels.add(v); labels.append(h("option", { value: v })); }
    }
  }

  // The value as of the last sample, with its unit: what a technician came to see.
  function latestText(s, unit) {
    if (s.lastText !== null && s.lastText !== undefined) return "“" + s.lastText + "”";
    if (s.lastValue === null || s.lastValue === undefined) return "no value yet";
    return formatValue(s.lastValue) + (unit ? " " + unit : "");
  }

  const later = () => { clearTimeout(debounce); debounce = setTimeout(run, 250); };
  search.addEventListener("input", later);
  key.addEventListener("change", run);
  label.addEventListener("change", run);
  program.addEventListener("change", () => { fillTargets(); run(); });
  target.addEventListener("change", run);

  // Arrow keys move between the search box and the results' checkboxes.
  main.addEventListener("keydown", e => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const boxes = [...list.querySelectorAll("input[type=checkbox]")];
    const at = boxes.indexOf(document.activeElement);
    if (document.activeElement === search && e.key === "ArrowDown" && boxes.length) { e.preventDefault(); boxes[0].focus(); }
    else if (at >= 0) {
      e.preventDefault();
      if (e.key === "ArrowDown" && at + 1 < boxes.length) boxes[at + 1].focus();
      else if (e.key === "ArrowUp") (at > 0 ? boxes[at - 1] : search).focus();
    }
  });

  updateBar();
  gql("{ allAgent { edges { node { agentProgram agentPolledTarget } } } }").then(d => {
    agents = d.allAgent.edges.map(e => e.node);
    const programs = [...new Set(agents.map(a => a.agentProgram))].sort();
    const chosen = program.value;
    program.replaceChildren(h("option", { value: "" }, "All programs"), ...programs.map(p => h("option", { value: p, selected: p === chosen }, p)));
    fillTargets();
  }).catch(e => showError(e.message));
  run();
  return () => { clearTimeout(debounce); if (controller) controller.abort(); };
}

function splitLabel(text) {
  if (!text) return ["", ""];
  const eq = text.indexOf("=");
  return eq < 0 ? ["", text] : [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
}
