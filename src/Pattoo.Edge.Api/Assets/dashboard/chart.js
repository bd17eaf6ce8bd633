// Chart page: several datapoints on one uPlot chart over a preset or custom range, with
// live refresh, CSV download and saving as a favourite (a pattoo chart + favorite on the box).
// The box downsamples: maxPoints is the chart's width in pixels; counters arrive as rates.
import { gql, str } from "./api.js";
import { h, showError, formatTime, formatValue, formatAxis, translated, formatDuration, toLocalInput, pageHash, seriesLabel, seriesUnit } from "./ui.js";
import { replaceParams } from "./main.js";
import { saveFavourite } from "./favourites.js";
import { renderWriteControls } from "./write.js";

export const RANGES = [
  ["1h", "1 h", 3_600_000], ["6h", "6 h", 21_600_000], ["24h", "24 h", 86_400_000],
  ["7d", "7 d", 604_800_000], ["30d", "30 d", 2_592_000_000], ["1y", "1 y", 31_536_000_000],
];
const RANGE_NAMES = { "1h": "the last hour", "6h": "the last 6 hours", "24h": "the last 24 hours", "7d": "the last 7 days", "30d": "the last 30 days", "1y": "the last year" };
const LIGHT = ["#1a73e8", "#d93025", "#188038", "#b06000", "#9334e6", "#007b83", "#c5221f", "#5f6368"];
const DARK = ["#8ab4f8", "#f28b82", "#81c995", "#fdd663", "#c58af9", "#78d9ec", "#fcad70", "#dadce0"];

let uplotLoading = null;
/** uPlot is only fetched when a chart is shown, so the other pages paint without it. */
// Wide enough for the longest tick label of the axis (labels are compact, so 40-70 px).
function axisSize(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  const longest = (values || []).reduce((m, v) => Math.max(m, String(v ?? "").length), 0);
  return Math.max(40, Math.ceil(longest * 7.2) + 18);
}

function loadUPlot() {
  uplotLoading ??= new Promise((resolve, reject) => {
    document.head.append(h("link", { rel: "stylesheet", href: new URL("./uPlot.min.css", import.meta.url).href }));
    const script = h("script", { src: new URL("./uPlot.iife.min.js", import.meta.url).href });
    script.onload = () => resolve(window.uPlot);
    script.onerror = () => { uplotLoading = null; reject(new Error("The chart library could not be loaded.")); };
    document.head.append(script);
  });
  return uplotLoading;
}

