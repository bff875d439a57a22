// End to end in headless Chromium: a relying party sends the browser to the IdP, the teacher
// registers the card after a password login, then logs in with the card through the card
// simulator and comes back with an ID token of a certificate login. Also the greyed-out card
// option, the diagnostics page's states, the PIN's path, and screenshots for docs/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { createPublicKey, verify } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { startSimulator, launch, control, binary } from './harness.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, '..', '..', 'docs', 'screenshots');
const REDIRECT = 'http://127.0.0.1:9000/callback';
const PIN = '123456';
let sim, idp, browser, portal;
/** Everything the services wrote, and every secret the tests saw: none may be in the logs. */
const serviceLogs = [];
const secretsSeen = new Set();

/** The sample portal's callback: a real listener on the demo client's redirect URI. */
function startPortal() {
  const server = createServer((req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<p>portal callback</p>'));
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`the demo portal needs 127.0.0.1:9000: ${e.message}`)));
    server.listen(9000, '127.0.0.1', () => resolve({ stop: () => server.close() }));
  });
}

function startIdp(sim, { dir = mkdtempSync(join(tmpdir(), 'gpki-e2e-')), tokens = [] } = {}) {
  const config = join(dir, tokens.length ? 'config-tokens.toml' : 'config.toml');
  writeFileSync(config, [
    `component_origin = "${sim.origin}"`,
    'log_format = "json"',
    '[certificate]',
    `trust_anchors = ["${join(sim.pkiDir, 'grca.pem')}"]`,
    `intermediates = ["${join(sim.pkiDir, 'moica.pem')}"]`,
    '[certificate.revocation]',
    'mode = "none"',
    ...(tokens.length ? ['[tokens]', ...tokens] : []),
    ''
  ].join('\n'));
  const child = spawn(binary('gpki-idp'), ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dir, '--config', config],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (chunk) => { serviceLogs.push(String(chunk)); process.stderr.write(chunk); });
  // What the service logs once it listens (the demo banner before it shows the demo
  // accounts' passwords on purpose).
  let listening = false;
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      if (listening) serviceLogs.push(String(chunk));
      out += chunk;
      const at = out.indexOf('gpki-idp listening on');
      if (!listening && at >= 0) {
        listening = true;
        serviceLogs.push(out.slice(out.indexOf('\n', at) + 1));
      }
      const m = out.match(/public URL (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve({ base: m[1], issuer: `${m[1]}/schools/demo`, dir, config, stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`gpki-idp exited with ${code}: ${out}`)));
    setTimeout(() => reject(new Error('gpki-idp did not start in 60 s')), 60000);
  });
}

before(async () => {
  sim = await startSimulator();
  idp = await startIdp(sim);
  browser = await launch();
  portal = await startPortal();
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  portal?.stop();
  idp?.stop();
  sim?.stop();
});

/** A browser context whose "relying party" callback is answered in-process. */
async function relyingParty() {
  const context = await browser.newContext({ locale: 'zh-TW' });
  const requests = [];
  context.on('request', (r) => requests.push({ url: r.url(), body: r.postData() || '' }));
  return { context, page: await context.newPage(), requests };
}

function authorizeUrl(state) {
  const u = new URL(`${idp.issuer}/authorize`);
  u.search = new URLSearchParams({ response_type: 'code', client_id: 'demo-portal', redirect_uri: REDIRECT, scope: 'openid profile', state, nonce: 'n-' + state }).toString();
  return u.toString();
}

async function account(page, username) {
  await page.fill('#username', username);
  await page.click('#next');
}

function codeFrom(url) {
  const u = new URL(url);
  const code = u.searchParams.get('code');
  if (code) secretsSeen.add(code);
  return { code, state: u.searchParams.get('state') };
}

async function exchange(code) {
  const res = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { Authorization: 'Basic ' + Buffer.from('demo-portal:demo-portal-secret').toString('base64'), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT })
  });
  assert.equal(res.status, 200);
  const tokens = await res.json();
  for (const name of ['access_token', 'refresh_token', 'id_token']) if (tokens[name]) secretsSeen.add(tokens[name]);
  return tokens;
}

