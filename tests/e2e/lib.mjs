// Shared helpers of the console's end-to-end scripts: Chromium via
// playwright-core (the system browser, never a download), page-error
// collection, screenshots in both languages, and a small API client.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE = process.env.BASE_URL;
if (!BASE) throw new Error('BASE_URL is not set');

export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
];

export async function launch(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'didacto-e2e-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1280, height: 800 },
    locale: opts.locale || 'en-US',
    acceptDownloads: true,
    permissions: ['camera', 'microphone'],
  });
  const errors = [];
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = (m.location() && m.location().url) || '';
    // Refused API calls are expected in the forbidden flows; the UI shows them.
    if (/Failed to load resource: the server responded with a status of (401|403|404|409|422)/.test(m.text()) && url.includes('/api/v1/')) return;
    errors.push('console: ' + m.text() + ' ' + url);
  });
  page.on('dialog', (d) => d.accept());
  const close = async () => {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { context, page, errors, close };
}

export function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

export async function ready(page) {
  await page.waitForSelector('#app[aria-busy="false"]', { timeout: 15000 });
}

export async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await ready(page);
}

// shoot saves the page in English and Korean when SCREENSHOT_DIR is set,
// then switches back to English.
export async function shoot(page, name, prepare) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  for (const lang of ['en', 'ko']) {
    await page.selectOption('#lang', lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    await ready(page);
    if (prepare) await prepare();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(dir, `console-${name}-${lang}.png`) });
  }
  await page.selectOption('#lang', 'en');
  await ready(page);
}

export async function api(method, path, { token, body, type } = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  let payload;
  if (body !== undefined) {
    if (type) { headers['Content-Type'] = type; payload = body; } else { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  }
  const res = await fetch(BASE + '/api/v1' + path, { method, headers, body: payload });
  const text = await res.text();
  const data = text && (res.headers.get('content-type') || '').includes('json') ? JSON.parse(text) : text;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return data;
}

let counter = 0;
export async function account(role, name) {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}-${Date.now()}-${++counter}@school.example`;
  const password = 'Passw0rd!';
  await api('POST', '/auth/register', { body: { email, password, name, role } });
  const pair = await api('POST', '/auth/login', { body: { email, password } });
  return { email, password, name, token: pair.access_token, id: pair.user.id };
}

export async function signIn(page, email, password) {
  await go(page, '#/login');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('form button[type=submit]');
}

// upload PUTs a frame as the student, retrying while the server's short
// access cache still remembers the lecture as inactive (as a real agent would).
export async function upload(lectureId, token, jpeg) {
  for (let i = 0; ; i++) {
    try {
      return await api('PUT', `/lectures/${lectureId}/frame`, { token, body: jpeg, type: 'image/jpeg' });
    } catch (e) {
      if (i > 40 || !String(e.message).includes(' 409 ')) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
