// Test harness: the card simulator, a page that loads the real hipki.js, and headless Chromium.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

/** A binary built by `cargo build` (gpki-card-sim, gpki-idp). */
export function binary(name) {
  const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
  const bin = join(target, 'debug', name);
  if (!existsSync(bin)) throw new Error(`${name} not built: ${bin} (run cargo build -p gpki-card-sim -p gpki-idp-server)`);
  return bin;
}

function simBinary() {
  return process.env.GPKI_CARD_SIM_BIN || binary('gpki-card-sim');
}

/** Starts the simulator on a free port; resolves with {origin, pkiDir, stop}. */
export function startSimulator() {
  const pkiDir = mkdtempSync(join(tmpdir(), 'gpki-sim-'));
  const child = spawn(simBinary(), ['--listen', '127.0.0.1:0', '--pki-dir', pkiDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on http:\/\/localhost:(\d+)/);
      if (m) resolve({ origin: `http://127.0.0.1:${m[1]}`, pkiDir, stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`card simulator exited with ${code}: ${out}`)));
    setTimeout(() => reject(new Error('card simulator did not start in 60 s')), 60000);
  });
}

const PAGE = `<!doctype html><html lang="zh-Hant-TW"><head><meta charset="utf-8"><title>hipki harness</title></head>
<body><label for="pin">PIN</label><input id="pin" type="password" value="123456">
<button id="sign">sign</button><button id="diagnose">diagnose</button>
<script src="/hipki.js"></script><script src="/harness.js"></script></body></html>`;

function harnessScript(component) {
  return `var hipki = new HiPki(${JSON.stringify(component)}, { detectMs: 1500 });
window.__results = [];
function keep(p) { p.then(function (r) { __results.push({ ok: true, value: r }); }, function (e) { __results.push({ ok: false, value: e }); }); }
document.getElementById('sign').onclick = function () { keep(hipki.sign('challenge-123', document.getElementById('pin').value)); };
document.getElementById('diagnose').onclick = function () { keep(hipki.diagnose()); };`;
}

/** Serves the harness page with the real hipki.js; resolves with {origin, stop}. */
export function startPageServer(component) {
  const hipki = readFileSync(join(repo, 'crates', 'gpki-idp-server', 'assets', 'hipki.js'));
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/hipki.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(hipki);
    if (url.pathname === '/harness.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(harnessScript(component));
    if (url.pathname === '/') return res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ origin: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() });
  }));
}

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Switches what the simulator plays. */
export async function control(sim, body) {
  const res = await fetch(`${sim.origin}/sim/control`, { method: 'POST', body: JSON.stringify(body) });
  return res.json();
}

/** Clicks `button` and waits for the promise it started to settle; returns {ok, value}. */
export async function run(page, button) {
  const before = await page.evaluate(() => window.__results.length);
  await page.click(button);
  await page.waitForFunction((n) => window.__results.length > n, before, { timeout: 20000 });
  return page.evaluate(() => window.__results[window.__results.length - 1]);
}