/** Verifies the ID token's RS256 signature with the issuer's JWKS; returns its claims. */
async function verifiedClaims(idToken) {
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const jwks = await (await fetch(`${idp.issuer}/jwks`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  const ok = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
  assert.ok(ok, 'ID token signature verifies with the JWKS');
  return JSON.parse(Buffer.from(p, 'base64url'));
}

test('an unregistered teacher sees the card option greyed out with a link to register', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('grey'));
  await page.screenshot({ path: join(shots, 'login-account-first.png') });
  // Only a browser that has logged in to the account is told it has no card: log in once.
  await account(page, 'staff');
  await page.waitForSelector('#card-available:not([hidden])');
  await page.fill('#password', 'demo1234');
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]);
  await page.goto(authorizeUrl('grey') + '&prompt=login');
  await account(page, 'staff');
  await page.waitForSelector('#card-unavailable:not([hidden])');
  assert.equal(await page.isVisible('#card-available'), false);
  assert.equal(await page.isVisible('#password-section'), true);
  await page.screenshot({ path: join(shots, 'login-card-greyed.png') });
  await context.close();
});

test('register the card after a password login, then log in with the card', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('pw'));
  await account(page, 'teacher');
  await page.fill('#password', 'demo1234');
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]);
  const pw = await verifiedClaims((await exchange(codeFrom(page.url()).code)).id_token);
  assert.equal(pw.acr, 'urn:gpki-idp:acr:password');

  await page.goto(`${idp.issuer}/account`);
  await page.fill('#pin', PIN);
  await page.click('#register');
  await page.waitForSelector('#card-status.ok >> text=註冊成功');
  await page.screenshot({ path: join(shots, 'register-success.png') });
  await page.waitForSelector('#cards li');
  assert.match(await page.textContent('#cards'), /王小明/);
  await page.screenshot({ path: join(shots, 'certificate-management.png') });
  await context.close();

  const rp = await relyingParty();
  await rp.page.goto(authorizeUrl('card'));
  await account(rp.page, 'teacher');
  await rp.page.waitForSelector('#card-available:not([hidden])');
  await rp.page.fill('#pin', PIN);
  await rp.page.screenshot({ path: join(shots, 'login-card.png') });
  await Promise.all([rp.page.waitForURL('http://127.0.0.1:9000/**', { timeout: 20000 }), rp.page.click('#card-login')]);
  const { code, state } = codeFrom(rp.page.url());
  assert.equal(state, 'card');
  const claims = await verifiedClaims((await exchange(code)).id_token);
  assert.equal(claims.acr, 'urn:gpki-idp:acr:certificate');
  assert.deepEqual(claims.amr, ['sc', 'hwk', 'pin', 'mfa']);
  assert.equal(claims.nonce, 'n-card');

  const toIdp = rp.requests.filter((r) => r.url.startsWith(idp.base));
  assert.ok(toIdp.length > 3);
  for (const r of toIdp) assert.ok(!r.url.includes(PIN) && !r.body.includes(PIN), `PIN sent to the IdP: ${r.url}`);
  assert.ok(rp.requests.some((r) => r.url.startsWith(sim.origin) && r.body.includes(PIN)), 'the component got the PIN');
  await rp.context.close();
});

test('a registered card logs in without the account being typed (card only)', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('cardonly'));
  await page.click('#card-only');
  await page.waitForSelector('#card-available:not([hidden])');
  assert.equal(await page.isVisible('#password-section'), false);
  await page.fill('#pin', PIN);
  await page.screenshot({ path: join(shots, 'login-card-only.png') });
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**', { timeout: 20000 }), page.click('#card-login')]);
  const { code, state } = codeFrom(page.url());
  assert.equal(state, 'cardonly');
  const claims = await verifiedClaims((await exchange(code)).id_token);
  assert.equal(claims.preferred_username, 'teacher', 'the card named the account');
  assert.equal(claims.acr, 'urn:gpki-idp:acr:certificate');
  await context.close();
});

test('a wrong PIN is explained and the login can go on', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('wrongpin'));
  await account(page, 'teacher');
  await page.waitForSelector('#card-available:not([hidden])');
  await page.fill('#pin', '000000');
  await page.click('#card-login');
  await page.waitForSelector('#card-status.error >> text=還可以再試 2 次');
  await control(sim, { reset_pin: true });
  await context.close();
});

