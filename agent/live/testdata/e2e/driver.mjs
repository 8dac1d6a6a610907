// Drives headless Chromium for the agent's live-session test. It opens
// PAGE_URL, then runs each line read from stdin as the body of an async
// function of (page) and prints {"ok":result} or {"err":message} on one line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// PLAYWRIGHT_CORE points at an installed playwright-core (this directory's
// node_modules, or the one scripts/setup.sh installs in tests/e2e).
const { chromium } = await import(process.env.PLAYWRIGHT_CORE || 'playwright-core');

const dir = mkdtempSync(join(tmpdir(), 'didacto-live-'));
const context = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
  ],
  viewport: { width: 800, height: 500 },
});
const page = context.pages()[0] || await context.newPage();
page.on('pageerror', (e) => console.error('pageerror: ' + e.message));
page.on('console', (m) => console.error('console: ' + m.text()));
await page.goto(process.env.PAGE_URL);
console.log(JSON.stringify({ ok: 'ready' }));

const AsyncFunction = (async () => {}).constructor;
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  try {
    const result = await new AsyncFunction('page', line)(page);
    console.log(JSON.stringify({ ok: result === undefined ? null : result }));
  } catch (e) {
    console.log(JSON.stringify({ err: String(e && e.message || e) }));
  }
}
await context.close();
rmSync(dir, { recursive: true, force: true });
