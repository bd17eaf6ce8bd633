#!/usr/bin/env node
// Drives the appliance's dashboard in Debian's headless chromium (playwright-core) and prints
// one JSON object with what it saw. Run by tests/Pattoo.Edge.EndToEnd/Dashboard/*.cs:
//
//   DASHBOARD_URL=http://127.0.0.1:PORT/ SCREENSHOT_DIR=DIR DASHBOARD_ARGS='{"...": ...}' \
//     node dashboard.js overview|browse|chart|dense|favourite|graphiql|formats|discover|events|write
//
// Every scenario also reports console errors, failed requests and requests that left the box
// (there must be none: the page may use nothing but the appliance). Exit code 0 with JSON on
// stdout, or 1 with {"error": "..."}.
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const URL_ = process.env.DASHBOARD_URL || "http://127.0.0.1:20202/";
const SHOTS = process.env.SCREENSHOT_DIR || "";
const ARGS = JSON.parse(process.env.DASHBOARD_ARGS || "{}");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const TIMEOUT = 15_000;

async function main() {
  const scenario = process.argv[2];
  if (!scenarios[scenario]) throw new Error("usage: node dashboard.js " + Object.keys(scenarios).join("|"));
  if (!fs.existsSync(CHROMIUM)) throw new Error(CHROMIUM + " is missing: apt-get install chromium");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true, colorScheme: "light" });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const watch = { consoleErrors: [], failed: [], foreign: [], graphql: 0 };
  const origin = new URL(URL_).origin;
  page.on("console", m => { if (m.type() === "error") watch.consoleErrors.push(m.text()); });
  page.on("pageerror", e => watch.consoleErrors.push(String(e)));
  page.on("requestfailed", r => { if (!/ERR_ABORTED/.test(r.failure()?.errorText || "")) watch.failed.push(r.url() + " " + (r.failure()?.errorText || "")); });
  page.on("request", r => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith("blob:") && !u.startsWith("data:")) watch.foreign.push(u);
    if (new URL(u).pathname === "/graphql") watch.graphql++;
  });
  try {
    const result = await scenarios[scenario](page, watch, context);
    return { scenario, ...result, consoleErrors: watch.consoleErrors, failedRequests: watch.failed, foreignRequests: watch.foreign };
  } finally {
    await browser.close();
  }
}

async function shot(page, name, viewport) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  if (viewport) await page.setViewportSize(viewport);
  await page.waitForTimeout(300); // let the chart follow the new width
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

/** Waits until #chart has drawn `n` times (data-loads counts the answers it drew). */
async function chartLoads(page, n) {
  await page.waitForFunction(n => Number(document.querySelector("#chart")?.dataset.loads || 0) >= n, n);
  return page.evaluate(() => {
    const c = document.querySelector("#chart");
    const plot = c.querySelector(".uplot canvas");
    return {
      points: c.dataset.points.split(",").filter(Boolean).map(Number),
      maxPoints: Number(c.dataset.maxPoints),
      from: Number(c.dataset.from),
      to: Number(c.dataset.to),
      ids: c.dataset.ids.split(",").filter(Boolean),
      bucketMs: c.dataset.bucketMs.split(",").filter(Boolean).map(Number),
      canvas: plot ? { width: plot.width, height: plot.height } : null,
      status: document.querySelector("#chart-status").textContent,
      label: c.getAttribute("aria-label"),
      legend: [...c.querySelectorAll(".u-legend .u-series th")].map(th => th.textContent.trim()),
      legendValues: [...c.querySelectorAll(".u-legend .u-series td")].map(td => td.textContent.trim()),
      chartWidth: c.clientWidth,
    };
  });
}