test('a client asking for the certificate steps a password login up to the card', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('stepup-pw'));
  await account(page, 'teacher');
  await page.fill('#password', 'demo1234');
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]);

  const u = new URL(authorizeUrl('stepup'));
  u.searchParams.set('acr_values', 'urn:gpki-idp:acr:certificate');
  await page.goto(u.toString());
  await page.waitForSelector('#notice >> text=此系統要求以自然人憑證登入');
  await page.waitForSelector('#card-available:not([hidden])');
  assert.equal(await page.isVisible('#password-section'), false, 'only the card is asked for');
  assert.equal(await page.inputValue('#username'), 'teacher');
  assert.equal(await page.getAttribute('#username', 'readonly'), '');
  await page.fill('#pin', PIN);
  await page.screenshot({ path: join(shots, 'login-step-up.png') });
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**', { timeout: 20000 }), page.click('#card-login')]);
  const { code, state } = codeFrom(page.url());
  assert.equal(state, 'stepup');
  const claims = await verifiedClaims((await exchange(code)).id_token);
  assert.equal(claims.acr, 'urn:gpki-idp:acr:password+certificate');
  assert.deepEqual(claims.amr, ['pwd', 'sc', 'hwk', 'pin', 'mfa']);
  await context.close();
});

test('a role that needs both asks for the password after the card', async () => {
  const { execFileSync } = await import('node:child_process');
  const policy = (methods) => execFileSync(binary('gpki-idp'), ['admin', 'set-policy', '--config', idp.config,
    '--data-dir', idp.dir, '--school', 'demo', '--role', 'teacher', '--methods', methods]);
  policy('password+certificate');
  try {
    const { context, page } = await relyingParty();
    await page.goto(authorizeUrl('both'));
    await account(page, 'teacher');
    await page.waitForSelector('#card-available:not([hidden])');
    assert.equal(await page.isVisible('#password-section'), true);
    await page.fill('#pin', PIN);
    await page.click('#card-login');
    await page.waitForSelector('#notice >> text=同時使用密碼與自然人憑證');
    assert.equal(await page.isVisible('#card-section'), false);
    await page.fill('#password', 'demo1234');
    await page.screenshot({ path: join(shots, 'login-password-after-card.png') });
    await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]);
    const claims = await verifiedClaims((await exchange(codeFrom(page.url()).code)).id_token);
    assert.equal(claims.acr, 'urn:gpki-idp:acr:password+certificate');
    await context.close();
  } finally {
    policy('password,certificate');
  }
});

test('an expired challenge is refused with a clear message, and a fresh one logs in', async () => {
  // A second server on the same database whose challenges live 2 s.
  const quick = await startIdp(sim, { dir: idp.dir, tokens: ['challenge_ttl_secs = 2'] });
  try {
    const { context, page } = await relyingParty();
    const u = new URL(authorizeUrl('expired').replace(idp.base, quick.base));
    await page.goto(u.toString());
    await account(page, 'teacher');
    await page.waitForSelector('#card-available:not([hidden])');
    await new Promise((r) => setTimeout(r, 3000));
    await page.fill('#pin', PIN);
    await page.click('#card-login');
    await page.waitForSelector('#card-status.error >> text=驗證碼已失效');
    // The page fetched a fresh challenge after the refusal: signing it at once logs in.
    await page.waitForTimeout(300);
    await page.fill('#pin', PIN);
    await Promise.all([page.waitForURL('http://127.0.0.1:9000/**', { timeout: 20000 }), page.click('#card-login')]);
    assert.equal(codeFrom(page.url()).state, 'expired');
    await context.close();
  } finally {
    quick.stop();
  }
});

test('the language switch shows the pages in English first and keeps the choice', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('lang'));
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-Hant-TW');
  await page.click('#lang-switch');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('label[for=username]'), /^Account/);
  await page.screenshot({ path: join(shots, 'login-english.png') });
  await account(page, 'teacher');
  await page.waitForSelector('#card-available:not([hidden])');
  await page.fill('#password', 'wrong-password');
  await page.evaluate(() => { document.getElementById('password-section').hidden = false; });
  await page.click('#password-login');
  await page.waitForSelector('.error');
  assert.match(await page.textContent('.error'), /^Wrong account or password/, 'the choice survives a form post');
  await page.goto(`${idp.issuer}/diagnostics`);
  assert.equal(await page.getAttribute('html', 'lang'), 'en', 'and other pages follow it');
  assert.match(await page.textContent('h1'), /^Check your setup/);
  await page.click('#lang-switch');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-Hant-TW');
  await context.close();
});

