// Classroom controls on the monitoring grid, against a real server whose
// three students' agents are Go stand-ins that acknowledge (the Go test,
// classroom_e2e_test.go): select two tiles, lock them (applied and locked
// on both, not on the third), a message to all and one student's reply on
// their tile, a raised hand with its counter and Lower, an ftp:// address
// refused in the dialog with the server's words, a website (the third
// agent fails it, with its reason), Unlock. Screenshots wide and narrow, in
// English and Korean.
import { BASE, launch, check, ready, go, shoot, api, signIn, upload } from './lib.mjs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const lectureId = Number(env.LECTURE_ID);
const students = JSON.parse(env.STUDENTS);
const [a, b, c] = students;
const frames = readdirSync(env.FRAMES_DIR).sort().map((f) => readFileSync(join(env.FRAMES_DIR, f)));
const started = Date.now();
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);
const tile = (s) => `.tile[data-student="${s.id}"]`;
const label = (sel) => page.getAttribute(sel, 'aria-label');

const { page, errors, close } = await launch();
// The students keep sending their screens, as agents do.
const sendFrames = () => Promise.all(students.map((s, i) => upload(lectureId, s.token, frames[i])));
await sendFrames();
const frameTimer = setInterval(() => { sendFrames().catch((e) => console.log('upload: ' + e.message)); }, 3000);
try {
  step('sign in, open the grid');
  await page.goto(BASE + '/');
  await ready(page);
  await signIn(page, env.EMAIL, env.PASSWORD);
  await page.waitForSelector('#create-lecture');
  await go(page, `#/lectures/${lectureId}/monitor`);
  for (const s of students) await page.waitForSelector(`${tile(s)}.has-frame:not(.offline)`, { timeout: 15000 });
  check(await label('#cmd-lock') === 'Lock all', 'nothing selected: Lock all, got ' + await label('#cmd-lock'));
  check((await page.textContent('#cmd-target')).includes('everyone'), 'the toolbar says commands go to everyone');

  step('select two tiles: a tick, then shift-click on the next name row');
  await page.check(`${tile(a)} input.select`);
  await page.click(`${tile(b)} .tile-info .name`, { modifiers: ['Shift'] });
  check((await page.textContent('#sel-count')).trim() === '2 selected', 'count: ' + await page.textContent('#sel-count'));
  check(await label('#cmd-lock') === 'Lock 2 selected', 'Lock 2 selected: ' + await label('#cmd-lock'));
  check(await label('#cmd-open-url') === 'Open website for 2 selected', 'open website label');
  check(!(await page.isChecked(`${tile(c)} input.select`)), 'the third is not selected');
  // The keyboard ticks too; the enlarge button still enlarges and selects nothing.
  await page.focus(`${tile(c)} input.select`);
  await page.keyboard.press('Space');
  check((await page.textContent('#sel-count')).trim() === '3 selected', 'Space ticks the focused tile');
  await page.keyboard.press('Space');
  await page.click(`${tile(a)} button.enlarge`);
  await page.waitForSelector('#enlarged[open]');
  await page.click('#enlarged-close');
  check((await page.textContent('#sel-count')).trim() === '2 selected', 'enlarging changes no selection');
  // Shift-click on a tick selects a range as well: a..c, then back to a..b.
  await page.click(`${tile(c)} input.select`, { modifiers: ['Shift'] });
  check((await page.textContent('#sel-count')).trim() === '3 selected', 'shift-click on a tick selects the range');
  await page.click(`${tile(c)} input.select`);
  check((await page.textContent('#sel-count')).trim() === '2 selected', 'a plain click unticks one');

  step('lock the two, with a message');
  await page.click('#cmd-lock');
  await page.waitForSelector('#cmd-dialog[open]');
  check((await page.textContent('#cmd-dialog-to')).includes('2 selected'), 'the dialog says to whom');
  await page.fill('#cmd-text', 'Eyes on me');
  await page.click('#cmd-send');
  await page.waitForSelector('#cmd-dialog', { state: 'hidden' });
  for (const s of [a, b]) {
    await page.waitForSelector(`${tile(s)}.locked .result.applied[data-kind=lock]`, { timeout: 10000 });
    check((await page.textContent(`${tile(s)} .lockmark`)).includes('Locked'), 'lock label on the tile');
    check((await page.getAttribute(`${tile(s)} .lockmark`, 'title')) === 'Eyes on me', 'the lock message as tooltip');
  }
  check(!(await page.isVisible(`${tile(c)}.locked`)) && !(await page.isVisible(`${tile(c)} .result`)), 'the third is neither locked nor commanded');
  await shoot(page, 'classroom-locked', async () => {
    await page.waitForSelector(`${tile(a)}.locked .result.applied`);
    for (const s of [a, b]) if (!(await page.isChecked(`${tile(s)} input.select`))) await page.check(`${tile(s)} input.select`);
    if (await page.evaluate(() => document.documentElement.lang) === 'ko') {
      check(await label('#cmd-lock') === '선택한 2명 잠금', 'Korean label: ' + await label('#cmd-lock'));
    }
  });
  for (const s of [a, b]) if (!(await page.isChecked(`${tile(s)} input.select`))) await page.check(`${tile(s)} input.select`);

  step('a message to everyone; a reply shows on the tile');
  await page.click('#sel-clear');
  check(await label('#cmd-message') === 'Message all', 'Message all after clearing');
  await page.click('#cmd-message');
  await page.waitForSelector('#cmd-dialog[open]');
  await page.fill('#cmd-text', 'Save your work, we start in 2 minutes');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/v1/lectures/${lectureId}/commands`) && r.request().method() === 'POST'),
    page.click('#cmd-send'),
  ]);
  const cmd = await resp.json();
  check(resp.status() === 201 && cmd.kind === 'message' && cmd.results.length === 3, 'message to all three: ' + JSON.stringify(cmd));
  for (const s of students) await page.waitForSelector(`${tile(s)} .result.applied[data-kind=message]`, { timeout: 10000 });
  await api('POST', `/lectures/${lectureId}/commands/${cmd.id}/reply`, { token: a.token, body: { text: '  Saved,\n thanks!  ' } });
  await page.waitForSelector(`${tile(a)} .reply:not([hidden])`, { timeout: 5000 });
  check((await page.textContent(`${tile(a)} .reply`)) === 'Saved, thanks!', 'the reply, one line: ' + await page.textContent(`${tile(a)} .reply`));
  check(!(await page.isVisible(`${tile(b)} .reply`)), 'no reply on a tile that did not answer');
  check(await page.isVisible(`${tile(a)}.locked`), 'a message does not unlock');

  step('a raised hand, the counter, Lower');
  check(!(await page.isVisible('#hands-count')), 'no counter without hands');
  await api('PUT', `/lectures/${lectureId}/hand`, { token: b.token });
  await page.waitForSelector(`${tile(b)} .hand:not([hidden])`, { timeout: 5000 });
  check((await page.textContent('#hands-count .num')) === '1' && (await page.getAttribute('#hands-count', 'title')) === 'Raised hands: 1', 'counter: ' + await page.textContent('#hands-count'));
  check(!(await page.isVisible(`${tile(a)} .hand`)), 'only the student who raised it');
  await shoot(page, 'classroom-hand-reply', () => page.waitForSelector(`${tile(b)} .hand:not([hidden])`));
  await page.click(`${tile(b)} button.lower`);
  await page.waitForSelector(`${tile(b)} .hand`, { state: 'hidden' });
  await page.waitForSelector('#hands-count', { state: 'hidden' });
  const st = await page.evaluate(async (id) => (await fetch(`/api/v1/lectures/${id}/classroom`)).json(), lectureId);
  check(st.hands.length === 0, 'the server lowered it: ' + JSON.stringify(st.hands));

  step('an ftp:// address: the dialog shows the server\'s refusal');
  const refuse = async () => {
    await page.click('#cmd-open-url');
    await page.waitForSelector('#cmd-dialog[open]');
    await page.fill('#cmd-url', 'ftp://files.example.org/exercise-3.zip');
    await page.click('#cmd-send');
    await page.waitForFunction(() => document.getElementById('cmd-url-error').textContent.length > 0);
  };
  await refuse();
  const urlErr = await page.textContent('#cmd-url-error');
  check(urlErr.includes('only http and https'), 'the server\'s words: ' + urlErr);
  check(await page.getAttribute('#cmd-url', 'aria-invalid') === 'true', 'the field is marked invalid');
  check(await page.isVisible('#cmd-dialog[open]'), 'the dialog stays open');
  await shoot(page, 'classroom-url-error', async () => { if (!(await page.isVisible('#cmd-dialog[open]'))) await refuse(); });
  if (!(await page.isVisible('#cmd-dialog[open]'))) await refuse();

  step('a good address; the PC without a browser says why');
  await page.fill('#cmd-url', 'https://example.org/exercise-3');
  await page.click('#cmd-send');
  await page.waitForSelector('#cmd-dialog', { state: 'hidden' });
  for (const s of [a, b]) await page.waitForSelector(`${tile(s)} .result.applied[data-kind=open_url]`, { timeout: 10000 });
  await page.waitForSelector(`${tile(c)} .result.failed[data-kind=open_url]`, { timeout: 10000 });
  check((await page.textContent(`${tile(c)} .result`)).includes('no default web browser'), 'the reason on the tile');
  check((await page.getAttribute(`${tile(c)} .result`, 'title')).includes('no default web browser'), 'and as tooltip');
  check((await page.textContent(`${tile(a)} .reply`)) === 'Saved, thanks!', 'the reply stays until the next message');

  step('Unlock everyone');
  await page.click('#cmd-unlock');
  for (const s of students) await page.waitForSelector(`${tile(s)} .result.applied[data-kind=unlock]`, { timeout: 10000 });
  for (const s of [a, b]) await page.waitForSelector(`${tile(s)}.locked`, { state: 'detached', timeout: 5000 });
  check(!(await page.isVisible('.tile .lockmark')), 'no lock label left');
  const st2 = await page.evaluate(async (id) => (await fetch(`/api/v1/lectures/${id}/classroom`)).json(), lectureId);
  check(st2.locks.length === 0, 'no locks on the server: ' + JSON.stringify(st2.locks));

  step('state survives a reload (re-read on hello), narrow window');
  await api('PUT', `/lectures/${lectureId}/hand`, { token: c.token });
  await page.reload();
  await ready(page);
  await page.waitForSelector(`${tile(c)} .hand:not([hidden])`, { timeout: 5000 });
  await page.waitForSelector(`${tile(c)} .result.applied[data-kind=unlock]`);
  await page.setViewportSize({ width: 420, height: 900 });
  await shoot(page, 'classroom-narrow', async () => {
    await page.waitForSelector(`${tile(c)} .hand:not([hidden])`);
    if (!(await page.isChecked(`${tile(a)} input.select`))) await page.check(`${tile(a)} input.select`);
  });
  const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .map((el) => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className).slice(0, 8));
  check(wide.length === 0, 'nothing wider than a narrow window: ' + wide.join(', '));

  check(errors.length === 0, 'no page errors: ' + errors.join(' | '));
  step('done');
} finally {
  clearInterval(frameTimer);
  await close();
}
