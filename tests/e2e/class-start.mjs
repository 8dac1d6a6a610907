// The start of class with a real agent (tests/integration drives it): the
// professor has the lecture page open; the agent starts and asks to join
// by code; the request appears by itself; Accept all; the student's tile
// shows a frame; the agent is killed and the tile goes offline. The waits
// are printed (BENCHMARKS.md), not asserted.
import { BASE, launch, check, ready, go, shoot, signIn } from './lib.mjs';

const env = process.env;
const started = Date.now();
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);
const hook = async (url) => { const r = await fetch(url); if (!r.ok) throw new Error(`${url}: ${r.status}`); };

const { page, errors, close } = await launch();
try {
  step('the professor opens the lecture page');
  await page.goto(BASE + '/');
  await ready(page);
  await signIn(page, env.EMAIL, env.PASSWORD);
  await page.waitForSelector('#create-lecture');
  await go(page, `#/lectures/${env.LECTURE_ID}`);
  await page.waitForSelector('#requests-live');

  step('the agent starts and asks to join');
  const t0 = Date.now();
  await hook(env.START_URL);
  const accept = `button[aria-label="Accept ${env.STUDENT_NAME}"]`;
  await page.waitForSelector(accept, { timeout: 60000 });
  const requestMs = Date.now() - t0;

  step('Accept all, then the grid');
  const t1 = Date.now();
  await page.click('#accept-all');
  await page.waitForSelector('#notice >> text=1 accepted.');
  await go(page, `#/lectures/${env.LECTURE_ID}/monitor`);
  const tile = `.tile[data-student="${env.STUDENT_ID}"]`;
  await page.waitForSelector(`${tile}.has-frame:not(.offline)`, { timeout: 30000 });
  const tileMs = Date.now() - t1;
  await shoot(page, 'class-start-tile', () => page.waitForSelector(`${tile}.has-frame`));

  step('the agent is killed');
  const t2 = Date.now();
  await hook(env.KILL_URL);
  await page.waitForSelector(`${tile}.offline`, { timeout: 30000 });
  const offlineMs = Date.now() - t2;
  check((await page.textContent(`${tile} .badge`)).length > 0, 'the badge says offline');
  check((await page.textContent('#mon-count')).includes('0'), 'the online counter agrees: ' + await page.textContent('#mon-count'));
  console.log(`class start (ms): agent start → request visible ${requestMs}, Accept all → tile with a frame ${tileMs}, agent killed → tile offline ${offlineMs}`);
  check(errors.length === 0, 'no page errors: ' + errors.join('; '));
} finally {
  await close();
}