test('the diagnostics page shows the component version', async () => {
  const { context, page } = await relyingParty();
  await page.goto(`${idp.issuer}/diagnostics`);
  await page.click('#diagnose');
  await page.waitForSelector('#steps li[data-step="component"]');
  assert.match(await page.textContent('#steps li[data-step="component"]'), /版本 1\.3\.4\.103327-sim/);
  await context.close();
});

for (const [mode, failing, text] of [['ok', null, '憑證有效'], ['not-started', 'component', '跨平台網頁元件'],
  ['no-reader', 'reader', '讀卡機'], ['no-card', 'card', '沒有卡片'], ['unknown-token', 'token', '插反']]) {
  test(`diagnostics page in mode ${mode}`, async () => {
    await control(sim, { mode });
    const { context, page } = await relyingParty();
    await page.goto(`${idp.issuer}/diagnostics`);
    await page.click('#diagnose');
    await page.waitForFunction(() => document.getElementById('result').textContent.length > 0, null, { timeout: 20000 });
    const steps = await page.$$eval('#steps li', (lis) => lis.map((li) => [li.dataset.step, li.dataset.ok]));
    if (failing) assert.deepEqual(steps[steps.length - 1], [failing, 'false']);
    else assert.deepEqual(steps[steps.length - 1], ['server', 'true']);
    assert.match(await page.textContent('#result'), new RegExp(text));
    await page.screenshot({ path: join(shots, `diagnostics-${mode}.png`) });
    await control(sim, { mode: 'ok' });
    await context.close();
  });
}

test('a role limited to the certificate gets no password field and is refused server-side', async () => {
  const { execFileSync } = await import('node:child_process');
  const setPolicy = (methods) => execFileSync(binary('gpki-idp'), ['admin', 'set-policy', '--config', idp.config,
    '--data-dir', idp.dir, '--school', 'demo', '--role', 'staff', '--methods', methods]);
  const { context, page } = await relyingParty();
  // The account's own methods are told only to a browser that logged in to it before.
  await page.goto(authorizeUrl('policy'));
  await account(page, 'staff');
  await page.fill('#password', 'demo1234');
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]);
  setPolicy('certificate');
  try {
    await page.goto(authorizeUrl('policy') + '&prompt=login');
    await account(page, 'staff');
    await page.waitForSelector('#card-section:not([hidden])');
    assert.equal(await page.isVisible('#password-section'), false, 'no password option');
    // Forcing the password form anyway: refused by the server.
    await page.evaluate(() => {
      document.getElementById('password-section').hidden = false;
      document.getElementById('password').value = 'demo1234';
      document.getElementById('password-form').submit();
    });
    await page.waitForSelector('.error >> text=不允許您的身份以密碼登入');
    await page.screenshot({ path: join(shots, 'login-password-not-allowed.png') });
  } finally {
    setPolicy('password,certificate');
    await context.close();
  }
});

test('the GM sets a role to the certificate on 資安選項設定, and an empty role is refused', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('gm'));
  await account(page, 'gm');
  await page.fill('#password', 'demo1234');
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]);

  await page.goto(`${idp.issuer}/admin/security`);
  await page.waitForSelector('h1 >> text=資安選項設定');
  // Parents (家長): the certificate only.
  const row = page.locator('tr', { has: page.locator('input[type=hidden][value=parent]') });
  await row.locator('input[name$=".password"]').uncheck();
  await row.locator('input[name$=".certificate"]').check();
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  await page.waitForSelector('#notice.ok >> text=設定已儲存');
  assert.equal(await row.locator('input[name$=".password"]').isChecked(), false);
  assert.equal(await row.locator('input[name$=".certificate"]').isChecked(), true);
  await page.screenshot({ path: join(shots, 'security-settings.png'), fullPage: true });

  // Leaving every method of a role unticked is refused with a clear notice.
  await row.locator('input[name$=".certificate"]').uncheck();
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  await page.waitForSelector('#notice.error >> text=至少要勾選一種登入機制');

  // Back to the default for the other tests.
  const again = page.locator('tr', { has: page.locator('input[type=hidden][value=parent]') });
  await again.locator('input[name$=".password"]').check();
  await again.locator('input[name$=".certificate"]').check();
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  await page.waitForSelector('#notice.ok');
  await context.close();
});

/** The viewports of a teacher's phone and of a school PC. */
const VIEWPORTS = { phone: { width: 375, height: 740 }, pc: { width: 1366, height: 768 } };

