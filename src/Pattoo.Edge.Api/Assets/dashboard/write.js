// Write-back on the chart page: a panel per charted datapoint whose point the box declares
// writable. It writes only with a control token (api.control_tokens) entered in this tab, and
// only after a confirmation that shows the point's limits; the datapoint's audit trail is below.
import { gql, str, controlToken, setControlToken } from "./api.js";
import { h, formatTime, seriesLabel } from "./ui.js";

const AUDIT_ROWS = 20;

/** Renders the panels of `series` (the chart's answer) into `container`; `written` runs after each write. */
export function renderWriteControls(container, series, written) {
  const writable = series.filter(s => !s.missing && s.series.writable);
  container.replaceChildren();
  if (!writable.length) return;
  container.append(h("h2", null, "Write to the device"));
  for (const s of writable) container.append(panel(s, written));
}

function panel(s, written) {
  const w = s.series.writable;
  const label = seriesLabel(s.series);
  const section = h("section", { class: "write-panel", "data-idx": s.id, "aria-label": "Write " + label });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const audit = h("div", { class: "audit" });
  const redraw = () => section.replaceWith(panel(s, written));
  section.append(
    h("h3", null, label),
    h("p", { class: "muted" }, w.address + (w.limits ? " · limits: " + w.limits : "")));

  if (!w.enabled) {
    section.append(h("p", { class: "notice" }, "Write-back is switched off on this box (write.enabled = false in its config)."));
  } else if (!controlToken()) {
    const input = h("input", { type: "password", id: "control-token-" + s.id, autocomplete: "off", required: true });
    section.append(h("form", { class: "token-form", onsubmit: e => { e.preventDefault(); setControlToken(input.value.trim()); redraw(); } },
      h("div", { class: "field" }, h("label", { for: "control-token-" + s.id }, "Control token"), input),
      h("button", { type: "submit" }, "Use token")),
      h("p", { class: "muted" }, "Writes need a control token from api.control_tokens. It is kept in this tab only."));
  } else {
    const value = valueInput(s.id, w);
    const comment = h("input", { type: "text", id: "write-comment-" + s.id, maxlength: "1000", autocomplete: "off" });
    const confirmBox = h("div", { class: "confirm", role: "alertdialog", "aria-label": "Confirm the write", hidden: true });
    const ask = (action, text, run) => {
      confirmBox.replaceChildren(
        h("p", null, text),
        h("p", { class: "muted" }, "Limits: " + (w.limits || "none") + ". The device is written at once; what it reports afterwards, and this request, go to the audit trail."),
        h("div", { class: "row" },
          h("button", { type: "button", class: "primary", id: "write-confirm-" + s.id, onclick: async () => { confirmBox.hidden = true; await run(); } }, "Confirm " + action),
          h("button", { type: "button", onclick: () => { confirmBox.hidden = true; status.textContent = "Nothing was written."; } }, "Cancel")));
      confirmBox.hidden = false;
      confirmBox.querySelector("button").focus();
    };
    const send = async (query, variables, field) => {
      status.textContent = "Writing…";
      try {
        const d = await gql(query, variables, undefined, controlToken());
        const r = d[field];
        status.textContent = (r.result === "written" ? "Done: " : "Sent, but: ") + r.message + ".";
        section.dataset.result = r.result;
        written();
      } catch (e) {
        section.dataset.result = "refused";
        status.textContent = "Refused: " + e.message;
        if (e.code === "UNAUTHORIZED") { setControlToken(""); status.textContent += " The token was forgotten: enter a valid one."; }
      }
      loadAudit(s.id, audit);
    };
    section.append(
      h("form", { class: "write-form", onsubmit: e => {
        e.preventDefault();
        if (value.value === "") { status.textContent = "Enter a value first."; value.focus(); return; }
        ask("write", "Write " + value.value + " to " + label + " (" + w.address + ")?", () =>
          send("mutation($idx: String!, $value: WriteValue!, $comment: String) { writeValue(idxDatapoint: $idx, value: $value, comment: $comment) { result message } }",
            { idx: s.id, value: value.value, comment: comment.value || null }, "writeValue"));
      } },
        h("div", { class: "field" }, h("label", { for: "write-value-" + s.id }, "New value"), value),
        h("div", { class: "field wide" }, h("label", { for: "write-comment-" + s.id }, "Comment (kept in the audit trail)"), comment),
        h("button", { type: "submit", id: "write-" + s.id }, "Write…"),
        w.canRelinquish ? h("button", { type: "button", onclick: () => ask("relinquish", "Release this box's command on " + label + ", so the device's next priority or its default applies?", () =>
          send("mutation($idx: String!, $comment: String) { relinquish(idxDatapoint: $idx, comment: $comment) { result message } }",
            { idx: s.id, comment: comment.value || null }, "relinquish")) }, "Relinquish…") : null,
        h("button", { type: "button", class: "small", onclick: () => { setControlToken(""); redraw(); } }, "Forget token")),
      confirmBox);
  }
  section.append(status, audit);
  loadAudit(s.id, audit);
  return section;
}

/** A select of the allowed values, or a number field bounded by min and max. */
function valueInput(id, w) {
  const attrs = { id: "write-value-" + id, required: true };
  if (w.allowed.length) {
    const names = w.kind === "bool" ? { 0: "0 (off)", 1: "1 (on)" } : {};
    return h("select", attrs, h("option", { value: "" }, "Choose…"), w.allowed.map(a => h("option", { value: a }, names[a] || a)));
  }
  return h("input", { ...attrs, type: "number", inputmode: "decimal", step: w.kind === "integer" ? "1" : "any", min: w.min ?? undefined, max: w.max ?? undefined });
}

async function loadAudit(id, box) {
  try {
    const d = await gql(`{ audit(idxDatapoint: ${str(id)}, first: ${AUDIT_ROWS}) { totalCount edges { node { timestamp tokenName client action oldValue requestedValue readBackValue result message comment } } } }`);
    const rows = d.audit.edges.map(e => e.node);
    const cell = (label, text) => h("td", { "data-label": label }, text ?? "–");
    box.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "cards audit-trail" },
      h("caption", null, rows.length ? "Audit trail, newest first" + (d.audit.totalCount > rows.length ? " (" + rows.length + " of " + d.audit.totalCount + ")" : "") : "No writes yet"),
      h("thead", null, h("tr", null, ["Time", "Who", "Action", "Before", "Requested", "After", "Result", "Comment"].map(c => h("th", { scope: "col" }, c)))),
      h("tbody", null, rows.map(r => h("tr", { "data-result": r.result, title: r.message },
        cell("Time", formatTime(r.timestamp)), cell("Who", (r.tokenName || "no valid token") + " @ " + r.client), cell("Action", r.action),
        cell("Before", r.oldValue), cell("Requested", r.requestedValue), cell("After", r.readBackValue),
        cell("Result", r.result), cell("Comment", r.comment || "")))))));
  } catch (e) {
    box.replaceChildren(h("p", { class: "status" }, "The audit trail could not be read: " + e.message));
  }
}