export function render(main, params) {
  const ids = [...new Set((params.get("ids") || "").split(",").map(s => s.trim()).filter(s => /^\d+$/.test(s)))];
  const state = {
    ids,
    range: params.get("range") || "24h",
    from: Number(params.get("from")) || 0,
    to: Number(params.get("to")) || 0,
    live: params.get("live") === "1",
    name: params.get("name") || "",
    fav: params.get("fav") || "",
  };
  if (state.range === "custom" && !(state.from && state.to && state.from < state.to)) state.range = "24h";
  if (state.range !== "custom" && !RANGES.some(r => r[0] === state.range)) state.range = "24h";

  const title = h("h1", null, state.name || "Chart");
  main.append(title);
  if (ids.length === 0) {
    main.append(h("div", { class: "chart-box" }, h("p", { class: "empty" }, "Nothing to chart yet. ", h("a", { href: "#/browse" }, "Pick datapoints"), " and choose “Chart selected”, or open a ", h("a", { href: "#/favourites" }, "favourite"), ".")));
    return null;
  }

  const presetButtons = RANGES.map(([key, text]) => h("button", { type: "button", "data-range": key, "aria-pressed": String(state.range === key), onclick: () => setRange(key) }, text));
  const fromInput = h("input", { type: "datetime-local", id: "c-from" });
  const toInput = h("input", { type: "datetime-local", id: "c-to" });
  const liveBox = h("input", { type: "checkbox", id: "c-live", checked: state.live, "aria-describedby": "c-live-help" });
  const liveHelp = h("span", { id: "c-live-help", class: "visually-hidden" }, "Fetches new data every poll interval while a preset range is shown.");
  const chartBox = h("div", { class: "chart-box", id: "chart", role: "img", "aria-label": "Chart loading" });
  const status = h("p", { class: "status", id: "chart-status", "aria-live": "polite" }, "Loading…");
  const seriesList = h("ul", { class: "series-list", id: "series-list", "aria-label": "Charted datapoints" });
  const texts = h("div", { id: "texts" });
  const writes = h("div", { id: "writes" });
  let writesKey = null;
  const csvButton = h("button", { type: "button", id: "csv", disabled: true, onclick: () => downloadCsv() }, "Download CSV");
  const favName = h("input", { type: "text", id: "fav-name", value: state.name, maxlength: "200", autocomplete: "off" });
  const favButton = h("button", { type: "submit", class: "primary", id: "fav-save" }, "Save as favourite");
  const favStatus = h("p", { class: "status", id: "fav-status", "aria-live": "polite" });

  main.append(
    h("div", { class: "toolbar" },
      h("fieldset", { class: "presets" }, h("legend", null, "Time range"), presetButtons),
      h("fieldset", { class: "custom" }, h("legend", null, "Custom range"),
        h("div", { class: "field" }, h("label", { for: "c-from" }, "From"), fromInput),
        h("div", { class: "field" }, h("label", { for: "c-to" }, "To"), toInput),
        h("button", { type: "button", id: "c-apply", onclick: applyCustom }, "Apply")),
      h("label", { class: "check", for: "c-live" }, liveBox, "Live refresh"), liveHelp),
    chartBox, status, seriesList, texts, writes,
    h("div", { class: "actions" },
      csvButton,
      h("form", { class: "actions", style: { marginTop: "0" }, onsubmit: e => { e.preventDefault(); save(); } },
        h("div", { class: "field" }, h("label", { for: "fav-name" }, "Favourite name"), favName), favButton),
      h("a", { class: "button", href: pageHash("browse", { ids: ids.join(",") }) }, "Add datapoints")),
    favStatus);

  let plot = null;
  let plotKey = "";
  let last = null;     // the last answer: { from, to, maxPoints, series: [...] }
  let controller = null;
  let timer = 0;
  let stopped = false;
  let resizeTimer = 0;
  const resize = new ResizeObserver(() => {
    if (!plot) return;
    plot.setSize(size());
    // Much narrower or wider (a phone turned, a window resized): ask for a fitting number of points.
    clearTimeout(resizeTimer);
    if (last && Math.abs(maxPointsFor() - last.maxPoints) > 0.25 * last.maxPoints) resizeTimer = setTimeout(load, 300);
  });
  resize.observe(chartBox);
  liveBox.addEventListener("change", () => { state.live = liveBox.checked; syncUrl(); schedule(); });

  function window_() {
    if (state.range === "custom") return [state.from, state.to];
    const span = RANGES.find(r => r[0] === state.range)[2];
    const to = Date.now();
    return [to - span, to];
  }

  function syncUrl() {
    const custom = state.range === "custom";
    replaceParams(pageHash("chart", { ids: state.ids.join(","), range: state.range, from: custom ? state.from : "", to: custom ? state.to : "", live: state.live ? "1" : "", name: state.name, fav: state.fav }));
    for (const b of presetButtons) b.setAttribute("aria-pressed", String(b.dataset.range === state.range));
    liveBox.disabled = custom;
    if (!custom) { const [f, t] = window_(); fromInput.value = toLocalInput(f); toInput.value = toLocalInput(t); }
    else { fromInput.value = toLocalInput(state.from); toInput.value = toLocalInput(state.to); }
  }

  function setRange(key) {
    state.range = key;
    syncUrl();
    load();
  }

  function applyCustom() {
    const f = Date.parse(fromInput.value), t = Date.parse(toInput.value);
    if (!(f < t)) { status.textContent = "The custom range needs a start before its end."; fromInput.focus(); return; }
    state.range = "custom"; state.from = f; state.to = t;
    syncUrl();
    load();
  }

  function size() {
    const width = Math.max(200, chartBox.clientWidth - 8);
    return { width, height: width < 600 ? 260 : 380 };
  }

  /** One bucket per pixel column: more points than that cannot be seen. */
  function maxPointsFor() {
    return Math.min(5000, Math.max(50, Math.round(size().width)));
  }

  async function load() {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = new AbortController();
    const [from, to] = window_();
    const maxPoints = maxPointsFor();
    const fields = state.ids.map((id, i) =>
      `s${i}: timeseries(idxDatapoint: ${str(id)}, from: ${Math.floor(from)}, to: ${Math.floor(to)}, maxPoints: ${maxPoints}) {
        bucketMs series { idxDatapoint key agentProgram agentPolledTarget dataType counter pollingInterval ${translated()} labels { key value }
          writable { kind min max allowed limits address canRelinquish enabled } }
        timestamps values texts { timestamp value } }`);
    status.textContent = "Loading…";
    try {
      const [d, uPlot] = await Promise.all([gql("{ " + fields.join("\n") + " }", undefined, controller.signal), loadUPlot()]);
      if (stopped) return;
      showError("");
      // Points come as two columns (a third of the server's time of point objects).
      const series = state.ids.map((id, i) => {
        const s = d["s" + i];
        return s ? { id, ...s, points: s.timestamps.map((timestamp, k) => ({ timestamp, value: s.values[k] })) } : { id, missing: true };
      });
      last = { from, to, maxPoints, series };
      draw(uPlot);
    } catch (e) {
      if (e.name === "AbortError") return;
      status.textContent = "Could not load the chart.";
      showError(e.message);
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (!state.live || state.range === "custom" || stopped) return;
    const intervals = (last ? last.series : []).filter(s => !s.missing && s.series.pollingInterval > 0).map(s => s.series.pollingInterval);
    const span = window_()[1] - window_()[0];
    let every = Math.min(60_000, Math.max(5_000, intervals.length ? Math.min(...intervals) : 10_000));
    if (span >= 7 * 86_400_000) every = 60_000;
    timer = setTimeout(() => { if (document.hidden) schedule(); else load(); }, every);
  }

  function draw(uPlot) {
    const numeric = last.series.filter(s => !s.missing && s.series.dataType !== 2);
    const textual = last.series.filter(s => !s.missing && s.series.dataType === 2);
    const missing = last.series.filter(s => s.missing);
    const dark = matchMedia("(prefers-color-scheme: dark)").matches;
    const palette = dark ? DARK : LIGHT;
    numeric.forEach((s, i) => { s.color = palette[i % palette.length]; });
    if (!state.name && numeric.length + textual.length > 0) {
      const first = (numeric[0] || textual[0]).series;
      favName.value ||= first.key + " · " + first.agentPolledTarget + (state.ids.length > 1 ? " + " + (state.ids.length - 1) : "");
    }

    const { xs, columns } = join(numeric);
    const counts = columns.map(c => c.reduce((n, v) => (typeof v === "number" ? n + 1 : n), 0));
    chartBox.dataset.points = counts.join(",");
    chartBox.dataset.maxPoints = String(last.maxPoints);
    chartBox.dataset.from = String(Math.floor(last.from));
    chartBox.dataset.to = String(Math.floor(last.to));
    chartBox.dataset.ids = numeric.map(s => s.id).join(",");
    chartBox.dataset.bucketMs = numeric.map(s => s.bucketMs).join(",");
    chartBox.dataset.loads = String(Number(chartBox.dataset.loads || 0) + 1);

    // One y scale per unit: the first two get an axis (left, right), the rest share the legend.
    const units = [...new Set(numeric.map(s => seriesUnit(s.series)))];
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue("--fg").trim(), grid = css.getPropertyValue("--grid").trim();
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const key = (dark ? "d" : "l") + "|" + units.join("|") + "|" + numeric.map(s => s.id).join(",");

    if (numeric.length === 0) {
      if (plot) { plot.destroy(); plot = null; plotKey = ""; }
      chartBox.replaceChildren(h("p", { class: "empty" }, textual.length ? "Only text datapoints: their changes are listed below." : "None of these datapoints exist any more."));
    } else if (plot && plotKey === key) {
      plot.setData([xs, ...columns]);
    } else {
      if (plot) plot.destroy();
      chartBox.replaceChildren();
      const opts = {
        ...size(),
        ms: 1,
        cursor: { drag: { x: true, y: false, setScale: false } },
        scales: { x: { time: true } },
        legend: { live: true },
        series: [
          { label: "Time", value: (u, v) => (v == null ? "–" : formatTime(v)) },
          ...numeric.map(s => {
            const unit = seriesUnit(s.series);
            // Away from the cursor the legend shows each series' latest value, not a dash.
            const latest = s.points.length ? s.points[s.points.length - 1].value : null;
            return {
              label: seriesLabel(s.series), scale: "u:" + unit, stroke: s.color, width: 1.75, spanGaps: false, points: { size: 5 },
              value: (u, v, si, di) => { const x = di == null ? latest : v; return x == null ? "–" : formatValue(x) + (unit ? " " + unit : ""); },
            };
          }),
        ],
        axes: [
          // Time labels need room: uPlot's default spacing let the first ones overlap.
          { ...axis, space: 90 },
          ...units.slice(0, 2).map((u, i) => ({ ...axis, scale: "u:" + u, side: i === 0 ? 3 : 1, label: u || undefined, labelSize: u ? 20 : 0, grid: i === 0 ? axis.grid : { show: false },
            values: (self, ticks) => ticks.map(formatAxis), size: axisSize })),
        ],
        hooks: {
          setSelect: [u => {
            // Dragging across the chart zooms in by asking the box for that range at full resolution.
            if (u.select.width < 8) return;
            const f = u.posToVal(u.select.left, "x"), t = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            state.range = "custom"; state.from = Math.floor(f); state.to = Math.ceil(t);
            syncUrl();
            load();
          }],
        },
      };
      for (const u of units) opts.scales["u:" + u] = { auto: true };
      plot = new uPlot(opts, [xs, ...columns], chartBox);
      plotKey = key;
    }

    const bucket = Math.max(0, ...numeric.map(s => s.bucketMs));
    const rangeText = state.range === "custom" ? formatTime(last.from, false) + " to " + formatTime(last.to, false) : RANGE_NAMES[state.range];
    status.textContent = numeric.length + " series, " + counts.reduce((a, b) => a + b, 0) + " points, " + rangeText + ". " +
      (bucket ? "Averaged into " + formatDuration(bucket) + " buckets (drag across the chart to zoom in)." : "Raw samples.") +
      (state.live && state.range !== "custom" ? " Live, updated " + formatTime(Date.now()) + "." : "");
    chartBox.setAttribute("aria-label", describe(numeric, rangeText));

    seriesList.replaceChildren(...last.series.map(s => h("li", { "data-idx": s.id },
      s.color ? h("span", { class: "swatch", style: { background: s.color } }) : null,
      s.missing ? h("span", null, "Datapoint " + s.id + " does not exist on this box.") :
        h("span", null, seriesLabel(s.series), h("span", { class: "muted" }, " · " + s.series.agentProgram + (seriesUnit(s.series) ? " · " + seriesUnit(s.series) : "") + (s.series.counter ? " (counter, as rate)" : ""))),
      state.ids.length > 1 ? h("button", { type: "button", class: "small", "aria-label": "Remove " + (s.missing ? "datapoint " + s.id : seriesLabel(s.series)) + " from the chart", onclick: () => remove(s.id) }, "Remove") : null)));

    texts.replaceChildren();
    if (textual.length) {
      const rows = textual.flatMap(s => s.texts.map(t => ({ t: t.timestamp, who: seriesLabel(s.series), v: t.value }))).sort((a, b) => b.t - a.t).slice(0, 200);
      texts.append(h("h2", null, "Text datapoints"), h("div", { class: "table-wrap" }, h("table", { class: "cards" },
        h("caption", null, rows.length ? "Values and changes in this range, newest first" : "No values in this range"),
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Datapoint"), h("th", { scope: "col" }, "Value"))),
        h("tbody", null, rows.map(r => h("tr", null, h("td", { "data-label": "Time" }, formatTime(r.t)), h("td", { "data-label": "Datapoint" }, r.who), h("td", { "data-label": "Value" }, r.v)))))));
    }
    csvButton.disabled = numeric.length + textual.length === 0;
    // Write panels are drawn once per set of writable datapoints: a refresh keeps what is typed.
    const key2 = last.series.filter(s => !s.missing && s.series.writable).map(s => s.id + (s.series.writable.enabled ? "+" : "-")).join(",");
    if (key2 !== writesKey) { writesKey = key2; renderWriteControls(writes, last.series, () => load()); }
    if (missing.length && numeric.length + textual.length === 0) showError("None of the datapoints " + state.ids.join(", ") + " exist on this box.");
  }

  function remove(id) {
    state.ids = state.ids.filter(x => x !== id);
    state.fav = "";
    location.hash = pageHash("chart", { ids: state.ids.join(","), range: state.range, from: state.range === "custom" ? state.from : "", to: state.range === "custom" ? state.to : "", live: state.live ? "1" : "" });
  }

  function downloadCsv() {
    if (!last) return;
    const text = toCsv(last.series.filter(s => !s.missing));
    const blob = new Blob([text], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const stamp = d => formatTime(d, false).replace(/[- :]/g, "").replace(/^(\d{8})/, "$1-");
    const a = h("a", { href: url, download: "pattoo-edge-" + stamp(last.from) + "-" + stamp(last.to) + ".csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  async function save() {
    const name = favName.value.trim();
    if (!name) { favStatus.textContent = "Give the favourite a name."; favName.focus(); return; }
    favButton.disabled = true;
    favStatus.textContent = "Saving…";
    try {
      const idxChart = await saveFavourite(name, state.ids);
      state.name = name; state.fav = idxChart;
      title.textContent = name;
      syncUrl();
      favStatus.textContent = "Saved “" + name + "” on the box: everyone who opens Favourites sees it.";
    } catch (e) {
      favStatus.textContent = "Not saved: " + e.message;
    } finally {
      favButton.disabled = false;
    }
  }

  syncUrl();
  load();
  return () => { stopped = true; clearTimeout(timer); clearTimeout(resizeTimer); if (controller) controller.abort(); resize.disconnect(); if (plot) plot.destroy(); };
}

/**
 * Puts several series on one time axis. Values are the series' own; where a series has no
 * sample at a time it gets undefined (the line is drawn across), and where the gap between
 * two samples is over 2.5 steps (poll interval or bucket) a null breaks the line.
 */
export function join(list) {
  const all = new Set();
  const perSeries = list.map(s => {
    const step = s.bucketMs || s.series.pollingInterval || 0;
    const points = [];
    let prev = null;
    for (const p of s.points) {
      if (prev !== null && step > 0 && p.timestamp - prev > 2.5 * step) points.push([prev + step, null]);
      points.push([p.timestamp, p.value]);
      prev = p.timestamp;
    }
    for (const [t] of points) all.add(t);
    return points;
  });
  const xs = [...all].sort((a, b) => a - b);
  const at = new Map(xs.map((t, i) => [t, i]));
  const columns = perSeries.map(points => {
    const column = new Array(xs.length).fill(undefined);
    for (const [t, v] of points) column[at.get(t)] = v;
    return column;
  });
  return { xs, columns };
}

/** RFC 4180 CSV of what is charted: one row per time, one column per datapoint (text ones too). */
export function toCsv(list) {
  const quote = v => (/[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v);
  const times = new Set();
  for (const s of list) for (const p of s.series.dataType === 2 ? s.texts : s.points) times.add(p.timestamp);
  const xs = [...times].sort((a, b) => a - b);
  const at = new Map(xs.map((t, i) => [t, i]));
  const header = ["time_utc", "unix_ms", ...list.map(s => {
    const unit = seriesUnit(s.series);
    return s.series.agentProgram + "/" + seriesLabel(s.series) + " [" + s.id + "]" + (unit ? " (" + unit + ")" : "");
  })];
  const rows = xs.map(t => [new Date(t).toISOString(), String(t), ...list.map(() => "")]);
  list.forEach((s, c) => {
    for (const p of s.series.dataType === 2 ? s.texts : s.points) rows[at.get(p.timestamp)][2 + c] = String(p.value);
  });
  return [header, ...rows].map(r => r.map(quote).join(",")).join("\r\n") + "\r\n";
}

function describe(numeric, rangeText) {
  if (!numeric.length) return "Empty chart";
  const parts = numeric.map(s => {
    const values = s.points.map(p => p.value);
    if (!values.length) return seriesLabel(s.series) + ": no data";
    const unit = seriesUnit(s.series);
    return seriesLabel(s.series) + ": latest " + formatValue(values[values.length - 1]) + " " + unit + ", from " + formatValue(Math.min(...values)) + " to " + formatValue(Math.max(...values));
  });
  return "Chart of " + rangeText + ". " + parts.join(". ") + ".";
}