/** axe-core's serious and critical violations of the page as it is now (WCAG 2.1 A/AA). */
async function seriousViolations(page) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Every page and state a teacher or a GM meets, each reached from a fresh context. */
const STATES = {
  'login, account first': async (page) => page.goto(authorizeUrl('a11y')),
  'login, card greyed out': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'staff'); await page.fill('#password', 'demo1234'); await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]); await page.goto(authorizeUrl('a11y') + '&prompt=login'); await account(page, 'staff'); await page.waitForSelector('#card-unavailable:not([hidden])'); },
  'login, card offered': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'teacher'); await page.waitForSelector('#card-available:not([hidden])'); },
  'login, card only': async (page) => { await page.goto(authorizeUrl('a11y')); await page.click('#card-only'); await page.waitForSelector('#card-available:not([hidden])'); },
  'login, wrong PIN explained': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'teacher'); await page.waitForSelector('#card-available:not([hidden])'); await page.fill('#pin', '000000'); await page.click('#card-login'); await page.waitForSelector('#card-status.error'); await control(sim, { reset_pin: true }); },
  'login, wrong password': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'staff'); await page.fill('#password', 'wrong-password'); await Promise.all([page.waitForNavigation(), page.click('#password-login')]); await page.waitForSelector('.error'); },
  'login, step-up notice': async (page) => { await page.goto(authorizeUrl('a11y') + '&acr_values=urn%3Agpki-idp%3Aacr%3Acertificate'); },
  'login, in English': async (page) => { await page.goto(authorizeUrl('a11y') + '&ui_locales=en'); },
  'certificate management': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'teacher'); await page.fill('#password', 'demo1234'); await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]); await page.goto(`${idp.issuer}/account`); await page.waitForSelector('#cards li'); },
  'diagnostics, done': async (page) => { await page.goto(`${idp.issuer}/diagnostics`); await page.click('#diagnose'); await page.waitForSelector('#result:not(:empty)'); },
  'security settings (GM)': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'gm'); await page.fill('#password', 'demo1234'); await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]); await page.goto(`${idp.issuer}/admin/security`); },
  'school branding (GM)': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'gm'); await page.fill('#password', 'demo1234'); await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]); await page.goto(`${idp.issuer}/admin/branding`); },
  'signed-in devices (GM)': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'gm'); await page.fill('#password', 'demo1234'); await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]); await page.goto(`${idp.issuer}/admin/sessions`); await page.waitForSelector('#sessions tbody tr'); },
  'forgot password': async (page) => page.goto(`${idp.issuer}/password-reset`),
  'forgot password, wrong code': async (page) => { await page.goto(`${idp.issuer}/password-reset`); await page.fill('#username', 'nobody'); await page.fill('#reset_code', 'AAAA-BBBB-CCCC'); await page.fill('#new_password', 'river-lantern-58-quiet'); await page.fill('#new_password_again', 'river-lantern-58-quiet'); await Promise.all([page.waitForNavigation(), page.click('#reset')]); await page.waitForSelector('.error'); },
  'account, password change refused': async (page) => { await page.goto(authorizeUrl('a11y')); await account(page, 'teacher'); await page.fill('#password', 'demo1234'); await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.click('#password-login')]); await page.goto(`${idp.issuer}/account`); await page.fill('#current_password', 'not-the-password'); await page.fill('#new_password', 'river-lantern-58-quiet'); await page.fill('#new_password_again', 'river-lantern-58-quiet'); await Promise.all([page.waitForNavigation(), page.click('#change-password')]); await page.waitForSelector('#password-status'); },
  'error page': async (page) => page.goto(`${idp.issuer}/authorize?client_id=nobody`),
  'logged out': async (page) => page.goto(`${idp.issuer}/logout`)
};

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  test(`no serious or critical accessibility violation on any page, ${size} (axe-core, WCAG 2.1 AA)`, async () => {
    const found = [];
    for (const [state, reach] of Object.entries(STATES)) {
      // axe is injected as a script: this context alone lets it past the pages' CSP.
      const context = await browser.newContext({ locale: 'zh-TW', viewport, bypassCSP: true });
      const page = await context.newPage();
      await reach(page);
      for (const v of await seriousViolations(page)) found.push(`${state}: ${v}`);
      const name = state.replace(/[^a-z]+/gi, '-').replace(/-+$/, '').toLowerCase();
      if (size === 'phone' || name.startsWith('login-account') || name.startsWith('security') || name.startsWith('school-branding') || name.startsWith('signed-in-devices')) {
        await page.screenshot({ path: join(shots, `${size}-${name}.png`), fullPage: true });
      }
      await context.close();
    }
    assert.deepEqual(found, [], found.join('\n'));
  });
}

