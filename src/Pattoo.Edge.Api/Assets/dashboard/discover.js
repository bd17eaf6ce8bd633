// Discover: runs `pattoo-edge discover` on the box (POST /api/v1/discover, streamed NDJSON) and
// shows the configuration it writes, to copy into the box's config file. The box never changes
// its own configuration. Discovery sends traffic from the box: it needs write access.
import { token } from "./api.js";
import { h, showError } from "./ui.js";

const HINTS = {
  modbus: { address: "192.0.2.20:502 or /dev/ttyUSB0", options: "--emit-plausible   or   --pick 40001:float32:CDAB:flow_m3h" },
  snmp: { address: "192.0.2.10:161", options: "--community public   or   --user U --auth-password P --priv-password P" },
  bacnet: { address: "", options: "--broadcast 192.0.2.255 --device 1234" },
  opcua: { address: "opc.tcp://192.0.2.40:4840", options: "--security Basic256Sha256 --username U --password P" },
};

/** The options as a shell would split them: blanks separate, quotes group. */
export function splitOptions(text) {
  const args = [];
  let current = "", quote = "", any = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = ""; else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch; any = true;
    } else if (/\s/.test(ch)) {
      if (any || current) args.push(current);
      current = ""; any = false;
    } else {
      current += ch;
    }
  }
  if (any || current) args.push(current);
  return args;
}

export function render(main) {
  const protocol = h("select", { id: "discover-protocol" }, ...Object.keys(HINTS).map(p => h("option", { value: p }, p)));
  const address = h("input", { id: "discover-address", autocomplete: "off", spellcheck: "false" });
  const options = h("input", { id: "discover-options", autocomplete: "off", spellcheck: "false" });
  const run = h("button", { type: "submit", class: "primary", id: "discover-run" }, "Discover");
  const stopButton = h("button", { type: "button", id: "discover-stop", disabled: true }, "Stop");
  const busy = h("progress", { id: "discover-busy", hidden: true, "aria-label": "Discovery running" });
  const steps = h("ol", { id: "discover-progress", class: "discover-steps", "aria-live": "polite" });
  const status = h("p", { class: "status", id: "discover-status", "aria-live": "polite" });
  const output = h("pre", { id: "discover-toml", class: "discover-toml", tabindex: "0", hidden: true });
  const copy = h("button", { type: "button", id: "discover-copy", hidden: true }, "Copy");
  let controller = null;

  const hint = () => {
    const p = HINTS[protocol.value];
    address.placeholder = p.address;
    address.disabled = protocol.value === "bacnet";
    options.placeholder = p.options;
  };
  protocol.addEventListener("change", hint);
  hint();

  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(output.textContent);
      status.textContent = "Copied: paste it into the box's config file (/etc/pattoo-edge/edge.toml), then reload the service.";
    } catch {
      // plain-HTTP LAN pages have no clipboard API: select the text for Ctrl+C
      const range = document.createRange();
      range.selectNodeContents(output);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  });
  stopButton.addEventListener("click", () => controller && controller.abort());

  async function discover(e) {
    e.preventDefault();
    showError("");
    const args = [protocol.value];
    if (protocol.value !== "bacnet") {
      if (!address.value.trim()) { status.textContent = "Give the device's address first."; address.focus(); return; }
      args.push(address.value.trim());
    }
    args.push(...splitOptions(options.value));
    steps.replaceChildren();
    output.hidden = copy.hidden = true;
    output.textContent = "";
    status.textContent = "Discovering…";
    run.disabled = true; stopButton.disabled = false; busy.hidden = false;
    controller = new AbortController();
    try {
      const headers = { "Content-Type": "application/json" };
      if (token()) headers.Authorization = "Bearer " + token();
      const response = await fetch("/api/v1/discover", { method: "POST", headers, body: JSON.stringify({ args }), signal: controller.signal, cache: "no-store" });
      if (!response.ok) {
        let message = "The box answered " + response.status;
        try { message = (await response.json()).error || message; } catch { /* not JSON */ }
        if (response.status === 403) message += " (set a write token on the Favourites page)";
        throw new Error(message);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          const message = JSON.parse(line);
          if (message.progress !== undefined) steps.append(h("li", null, message.progress));
          if (message.toml !== undefined) {
            output.textContent = message.toml;
            output.hidden = copy.hidden = false;
            status.textContent = "Done: review the configuration, then copy it into the box's config file.";
          }
          if (message.error !== undefined) { status.textContent = ""; showError(message.error); }
        }
      }
    } catch (err) {
      status.textContent = "";
      if (err.name === "AbortError") status.textContent = "Stopped.";
      else showError(err.message);
    } finally {
      run.disabled = false; stopButton.disabled = true; busy.hidden = true;
      controller = null;
    }
  }

  main.append(
    h("h1", null, "Discover"),
    h("p", { class: "muted" }, "Ask a device what it serves and get the configuration that polls it. Discovery sends requests from this box, so it needs a write token (set on the Favourites page) unless this computer is in api.ingest_allow. The box never changes its own configuration: copy the result into its config file. Options are those of pattoo-edge discover (see the README)."),
    h("form", { class: "discover-form", onsubmit: discover },
      h("div", { class: "field" }, h("label", { for: "discover-protocol" }, "Protocol"), protocol),
      h("div", { class: "field wide" }, h("label", { for: "discover-address" }, "Address"), address),
      h("div", { class: "field wide" }, h("label", { for: "discover-options" }, "Options"), options),
      run, stopButton),
    busy, status, steps,
    h("div", { class: "discover-result" }, copy, output));
  return () => controller && controller.abort();
}