const scenarios = {
  async overview(page) {
    const started = Date.now();
    await page.goto(URL_, { waitUntil: "load" });
    const load = Date.now() - started;
    await page.waitForSelector("#pollers tbody tr");
    await page.waitForSelector("#agents tbody tr");
    await page.waitForSelector("#forwarders tbody tr");
    await page.waitForSelector("#alerts tbody tr");
    await page.waitForFunction(() => document.querySelector("#box-name").textContent.length > 0);
    const paint = await page.evaluate(() => {
      const p = performance.getEntriesByName("first-contentful-paint")[0] || performance.getEntriesByName("first-paint")[0];
      return p ? p.startTime : null;
    });
    const data = await page.evaluate(() => ({
      title: document.title,
      boxName: document.querySelector("#box-name").textContent,
      facts: Object.fromEntries([...document.querySelectorAll("[data-fact]")].map(d => [d.dataset.fact, d.textContent])),
      pollers: [...document.querySelectorAll("#pollers tbody tr")].map(tr => ({
        program: tr.dataset.program, target: tr.dataset.target,
        cells: Object.fromEntries([...tr.children].map(td => [td.dataset.label, td.textContent.trim()])),
      })),
      agents: [...document.querySelectorAll("#agents tbody tr")].map(tr => ({ agent: tr.dataset.agent, datapoints: tr.lastElementChild.textContent.trim() })),
      forwarders: [...document.querySelectorAll("#forwarders tbody tr")].map(tr => ({
        name: tr.dataset.forwarder, cells: Object.fromEntries([...tr.children].map(td => [td.dataset.label, td.textContent.trim()])),
      })),
      alerts: [...document.querySelectorAll("#alerts tbody tr")].map(tr => ({
        rule: tr.dataset.alert, state: tr.dataset.state, cells: Object.fromEntries([...tr.children].map(td => [td.dataset.label, td.textContent.trim()])),
      })),
      currentNav: document.querySelector("nav a[aria-current=page]")?.textContent,
      focused: document.activeElement?.tagName,
      // Every form control and image needs a name for screen readers.
      unlabelled: [...document.querySelectorAll("input, select, button, img:not([alt])")].filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim() && e.tagName !== "IMG").length,
    }));
    await shot(page, "overview-desktop");
    await shot(page, "overview-phone", PHONE);
    // The skip link is the first stop of the keyboard.
    await page.keyboard.press("Tab");
    const firstTab = await page.evaluate(() => document.activeElement.textContent);
    return { firstPaintMs: paint, loadMs: load, firstTab, ...data };
  },

  async browse(page) {
    await page.goto(URL_ + "#/browse");
    await page.waitForSelector("#results li");
    const search = page.getByLabel("Search", { exact: true });
    await search.fill(ARGS.search);
    await page.waitForFunction(q => new URLSearchParams(location.hash.split("?")[1] || "").get("q") === q && !/Searching/.test(document.querySelector("#result-count").textContent), ARGS.search);
    const found = await page.evaluate(() => ({
      count: document.querySelector("#result-count").textContent,
      results: [...document.querySelectorAll("#results li")].map(li => ({ idx: li.dataset.idx, key: li.dataset.key, text: li.querySelector(".where").textContent })),
    }));
    // Keyboard: down arrow from the search box reaches the first result; space selects it.
    await search.focus();
    await page.keyboard.press("ArrowDown");
    const focusedAfterArrow = await page.evaluate(() => document.activeElement.id);
    await page.keyboard.press("Space");
    const chartLink = await page.evaluate(() => ({ text: document.querySelector("#chart-selected").textContent, href: document.querySelector("#chart-selected").getAttribute("href") }));
    await shot(page, "browse-desktop");
    // Filters: program and label narrow the list.
    await search.fill("");
    await page.selectOption("#f-program", ARGS.program);
    await page.fill("#f-label", ARGS.label);
    await page.press("#f-label", "Enter");
    await page.waitForFunction(l => new URLSearchParams(location.hash.split("?")[1] || "").get("label") === l && !/Searching/.test(document.querySelector("#result-count").textContent), ARGS.label);
    const filtered = await page.evaluate(() => [...document.querySelectorAll("#results li")].map(li => li.dataset.key));
    await shot(page, "browse-phone", PHONE);
    return { ...found, focusedAfterArrow, chartLink, filtered };
  },

  async chart(page, watch) {
    await page.goto(URL_ + "#/chart?ids=" + ARGS.ids.join(",") + "&range=1h");
    const first = await chartLoads(page, 1);
    const before = watch.graphql;
    await page.getByRole("button", { name: "7 d", exact: true }).click();
    const second = await chartLoads(page, 2);
    const queriesForRangeChange = watch.graphql - before;
    const pressed = await page.evaluate(() => [...document.querySelectorAll("button[aria-pressed=true]")].map(b => b.textContent));
    const hash = await page.evaluate(() => location.hash);
    await shot(page, "chart-desktop");
    // CSV of what is charted (back to 1 h, so it is the recent samples).
    await page.getByRole("button", { name: "1 h", exact: true }).click();
    await chartLoads(page, 3);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv")]);
    const csv = fs.readFileSync(await download.path(), "utf8");
    // On a phone the chart asks again, for about as many points as it is wide.
    await page.setViewportSize(PHONE);
    const phone = await chartLoads(page, 4);
    await shot(page, "chart-phone");
    return { first, second, queriesForRangeChange, pressed, hash, csv, csvName: download.suggestedFilename(), phone };
  },

  async dense(page) {
    await page.emulateMedia({ colorScheme: "dark" }); // this one is looked at in the dark theme
    await page.goto(URL_ + "#/chart?ids=" + ARGS.ids.join(",") + "&range=24h");
    const desktop = await chartLoads(page, 1);
    await shot(page, "chart-dense-dark-desktop");
    // A phone-wide chart asks for fewer points.
    await page.setViewportSize(PHONE);
    await page.reload();
    const phone = await chartLoads(page, 1);
    return { desktop, phone };
  },

  async favourite(page) {
    await page.goto(URL_ + "#/chart?ids=" + ARGS.ids.join(",") + "&range=24h");
    await chartLoads(page, 1);
    await page.fill("#fav-name", ARGS.name);
    await page.click("#fav-save");
    await page.waitForFunction(() => /^Saved/.test(document.querySelector("#fav-status").textContent));
    const saved = await page.evaluate(() => ({ status: document.querySelector("#fav-status").textContent, title: document.querySelector("h1").textContent, hash: location.hash }));
    await page.goto(URL_ + "#/favourites");
    await page.reload();
    await page.waitForSelector(".favs > li");
    const afterReload = await page.evaluate(() => [...document.querySelectorAll(".favs > li")].map(li => ({
      chart: li.dataset.chart, name: li.dataset.name, series: [...li.querySelectorAll("ul li")].map(x => x.textContent), href: li.querySelector("a.name").getAttribute("href"),
    })));
    await shot(page, "favourites-desktop");
    await shot(page, "favourites-phone", PHONE);
    await page.setViewportSize(DESKTOP);
    await page.getByRole("link", { name: "Open " + ARGS.name }).click();
    const opened = await chartLoads(page, 1);
    const openedTitle = await page.evaluate(() => document.querySelector("h1").textContent);
    return { saved, afterReload, opened, openedTitle };
  },

  // Discover: a Modbus discovery run on the box from the page, its progress and the TOML to copy.
  async discover(page, watch) {
    await page.goto(URL_ + "#/discover");
    await page.selectOption("#discover-protocol", "modbus");
    await page.fill("#discover-address", ARGS.address);
    await page.fill("#discover-options", ARGS.options);
    await page.click("#discover-run");
    const busyWhileRunning = await page.evaluate(() => !document.querySelector("#discover-busy").hidden || document.querySelector("#discover-toml").textContent.length > 0);
    await page.waitForSelector("#discover-toml:not([hidden])", { timeout: 60_000 });
    const result = await page.evaluate(() => ({
      steps: [...document.querySelectorAll("#discover-progress li")].map(li => li.textContent),
      toml: document.querySelector("#discover-toml").textContent,
      status: document.querySelector("#discover-status").textContent,
      busyAfter: !document.querySelector("#discover-busy").hidden,
      copyVisible: !document.querySelector("#discover-copy").hidden,
      navCurrent: document.querySelector('.top nav a[aria-current="page"]')?.textContent,
    }));
    await shot(page, "discover-desktop");
    await shot(page, "discover-phone", PHONE);
    await page.setViewportSize(DESKTOP);
    // a bad option: the box's 400 is shown, no TOML
    await page.fill("#discover-options", "--range 9-1");
    await page.click("#discover-run");
    await page.waitForFunction(() => /the end is before the start/.test(document.body.textContent));
    const badError = await page.evaluate(() => document.querySelector("#banner").textContent);
    // chromium logs the refused request itself as a console error: that one was asked for
    watch.consoleErrors = watch.consoleErrors.filter(e => !/status of 400 \(Bad Request\)/.test(e));
    return { busyWhileRunning, ...result, badError };
  },

  // Events: the overview's latest events, the Events page, a severity filter, a row's details.
  async events(page) {
    const rowsOf = sel => page.evaluate(sel => [...document.querySelectorAll(sel + " tbody tr")].map(tr => ({
      severity: tr.dataset.severity,
      cells: Object.fromEntries([...tr.children].map(td => [td.dataset.label, td.querySelector("summary")?.textContent ?? td.textContent.trim()])),
    })), sel);
    await page.goto(URL_, { waitUntil: "load" });
    await page.waitForSelector("#latest-events tbody tr");
    const latest = await rowsOf("#latest-events");
    await page.click("#latest-events a[href='#/events']");
    await page.waitForSelector("#events tbody tr");
    const all = await rowsOf("#events");
    const navCurrent = await page.evaluate(() => document.querySelector("nav a[aria-current=page]")?.textContent);
    await shot(page, "events-desktop", DESKTOP);
    await page.selectOption("#events-severity", "warning");
    await page.click("form.filters button[type=submit]");
    await page.waitForFunction(() => [...document.querySelectorAll("#events tbody tr")].every(tr => tr.dataset.severity === "warning"));
    const warnings = await rowsOf("#events");
    const hash = await page.evaluate(() => location.hash);
    await page.click("#events tbody tr details summary");
    const details = await page.evaluate(() => [...document.querySelectorAll("#events tbody tr details[open] dt")].map(dt => dt.textContent + "=" + dt.nextElementSibling.textContent));
    await shot(page, "events-phone", PHONE);
    await page.setViewportSize(DESKTOP);
    return { latest, all, navCurrent, warnings, hash, details };
  },

  // Write-back from the chart page: ARGS.ids are charted, ARGS.write is writable. The control
  // token is entered, a value written through the confirmation, then written again at once
  // (refused by the box's rate limit); the audit trail shows both.
  async write(page) {
    const id = ARGS.write;
    const panel = `.write-panel[data-idx="${id}"]`;
    await page.goto(URL_ + "#/chart?ids=" + ARGS.ids.join(",") + "&range=1h");
    await chartLoads(page, 1);
    await page.waitForSelector(panel);
    const panels = await page.evaluate(() => [...document.querySelectorAll(".write-panel")].map(p => ({
      idx: p.dataset.idx, title: p.querySelector("h3").textContent, where: p.querySelector("p.muted").textContent, asksToken: !!p.querySelector("input[type=password]"),
    })));
    await page.fill(`#control-token-${id}`, ARGS.token);
    await page.click(`${panel} form.token-form button[type=submit]`);
    await page.waitForSelector(`#write-value-${id}`);
    const input = await page.evaluate(id => { const i = document.querySelector("#write-value-" + id); return { type: i.type, min: i.min, max: i.max, step: i.step }; }, id);
    const statusOf = () => page.evaluate(panel => document.querySelector(panel + " p.status").textContent, panel);
    const writeValue = async (value) => {
      await page.fill(`#write-value-${id}`, value);
      await page.fill(`#write-comment-${id}`, "from the dashboard");
      await page.click(`#write-${id}`);
      await page.waitForSelector(`${panel} .confirm:not([hidden])`);
      const confirm = await page.textContent(`${panel} .confirm`);
      await page.evaluate(panel => { delete document.querySelector(panel).dataset.result; }, panel);
      await page.click(`#write-confirm-${id}`);
      await page.waitForFunction(panel => document.querySelector(panel).dataset.result, panel);
      return confirm;
    };
    const confirm = await writeValue(ARGS.value);
    await shot(page, "write-confirmed", DESKTOP);
    const written = await statusOf();
    await writeValue(ARGS.value2);
    const refused = await statusOf();
    await page.waitForFunction(panel => document.querySelectorAll(panel + " table.audit-trail tbody tr").length >= 2, panel);
    const audit = await page.evaluate(panel => [...document.querySelectorAll(panel + " table.audit-trail tbody tr")].map(tr =>
      Object.fromEntries([...tr.children].map(td => [td.dataset.label, td.textContent]))), panel);
    await shot(page, "write-desktop", DESKTOP);
    await shot(page, "write-phone", PHONE);
    await page.setViewportSize(DESKTOP);
    return { panels, input, confirm, written, refused, audit };
  },

  // GraphiQL's docs pane lives on the introspection query: open it and walk from the root
  // type to one of pattoo's types.
  async graphiql(page) {
    await page.goto(new URL("/graphiql", URL_).href, { waitUntil: "load" });
    await page.waitForSelector(".docExplorerShow");
    await page.click(".docExplorerShow");
    await page.waitForSelector(".doc-explorer-contents a.type-name");
    const roots = await page.$$eval(".doc-explorer-contents a.type-name", as => as.map(a => a.textContent.trim()));
    await page.click(".doc-explorer-contents a.type-name >> text=Query");
    await page.waitForSelector(".doc-explorer-contents a.field-name >> text=allDatapoints");
    const fields = await page.$$eval(".doc-explorer-contents a.field-name", as => as.map(a => a.textContent.trim()));
    await shot(page, "graphiql-docs", DESKTOP);
    return { roots, fields };
  },


  // The chart's number formats, run in the page on the dashboard's own module (uPlot draws axes
  // on a canvas, so the labels cannot be read from the DOM).
  async formats(page) {
    await page.goto(URL_, { waitUntil: "load" });
    const values = [0, 1.39e-36, 0.5, 999, 1500, 12345, 65668075, 2.5e9, -42000];
    return await page.evaluate(async (values) => {
      const src = document.querySelector("script[type=module]").src;
      const ui = await import(new URL("ui.js", src).href);
      // A target's last error: in full while failing, folded and greyed once it recovered.
      const overview = await import(new URL("overview.js", src).href);
      const now = Date.now();
      const cell = (p) => { const e = overview.lastError(p, now - 180_000, now); return typeof e === "string" ? e : e.outerHTML; };
      return {
        axis: values.map(v => ui.formatAxis(v)), value: values.map(v => ui.formatValue(v)),
        failing: cell({ ok: false, lastError: "connection refused" }),
        recovered: cell({ ok: true, lastError: "connection refused" }),
        never: cell({ ok: true, lastError: null }),
      };
    }, values);
  },

};

main().then(r => { process.stdout.write(JSON.stringify(r) + "\n"); }, e => {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + "\n");
  process.exit(1);
});
