// The start of class in the console: join requests that arrive by
// themselves (no Refresh), multi-select reject and Accept all, the roster
// (add by e-mail, class-list CSV with refused lines), a one-time reset code,
// the password screen, the one-primary-button lecture page, full tile
// names, and what Premium adds.
import { BASE, launch, check, ready, go, shoot, api, account, signIn, upload } from './lib.mjs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const frames = readdirSync(process.env.FRAMES_DIR).sort().map((f) => readFileSync(join(process.env.FRAMES_DIR, f)));
const started = Date.now();
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);

const { page, errors, close } = await launch();
try {
  const prof = await account('professor', 'Prof Roster');
  const lecture = await api('POST', '/lectures', { token: prof.token, body: { title: 'Lab 3' } });
  step('sign in, open the new lecture');
  await page.goto(BASE + '/');
  await ready(page);
  check(await page.isVisible('#to-reset'), 'sign-in page offers the reset-code path');
  await signIn(page, prof.email, prof.password);
  await page.waitForSelector('#create-lecture');
  await go(page, `#/lectures/${lecture.id}`);

  step('the projector page names the server too');
  await go(page, `#/lectures/${lecture.id}/code`);
  check((await page.textContent('#projector-server')).includes(BASE), 'server address on the projector');
  await go(page, `#/lectures/${lecture.id}`);

  step('one primary action on a lecture that is off');
  const primaries = await page.$$eval('.toolbar a.button:not(.secondary):not(.danger), .toolbar button:not(.secondary):not(.danger):not([hidden])',
    (els) => els.filter((e) => e.offsetParent !== null).map((e) => e.id));
  check(primaries.length === 1 && primaries[0] === 'start-class', 'one primary button: ' + primaries.join(','));
  check(await page.isVisible('#lecture-off-help'), 'the page says what "off" means');
  await page.waitForSelector('#requests-live >> text=by themselves');

  step('join requests arrive without a reload');
  const kim = await account('student', 'Kim Minji');
  const park = await account('student', 'Park Jisoo');
  const choi = await account('student', 'Demo Student With A Long Name');
  const waits = [];
  for (const s of [kim, park, choi]) {
    const t0 = Date.now();
    await api('POST', '/lectures/join', { token: s.token, body: { code: lecture.code } });
    await page.waitForSelector(`button[aria-label="Accept ${s.name}"]`, { timeout: 5000 });
    waits.push(Date.now() - t0);
  }
  console.log(`join request → visible in the console (ms): ${waits.join(', ')}`);
  await page.check(`input[aria-label="Select ${park.name}"]`);
  check((await page.textContent('#accept-all')).includes('3'), 'Accept all counts the requests');
  check((await page.textContent('#reject-selected')).includes('1'), 'the selection is counted');
  const parkBox = `#requests tr:has-text("${park.name}") input[type=checkbox]`; // in either language
  await shoot(page, 'requests-live', async () => {
    if (!(await page.isChecked(parkBox))) await page.check(parkBox);
  });
  if (!(await page.isChecked(parkBox))) await page.check(parkBox);

  step('a cancelled request disappears by itself');
  const gone = await account('student', 'Changed Mind');
  const req = await api('POST', '/lectures/join', { token: gone.token, body: { code: lecture.code } });
  await page.waitForSelector(`button[aria-label="Accept ${gone.name}"]`);
  check(!(await page.isChecked(`input[aria-label="Select ${gone.name}"]`)), 'a new request is not ticked');
  check(await page.isChecked(`input[aria-label="Select ${park.name}"]`), 'the ticks survive a redraw');
  await api('DELETE', `/enrollments/${req.id}`, { token: gone.token });
  await page.waitForSelector(`button[aria-label="Accept ${gone.name}"]`, { state: 'detached', timeout: 5000 });

  step('reject the selected one, then Accept all');
  await page.click('#reject-selected');
  await page.waitForSelector('#notice >> text=1 rejected.');
  await page.waitForSelector(`button[aria-label="Accept ${park.name}"]`, { state: 'detached' });
  await page.click('#accept-all');
  await page.waitForSelector('#notice >> text=2 accepted.');
  await page.waitForSelector('#requests >> text=No pending requests.');
  check(await page.isVisible(`#members >> text=${kim.name}`) && await page.isVisible(`#members >> text=${choi.name}`), 'both are members');
  check(!(await page.isVisible(`#members >> text=${park.name}`)), 'the rejected one is not');

  step('add a student by e-mail; unknown addresses say why');
  const lee = await account('student', 'Lee Seoyeon');
  await page.fill('#add-email', 'nobody-here@school.example');
  await page.click('#add-student button[type=submit]');
  await page.waitForSelector('#notice >> text=creates one in the DIDACTO app');
  check((await page.inputValue('#add-email')) === 'nobody-here@school.example', 'the typed address is kept');
  await page.fill('#add-email', lee.email);
  await page.fill('#add-number', '2026-0042');
  await page.click('#add-student button[type=submit]');
  await page.waitForSelector(`#members >> text=2026-0042`);

  step('import a class list: refused lines, then the fixed file');
  const han = await account('student', 'Han Jiwoo');
  const badCsv = `email,name,student number\n${han.email},Han Jiwoo,2026-0050\nnot-an-email,X,1\nghost@school.example,Ghost,2\n${han.email.toUpperCase()},Again,3\n`;
  await page.setInputFiles('#roster-file', { name: 'class.csv', mimeType: 'text/csv', buffer: Buffer.from(badCsv) });
  await page.click('#roster-import button[type=submit]');
  await page.waitForSelector('#roster-result >> text=Nothing was imported: 3 lines');
  const lines = await page.$$eval('#roster-result tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  check(lines.join(',') === '3,4,5', 'refused lines listed: ' + lines.join(','));
  check(!(await page.isVisible(`#members >> text=${han.name}`)), 'nothing half-applied');
  await shoot(page, 'roster-refused', async () => {
    if (!(await page.isVisible('#roster-result table'))) {
      await page.setInputFiles('#roster-file', { name: 'class.csv', mimeType: 'text/csv', buffer: Buffer.from(badCsv) });
      await page.click('#roster-import button[type=submit]');
      await page.waitForSelector('#roster-result table');
    }
    await page.$eval('#roster-result', (el) => el.scrollIntoView());
  });
  await page.setInputFiles('#roster-file', { name: 'class.csv', mimeType: 'text/csv',
    buffer: Buffer.from(`\uFEFF${han.email},Han Jiwoo,2026-0050\n${kim.email},Kim Minji,2026-0001\n`) });
  await page.click('#roster-import button[type=submit]');
  await page.waitForSelector('#roster-result >> text=2 rows read: 1 added, 1 already members.');
  await page.waitForSelector(`#members >> text=${han.name}`);

  step('a one-time password-reset code for a member');
  await page.click(`button[aria-label="Reset the password of ${kim.name}"]`);
  await page.waitForSelector('#reset-code');
  const code = (await page.textContent('#reset-code')).trim();
  check(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(code), 'code shown: ' + code);
  await page.$eval('#reset-out', (el) => el.scrollIntoView());
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, 'console-reset-code-en.png') });
  check(await page.evaluate(() => document.documentElement.lang === 'en'), 'en');
  await page.selectOption('#lang', 'ko');
  await ready(page);
  check((await page.textContent(`button[aria-label="${kim.name} 강의에서 제외"]`)).trim() === '강의에서 제외', 'Korean Remove is not 내보내기');
  check(!(await page.textContent('#members')).includes('내보내기'), 'no 내보내기 left');
  await page.selectOption('#lang', 'en');
  await ready(page);

  step('the student sets a new password with the code (sign-in page, no account)');
  const { page: p2, errors: errors2, close: close2 } = await launch();
  try {
    await p2.goto(BASE + '/#/login');
    await ready(p2);
    await p2.click('#to-reset');
    await ready(p2);
    await p2.fill('#email', kim.email);
    await p2.fill('#code', 'WRON-GCOD');
    await p2.fill('#new_password', 'N3w-Passw0rd!');
    await p2.fill('#repeat_password', 'N3w-Passw0rd!');
    await p2.click('#reset-form button[type=submit]');
    await p2.waitForSelector('#reset-form-error >> text=wrong, used or expired');
    check((await p2.inputValue('#email')) === kim.email, 'a wrong code keeps what was typed');
    await shoot(p2, 'reset-with-code');
    await p2.fill('#email', kim.email); // the language switch drew the form again
    await p2.fill('#code', code.toLowerCase());
    await p2.fill('#new_password', 'N3w-Passw0rd!');
    await p2.fill('#repeat_password', 'N3w-Passw0rd!');
    await p2.click('#reset-form button[type=submit]');
    await p2.waitForSelector('#notice >> text=Your new password is set');
    check(errors2.length === 0, 'no page errors (student): ' + errors2.join(' | '));
  } finally {
    await close2();
  }
  const pair = await api('POST', '/auth/login', { body: { email: kim.email, password: 'N3w-Passw0rd!' } });
  check(pair.access_token, 'the student signs in with the new password');

  step('the password screen');
  const other = await api('POST', '/auth/login', { body: { email: prof.email, password: prof.password } });
  await go(page, '#/password');
  await page.fill('#current_password', 'not-my-password');
  await page.fill('#new_password', 'Fresh-Passw0rd!');
  await page.fill('#repeat_password', 'Fresh-Passw0rd!');
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#password-form-error >> text=Current password: is wrong');
  await page.fill('#current_password', prof.password);
  await page.fill('#repeat_password', 'Different-Passw0rd!');
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#password-form-error >> text=not the same');
  await page.fill('#repeat_password', 'Fresh-Passw0rd!');
  await shoot(page, 'password');
  await go(page, '#/password');
  await page.fill('#current_password', prof.password);
  await page.fill('#new_password', 'Fresh-Passw0rd!');
  await page.fill('#repeat_password', 'Fresh-Passw0rd!');
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#notice >> text=Password changed');
  let ended = false;
  try { await api('GET', '/me', { token: other.access_token }); } catch (e) { ended = String(e.message).includes(' 401 '); }
  check(ended, 'the other sign-in ended');

  step('start class: switch on and open the grid; names are not cut');
  await go(page, `#/lectures/${lecture.id}`);
  await page.click('#start-class');
  await page.waitForSelector('.monitor');
  await ready(page);
  await upload(lecture.id, choi.token, frames[0]);
  const tile = `.tile[data-student="${choi.id}"]`;
  await page.waitForSelector(`${tile}.has-frame`);
  await page.waitForSelector(`${tile} >> text=Online`);
  const cut = await page.$eval(`${tile} .name`, (el) => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1);
  check(!cut, 'the name fits on a 240 px tile');
  await shoot(page, 'monitor-names', () => page.waitForSelector(`${tile}.has-frame`));

  step('the grid of a lecture that is off offers the switch right there');
  // prof.token ended with the password change; sign in again.
  const fresh = (await api('POST', '/auth/login', { body: { email: prof.email, password: 'Fresh-Passw0rd!' } })).access_token;
  const second = await api('POST', '/lectures', { token: fresh, body: { title: 'Lab 4' } });
  await go(page, `#/lectures/${second.id}/monitor`);
  await page.click('#mon-activate');
  await page.waitForSelector('#mon-inactive', { state: 'detached' });
  check((await api('GET', `/lectures/${second.id}`, { token: fresh })).active, 'switched on');

  step('plans say what Premium adds');
  await go(page, '#/plans');
  check((await page.textContent('#plans-compare')).includes('up to 3 lectures'), 'free limit stated');
  await shoot(page, 'plans-compare');

  check(errors.length === 0, 'no page errors: ' + errors.join(' | '));
  step('done');
} finally {
  await close();
}
