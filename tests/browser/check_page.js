// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Loads a page of leakwatch's -f html into real headless Chromium and
// reports what it finds, as one JSON object on stdout, for the integration
// test (tests/integration/test_reports.c) to assert on:
//
//   node check_page.js PAGE.html|URL SHOT.png FUNCTION CLICK
//
// - "requests": every URL the page asked for (the page must ask for
//   nothing but itself);
// - "errors": exceptions thrown and console errors;
// - "frames": the names of the flame graph's frames (<g name=...>), and
//   "table": the text of the top-stacks table;
// - "shot": the screenshot, written to SHOT.png and decoded here: its
//   size, how many distinct colours and what share of pixels is not
//   white;
// - "zoom": the chart's width, and the width of the frame CLICK before
//   and after a real mouse click on it (Input.dispatchMouseEvent): the
//   click zooms when the frame then spans the chart;
// - "search": the frames highlighted after FUNCTION was typed into the
//   search box;
// - "tooltip": the tooltip's text after the mouse moved onto FUNCTION.
//
// Chromium is driven through the DevTools protocol over a pipe
// (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), which needs
// nothing but node.  CHROMIUM names the browser (default /usr/bin/chromium).
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");

const [page, shot, func, click] = process.argv.slice(2);
if (!click) {
  console.error("usage: node check_page.js PAGE.html SHOT.png FUNCTION CLICK");
  process.exit(2);
}
const WIDTH = 1280, HEIGHT = 900;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "lw-chromium-"));
const browser = spawn(process.env.CHROMIUM || "/usr/bin/chromium", [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
  "--user-data-dir=" + profile, "--remote-debugging-pipe",
  `--window-size=${WIDTH},${HEIGHT}`, "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
browser.stderr.on("data", (d) => { stderr += d; });

const pending = new Map();
const listeners = [];
let nextId = 1, inbuf = "";
browser.stdio[4].on("data", (chunk) => {
  inbuf += chunk.toString("utf8");
  let nul;
  while ((nul = inbuf.indexOf("\0")) >= 0) {
    const msg = JSON.parse(inbuf.slice(0, nul));
    inbuf = inbuf.slice(nul + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(method + ": " + msg.error.message));
      else resolve(msg.result);
    } else if (msg.method) {
      listeners.forEach((l) => l(msg));
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  browser.stdio[3].write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
function waitFor(method, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timed out waiting for " + method)), timeoutMs);
    listeners.push((m) => {
      if (m.method === method) {
        clearTimeout(t);
        resolve(m.params);
      }
    });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Decodes an 8-bit RGB or RGBA PNG (what Page.captureScreenshot gives).
function pngStats(buf) {
  let pos = 8, width = 0, height = 0, ctype = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString("latin1", pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || (data[9] !== 2 && data[9] !== 6)) throw new Error("unexpected PNG format");
      ctype = data[9];
    } else if (type === "IDAT") {
      idat.push(data);
    }
    pos += 12 + len;
  }
  const bpp = ctype === 6 ? 4 : 3, stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y ? px[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 255;
    }
  }
  const colours = new Set();
  let notWhite = 0;
  for (let i = 0; i < px.length; i += bpp) {
    colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    if (px[i] < 250 || px[i + 1] < 250 || px[i + 2] < 250) notWhite++;
  }
  return { width, height, colours: colours.size, not_white: notWhite / (width * height) };
}

async function main() {
  // a file, or a page the --watch daemon serves
  const url = /^https?:\/\//.test(page) ? page : "file://" + path.resolve(page);
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const s = (method, params) => send(method, params, sessionId);
  const result = { requests: [], errors: [] };
  listeners.push((m) => {
    if (m.sessionId !== sessionId) return;
    if (m.method === "Network.requestWillBeSent") result.requests.push(m.params.request.url);
    if (m.method === "Runtime.exceptionThrown")
      result.errors.push(m.params.exceptionDetails.exception?.description ||
                         m.params.exceptionDetails.text);
    if (m.method === "Runtime.consoleAPICalled" && m.params.type === "error")
      result.errors.push(m.params.args.map((a) => a.value ?? a.description).join(" "));
  });
  await s("Emulation.setDeviceMetricsOverride",
          { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false });
  await s("Network.enable");
  await s("Runtime.enable");
  await s("Page.enable");
  const loaded = waitFor("Page.loadEventFired", 30000);
  await s("Page.navigate", { url });
  await loaded;
  await sleep(1000);	// the chart's entry transition
  const evaluate = async (expr) =>
    (await s("Runtime.evaluate", { expression: expr, returnByValue: true })).result.value;

  result.frames = await evaluate(
    "[...document.querySelectorAll('#chart g[name]')].map((g) => g.getAttribute('name'))");
  result.table = await evaluate("document.querySelector('#stacks').innerText");
  result.title = await evaluate("document.title");

  const shotData = Buffer.from((await s("Page.captureScreenshot", { format: "png" })).data, "base64");
  fs.writeFileSync(shot, shotData);
  result.shot = pngStats(shotData);

  // typed into the search box (real key input): the frames it highlights
  await evaluate("document.getElementById('search').focus()");
  await s("Input.insertText", { text: func });
  await sleep(500);
  result.search = await evaluate(
    "[...document.querySelectorAll('#chart g[name]')].filter((g) => " +
    "g.querySelector('rect').getAttribute('fill') === '#e600e6').map((g) => g.getAttribute('name'))");
  await evaluate("(() => { const i = document.getElementById('search'); i.value = ''; " +
                 "i.dispatchEvent(new Event('input')); i.blur(); })()");
  await sleep(300);

  // the mouse onto FUNCTION: the tooltip
  const box = (name) => evaluate(`(() => {
    const g = [...document.querySelectorAll('#chart g[name]')].find((g) => g.getAttribute('name') === ${JSON.stringify(name)});
    if (!g) return null;
    const r = g.querySelector('rect').getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  })()`);
  const chartWidth = await evaluate("document.querySelector('#chart svg').getBoundingClientRect().width");
  const hover = await box(func);
  if (hover) {
    await s("Input.dispatchMouseEvent", { type: "mouseMoved", x: hover.x + hover.width / 2,
                                          y: hover.y + hover.height / 2 });
    await sleep(500);
    result.tooltip = await evaluate(
      "(document.querySelector('.d3-flame-graph-tip') || {}).innerText || null");
  }
  // a click on CLICK: it zooms
  const before = await box(click);
  result.zoom = { chart_width: chartWidth, before: before && before.width };
  if (before) {
    const at = { x: before.x + Math.min(before.width / 2, 20), y: before.y + before.height / 2 };
    await s("Input.dispatchMouseEvent", { type: "mousePressed", button: "left", clickCount: 1, ...at });
    await s("Input.dispatchMouseEvent", { type: "mouseReleased", button: "left", clickCount: 1, ...at });
    await sleep(1500);
    const after = await box(click);
    result.zoom.after = after && after.width;
  }
  return result;
}

const deadline = setTimeout(() => {
  console.error("check_page: no answer from Chromium in 60 s\n" + stderr);
  browser.kill("SIGKILL");
  process.exit(1);
}, Number(process.env.CHECK_PAGE_TIMEOUT_MS || 60000));
main().then((result) => {
  console.log(JSON.stringify(result));
  return send("Browser.close").catch(() => {});
}).catch((e) => {
  console.error("check_page: " + e.message + "\n" + stderr);
  process.exitCode = 1;
}).finally(() => {
  clearTimeout(deadline);
  // Chromium's helper processes may still be writing into the profile
  // when the browser itself has exited: retry, and never fail the check
  // over a temporary directory left behind.
  browser.on("exit", () => {
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    } catch (err) {
      console.error(`check_page: ${profile} left behind: ${err.message}`);
    }
  });
  browser.kill("SIGKILL");
});