test('a teacher logs in with the keyboard alone', async () => {
  const { context, page } = await relyingParty();
  await page.goto(authorizeUrl('keys'));
  // The account field has the focus when the page opens.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'username');
  await page.keyboard.type('staff');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#password-section:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password', 'the focus moves on');
  await page.keyboard.type('demo1234');
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.keyboard.press('Enter')]);
  assert.equal(codeFrom(page.url()).state, 'keys');
  // Every control of the page is reachable with Tab, and shows where the focus is.
  await page.goto(authorizeUrl('keys2') + '&prompt=login');
  const seen = new Set();
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const el = document.activeElement;
      // Past the last control the focus leaves the page for a moment (the body).
      if (el === document.body) return { id: 'body', outline: true };
      const style = getComputedStyle(el);
      return { id: el.id || el.textContent.trim().slice(0, 20), outline: style.outlineStyle !== 'none' || style.boxShadow !== 'none' };
    });
    seen.add(focus.id);
    assert.ok(focus.outline, `focus is visible on ${focus.id}`);
  }
  for (const id of ['next', 'card-only', 'lang-switch']) assert.ok(seen.has(id), `${id} reachable by Tab: ${[...seen]}`);
  await context.close();
});

test('a password the GM set is changed on our page, with the keyboard alone, before the code', async () => {
  // The GM sets a teacher's password through the admin API (the demo portal's token may use it).
  const token = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { Authorization: 'Basic ' + Buffer.from('demo-portal:demo-portal-secret').toString('base64'), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' })
  }).then((r) => r.json());
  secretsSeen.add(token.access_token);
  const temporary = 'Temp-pass-4821';
  const chosen = 'river-lantern-58-quiet';
  secretsSeen.add(temporary);
  secretsSeen.add(chosen);
  const created = await fetch(`${new URL(idp.issuer).origin}/admin/v1/schools/demo/users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'newt', display_name: '新老師', roles: ['teacher'], password: temporary })
  });
  assert.equal(created.status, 201);
  const context = await browser.newContext({ locale: 'zh-TW', bypassCSP: true });
  const page = await context.newPage();
  await page.goto(authorizeUrl('temp'));
  await page.keyboard.type('newt');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#password-section:not([hidden])');
  await page.keyboard.type(temporary);
  await Promise.all([page.waitForURL('**/login/password?req=**'), page.keyboard.press('Enter')]);
  // The change step: no code went to the portal; the new password field has the focus.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'new_password');
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: join(shots, 'change-password.png'), fullPage: true });
  await page.keyboard.type(chosen);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'new_password_again');
  await page.keyboard.type(chosen);
  await Promise.all([page.waitForURL('http://127.0.0.1:9000/**'), page.keyboard.press('Enter')]);
  assert.equal(codeFrom(page.url()).state, 'temp');
  await context.close();
});

test('the service logs hold no PIN, password, code, token or signature', async () => {
  const logs = serviceLogs.join('');
  for (const line of logs.split('\n').filter((l) => l.trim())) {
    assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line.slice(0, 200)}`);
  }
  assert.ok(logs.includes('"type":"audit"'), 'the audit lines are there');
  assert.ok(logs.includes('"type":"request"'), 'the request lines are there');
  assert.ok(secretsSeen.size >= 6, `codes and tokens were collected (${secretsSeen.size})`);
  const around = (i) => logs.slice(Math.max(0, i - 120), i + 120);
  // The PIN is digits: look for it as a whole number, not inside a longer one.
  const pin = new RegExp(`(^|[^0-9])${PIN}([^0-9]|$)`).exec(logs);
  assert.equal(pin, null, pin ? `the PIN in the logs: …${around(pin.index)}…` : '');
  for (const secret of ['demo1234', 'wrong-password', ...secretsSeen]) {
    const i = logs.indexOf(secret);
    assert.equal(i, -1, i >= 0 ? `a secret in the logs: …${around(i)}…` : '');
  }
  // A card's signature is long base64; no line carries anything like one.
  assert.ok(!/[A-Za-z0-9+/]{400,}/.test(logs), 'no signature or certificate in the logs');
});
