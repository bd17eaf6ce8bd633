// Favourites: charts saved on the box as pattoo charts (name, datapoints) with a favorite row,
// so every browser that opens the dashboard sees the same list, as pattoo-web did.
import { gql, str, token, setToken } from "./api.js";
import { h, showError, pageHash, seriesLabel } from "./ui.js";

/** Saves a chart of the datapoints and marks it a favourite; resolves to its idxChart. */
export async function saveFavourite(name, ids) {
  const random = new Uint8Array(16);
  crypto.getRandomValues(random); // works on plain-HTTP LAN pages, unlike crypto.randomUUID
  const checksum = [...random].map(b => b.toString(16).padStart(2, "0")).join("");
  const created = await gql(`mutation { createChart(Input: {name: ${str(name)}, checksum: ${str(checksum)}}) { chart { idxChart } } }`);
  const idxChart = created.createChart.chart.idxChart;
  const parts = ids.map((id, i) => `d${i}: createChartDataPoint(Input: {idxChart: ${str(idxChart)}, idxDatapoint: ${str(id)}}) { chartDatapoint { idxChartDatapoint } }`);
  // The chart's index orders favourites by creation.
  parts.push(`f: createFavorite(Input: {idxChart: ${str(idxChart)}, order: "${Number(idxChart) | 0}"}) { favorite { idxFavorite } }`);
  await gql("mutation { " + parts.join("\n") + " }");
  return idxChart;
}

const LIST = `{ allChart { edges { node { idxChart name enabled
  chartDatapointChart { edges { node { idxDatapoint enabled } } }
  favoriteChart { edges { node { idxFavorite enabled order } } } } } } }`;

export function render(main) {
  const list = h("ul", { class: "favs", id: "favs", "aria-labelledby": "h-favs" });
  const status = h("p", { class: "status", id: "favs-status", "aria-live": "polite" }, "Loading…");
  const tokenInput = h("input", { type: "password", id: "token", autocomplete: "off", value: token() });
  const tokenStatus = h("p", { class: "status", "aria-live": "polite" }, token() ? "A token is set in this browser." : "No token is set in this browser.");
  main.append(
    h("h1", null, "Favourites"),
    h("p", { class: "muted" }, "Favourite charts are kept on the box, so everyone who opens this dashboard shares them. Save one from a chart with “Save as favourite”."),
    h("h2", { id: "h-favs", class: "visually-hidden" }, "Saved charts"),
    status, list,
    h("h2", null, "Access token"),
    h("p", { class: "muted" }, "Saving favourites from another computer needs a write token (api.write_tokens in the box's configuration); a box with api.read_tokens also needs one to be read. The token stays in this browser."),
    h("form", { class: "token-form", onsubmit: e => { e.preventDefault(); setToken(tokenInput.value.trim()); tokenStatus.textContent = tokenInput.value.trim() ? "Token saved in this browser." : "Token removed."; load(); } },
      h("div", { class: "field" }, h("label", { for: "token" }, "Bearer token"), tokenInput),
      h("button", { type: "submit", class: "primary" }, "Save token"),
      h("button", { type: "button", onclick: () => { tokenInput.value = ""; setToken(""); tokenStatus.textContent = "Token removed."; } }, "Forget token")),
    tokenStatus);

  let stopped = false;
  async function load() {
    try {
      const d = await gql(LIST);
      if (stopped) return;
      const favs = [];
      for (const { node: c } of d.allChart.edges) {
        const fav = c.favoriteChart.edges.map(e => e.node).find(f => f.enabled === "1");
        if (!fav || c.enabled !== "1") continue;
        favs.push({ ...c, fav, ids: c.chartDatapointChart.edges.map(e => e.node).filter(n => n.enabled === "1").map(n => n.idxDatapoint) });
      }
      favs.sort((a, b) => a.fav.order - b.fav.order || Number(a.idxChart) - Number(b.idxChart));
      const names = await describe([...new Set(favs.flatMap(f => f.ids))]);
      if (stopped) return;
      showError("");
      status.textContent = favs.length ? favs.length + (favs.length === 1 ? " favourite." : " favourites.") : "No favourites yet.";
      list.replaceChildren(...favs.map(f => item(f, names)));
    } catch (e) {
      status.textContent = "Could not load the favourites.";
      showError(e.message);
    }
  }

  function item(f, names) {
    const li = h("li", { "data-chart": f.idxChart, "data-name": f.name });
    const link = pageHash("chart", { ids: f.ids.join(","), range: "24h", name: f.name, fav: f.idxChart });
    const note = h("p", { class: "status", "aria-live": "polite" });
    const fill = () => li.replaceChildren(
      h("a", { class: "name", href: link }, f.name),
      h("ul", { class: "muted", style: { margin: "0", paddingLeft: "1.1rem" } }, f.ids.map(id => h("li", null, names.get(id) || "datapoint " + id + " (gone)"))),
      h("div", { class: "row" },
        h("a", { class: "button small primary", href: link, "aria-label": "Open " + f.name }, "Open"),
        h("button", { type: "button", class: "small", "aria-label": "Rename " + f.name, onclick: rename }, "Rename"),
        h("button", { type: "button", class: "small", "aria-label": "Remove " + f.name + " from favourites", onclick: remove }, "Remove")),
      note);

    async function remove() {
      try {
        await gql(`mutation { updateFavorite(Input: {idxFavorite: ${str(f.fav.idxFavorite)}, enabled: "0"}) { favorite { enabled } } }`);
        const undo = h("button", { type: "button", class: "small", onclick: async () => {
          try {
            await gql(`mutation { updateFavorite(Input: {idxFavorite: ${str(f.fav.idxFavorite)}, enabled: "1"}) { favorite { enabled } } }`);
            fill();
            li.querySelector("a").focus();
          } catch (e) { showError(e.message); }
        } }, "Undo");
        li.replaceChildren(h("p", { "aria-live": "polite" }, "Removed “" + f.name + "”. "), undo);
        undo.focus();
      } catch (e) { note.textContent = "Not removed: " + e.message; }
    }

    function rename() {
      const input = h("input", { type: "text", id: "rename-" + f.idxChart, value: f.name, maxlength: "200" });
      const form = h("form", { class: "token-form", onsubmit: async e => {
        e.preventDefault();
        const name = input.value.trim();
        if (!name) return;
        try {
          await gql(`mutation { updateChart(Input: {idxChart: ${str(f.idxChart)}, name: ${str(name)}}) { chart { name } } }`);
          f.name = name;
          li.dataset.name = name;
          fill();
          li.querySelector("a").focus();
        } catch (err) { note.textContent = "Not renamed: " + err.message; }
      } },
      h("div", { class: "field" }, h("label", { for: input.id }, "New name"), input),
      h("button", { type: "submit", class: "small primary" }, "Save"),
      h("button", { type: "button", class: "small", onclick: () => { fill(); li.querySelector("a").focus(); } }, "Cancel"));
      li.replaceChildren(form, note);
      input.focus();
      input.select();
    }

    fill();
    return li;
  }

  load();
  return () => { stopped = true; };
}

/** Names of datapoints by index, in one request. */
async function describe(ids) {
  const names = new Map();
  if (!ids.length) return names;
  const d = await gql("{ " + ids.map((id, i) => `d${i}: series(idxDatapoint: ${str(id)}) { idxDatapoint key agentPolledTarget labels { key value } }`).join("\n") + " }");
  ids.forEach((id, i) => { const s = d["d" + i][0]; if (s) names.set(id, seriesLabel(s)); });
  return names;
}
