// hipki.js (the pages' client for the local signing service) in headless Chromium against the
// card simulator: the popup handshake, every failure with its message, and the PIN's path.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, startPageServer, launch, control, run } from './harness.mjs';

let sim, site, browser, context, page;

before(async () => {
  sim = await startSimulator();
  site = await startPageServer(sim.origin);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  site?.stop();
  sim?.stop();
});

beforeEach(async () => {
  await control(sim, { mode: 'ok', delay_ms: 0, reset_pin: true });
  await context?.close();
  context = await browser.newContext();
  page = await context.newPage();
  await page.goto(site.origin + '/');
});

test('card signature through the popup handshake', async () => {
  const r = await run(page, '#sign');
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(r.value.signature.length > 500);
  assert.ok(r.value.certb64.length > 500);
  assert.equal(r.value.cardSN, 'TP03000000123456');
});

test('the PIN goes to the component only, never to the site', async () => {
  const pin = '135790';
  await page.fill('#pin', pin);
  const requests = [];
  context.on('request', (req) => requests.push({ url: req.url(), body: req.postData() || '' }));
  const r = await run(page, '#sign');
  assert.equal(r.ok, false); // wrong PIN for the simulated card
  const toSite = requests.filter((q) => q.url.startsWith(site.origin));
  const toComponent = requests.filter((q) => q.url.startsWith(sim.origin));
  assert.ok(toComponent.some((q) => q.body.includes(pin)), 'the component received the PIN (the check can fail)');
  for (const q of toSite) assert.ok(!q.url.includes(pin) && !q.body.includes(pin), `PIN leaked to ${q.url}`);
});

test('wrong PIN counts down, then the card is locked', async () => {
  await page.fill('#pin', '000000');
  assert.equal((await run(page, '#sign')).value.code, 'wrong_pin_2_left');
  assert.equal((await run(page, '#sign')).value.code, 'wrong_pin_1_left');
  const locked = (await run(page, '#sign')).value;
  assert.equal(locked.code, 'pin_locked');
  assert.match(locked.zh, /戶政事務所/);
  assert.match(locked.en, /household registration office/);
});

test('a component that is not running is detected', async () => {
  await control(sim, { mode: 'not-started' });
  const r = await run(page, '#sign');
  assert.equal(r.value.code, 'component_not_running');
  assert.match(r.value.zh, /跨平台網頁元件/);
});

for (const [mode, code] of [['cancel', 'cancelled'], ['untrusted', 'untrusted_site'], ['no-card', 'no_card'],
  ['no-reader', 'no_reader'], ['driver-missing', 'library_load_failed'], ['cert-expired', 'cert_expired']]) {
  test(`signing in mode ${mode} explains ${code}`, async () => {
    await control(sim, { mode });
    const r = await run(page, '#sign');
    assert.equal(r.ok, false);
    assert.equal(r.value.code, code);
    assert.ok(r.value.zh.length > 0 && r.value.en.length > 0);
  });
}

test('diagnostics of a working card reach the signing certificate', async () => {
  const r = await run(page, '#diagnose');
  assert.deepEqual(r.value.steps.map((s) => [s.id, s.ok]),
    [['component', true], ['reader', true], ['card', true], ['token', true], ['certificate', true]]);
  assert.match(r.value.version, /sim/);
  assert.ok(r.value.certb64.length > 500);
});

for (const [mode, failing, code] of [['not-started', 'component', 'component_not_running'],
  ['driver-missing', 'component', 'library_load_failed'], ['no-reader', 'reader', 'no_reader'],
  ['no-card', 'card', 'no_card'], ['unknown-token', 'token', 'unknown_token']]) {
  test(`diagnostics stop at ${failing} in mode ${mode}`, async () => {
    await control(sim, { mode });
    const r = await run(page, '#diagnose');
    const last = r.value.steps[r.value.steps.length - 1];
    assert.deepEqual([last.id, last.ok], [failing, false]);
    assert.equal(r.value.failure.code, code);
  });
}

test('a message from another origin cannot forge the answer', async () => {
  await control(sim, { delay_ms: 700 });
  const before = await page.evaluate(() => window.__results.length);
  await page.click('#sign');
  await page.evaluate(() => window.postMessage(JSON.stringify({ func: 'sign', ret_code: 0, signature: 'forged' }), '*'));
  await page.waitForFunction((n) => window.__results.length > n, before, { timeout: 20000 });
  const r = await page.evaluate(() => window.__results[window.__results.length - 1]);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.notEqual(r.value.signature, 'forged');
});
