// Clicks through every page of the professor console against a real server
// (started by server/console's Go test), including the forbidden flows.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, launch, check, ready, go, shoot, api, account, signIn, upload } from './lib.mjs';

const frames = readdirSync(process.env.FRAMES_DIR).sort().map((f) => readFileSync(join(process.env.FRAMES_DIR, f)));
const started = Date.now();
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);

// Security headers of the console itself.
const res = await fetch(BASE + '/');
const csp = res.headers.get('content-security-policy') || '';
check(csp.includes("script-src 'self'") && csp.includes("style-src 'self'") && !csp.includes('unsafe'), 'CSP on / : ' + csp);
check(csp.includes("frame-ancestors 'none'"), 'framing forbidden');

const { page, errors, close } = await launch();
try {
  step('sign-in page');
  await page.goto(BASE + '/');
  await ready(page);
  check(await page.isVisible('#email'), 'sign-in form shown');
  await shoot(page, 'signin');

  step('register a professor');
  await page.click('a[href="#/register"]');
  await ready(page);
  await shoot(page, 'register');
  const profEmail = `prof-${Date.now()}@school.example`;
  await page.fill('#name', 'Prof. Lee');
  await page.fill('#email', profEmail);
  await page.fill('#password', 'Passw0rd!');
  await page.click('form button[type=submit]');
  await page.waitForSelector('#create-lecture');
  await ready(page);
  check((await page.textContent('#who')) === 'Prof. Lee', 'signed in as the new professor');
  check(!(await page.evaluate(() => JSON.stringify(localStorage))).toLowerCase().includes('session'), 'no session in localStorage');
  const httpOnly = (await page.context().cookies()).find((c) => c.name === 'didacto_session');
  check(httpOnly && httpOnly.httpOnly, 'session cookie is HttpOnly');

  step('create a lecture');
  await page.fill('#new-title', 'Algorithms 101');
  await page.click('#create-lecture button[type=submit]');
  await page.waitForSelector('#join-code');
  await ready(page);
  const code = (await page.textContent('#join-code')).trim();
  check(/^[A-Z0-9]{4,}$/.test(code), 'join code shown: ' + code);
  const lectureId = Number((await page.evaluate(() => location.hash)).match(/lectures\/(\d+)/)[1]);
  const fontPx = await page.evaluate(() => parseFloat(getComputedStyle(document.getElementById('join-code')).fontSize));
  check(fontPx >= 48, 'join code is large: ' + fontPx);

  step('students ask to join (API)');
  const kim = await account('student', 'Kim Minji');
  const park = await account('student', 'Park Jisoo');
  const choi = await account('student', 'Choi Yuna');
  await api('POST', '/lectures/join', { token: kim.token, body: { code } });
  await api('POST', '/lectures/join', { token: choi.token, body: { code } });
  await api('POST', '/lectures/join', { token: park.token, body: { code } });
  await page.click('#refresh-people');
  await page.waitForSelector('button[aria-label="Accept Kim Minji"]');
  await shoot(page, 'lecture');
  await page.click('button[aria-label="Accept Kim Minji"]');
  await page.waitForSelector('#members >> text=Kim Minji');
  await page.click('button[aria-label="Accept Choi Yuna"]');
  await page.waitForSelector('#members >> text=Choi Yuna');
  await page.click('button[aria-label="Reject Park Jisoo"]');
  await page.waitForSelector('#requests >> text=No pending requests.');
  check(!(await page.isVisible('#members >> text=Park Jisoo')), 'rejected student is not a member');

  step('frames before activation are refused');
  let refused = false;
  try { await api('PUT', `/lectures/${lectureId}/frame`, { token: kim.token, body: frames[0], type: 'image/jpeg' }); } catch { refused = true; }
  check(refused, 'frame upload to an inactive lecture refused');

  step('activate');
  await page.click('#toggle-active');
  await page.waitForSelector('#lecture-state .badge.on');

  step('projector code page');
  await page.click('#project-code');
  await ready(page);
  check((await page.textContent('#projector-code')).trim() === code, 'projector shows the code');
  await shoot(page, 'code');
  await page.goBack();
  await ready(page);

  step('monitoring grid over SSE');
  await upload(lectureId, kim.token, frames[0]);
  await upload(lectureId, choi.token, frames[2]); // and then nothing more: her tile goes stale
  await page.click('#open-monitor');
  await ready(page);
  const tile = `.tile[data-student="${kim.id}"]`;
  await page.waitForSelector(`${tile}.has-frame`);
  const src1 = await page.getAttribute(`${tile} img`, 'src');
  check(await page.isVisible(`${tile} >> text=Online`), 'tile online');
  await page.waitForFunction(() => !!window.EventSource);
  await page.waitForTimeout(500); // the stream's hello
  await upload(lectureId, kim.token, frames[1]);
  await page.waitForFunction(([sel, old]) => {
    const img = document.querySelector(sel + ' img');
    return img && img.getAttribute('src') !== old && img.complete && img.naturalWidth > 0;
  }, [tile, src1], { timeout: 10000 });
  check(await page.isVisible('#mon-count'), 'online count shown');
  // Tile size slider changes the grid's column width.
  const before = await page.evaluate((sel) => document.querySelector(sel).getBoundingClientRect().width, tile);
  await page.fill('#tile-size', '480');
  await page.dispatchEvent('#tile-size', 'input');
  const after = await page.evaluate((sel) => document.querySelector(sel).getBoundingClientRect().width, tile);
  check(after > before, `slider enlarges tiles (${before} -> ${after})`);
  await page.fill('#tile-size', '240');
  await page.dispatchEvent('#tile-size', 'input');
  // A tile whose last frame is older than ~2 capture intervals is dimmed.
  await page.waitForSelector(`.tile[data-student="${choi.id}"].stale.has-frame`, { timeout: 20000 });
  await upload(lectureId, kim.token, frames[1]);
  await page.waitForSelector(`${tile}:not(.stale)`);
  await shoot(page, 'monitor', () => page.waitForSelector(`${tile}.has-frame`));

  step('enlarge a tile');
  await page.click(`${tile} button.enlarge`);
  await page.waitForSelector('#enlarged[open]');
  await page.waitForFunction(() => { const i = document.getElementById('enlarged-img'); return i.complete && i.naturalWidth > 0; });
  const bigSrc = await page.getAttribute('#enlarged-img', 'src');
  // The enlarged student is asked for large frames every second while the
  // dialog is open (the console holds a focus lease), thumbnails after.
  const hintsUntil = async (want, what) => {
    for (let i = 0; ; i++) {
      const h = await upload(lectureId, kim.token, frames[i % 2]);
      if (want(h)) return h;
      if (i >= 40) throw new Error(`${what}: hints stayed ${JSON.stringify(h)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const big = await hintsUntil((h) => h.width >= 960 && h.interval_ms === 1000, 'enlarged');
  check(big.width >= 960 && big.width <= 1280, `enlarged tile asks for ${big.width}px frames every ${big.interval_ms} ms`);
  await upload(lectureId, kim.token, frames[2]);
  await page.waitForFunction((old) => document.getElementById('enlarged-img').getAttribute('src') !== old, bigSrc, { timeout: 10000 });
  await shoot(page, 'monitor-enlarged', async () => {
    if (!(await page.isVisible('#enlarged[open]'))) await page.click(`${tile} button.enlarge`);
    await page.waitForFunction(() => { const i = document.getElementById('enlarged-img'); return i.complete && i.naturalWidth > 0; });
  });
  if (await page.isVisible('#enlarged[open]')) await page.click('#enlarged-close');
  await page.waitForSelector('#enlarged:not([open])', { state: 'attached' });
  const small = await hintsUntil((h) => h.width === 320, 'closed');
  check(small.interval_ms === 2000, `thumbnails again after closing (${small.width}px every ${small.interval_ms} ms)`);

  step('keyboard only: enlarge and close');
  await page.focus(`${tile} button.enlarge`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#enlarged[open]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#enlarged:not([open])', { state: 'attached' });
  check(await page.evaluate(() => document.activeElement && document.activeElement.classList.contains('enlarge')), 'focus returns to the tile');

  step('live session with an offline student explains it');
  await page.click(`${tile} a.shot`);
  await ready(page);
  await page.waitForSelector('#live-error:not([hidden])', { timeout: 15000 });
  const liveErr = await page.textContent('#live-error');
  check(liveErr.includes('not connected'), 'offline student explained: ' + liveErr);
  await shoot(page, 'live-offline', () => page.waitForSelector('#live-error:not([hidden])', { timeout: 15000 }));
  await page.click('#live-end');
  await ready(page);
  check((await page.evaluate(() => location.hash)).endsWith('/monitor'), 'end returns to the grid');

  step('attendance and CSV');
  await go(page, `#/lectures/${lectureId}`);
  await page.waitForSelector('#attendance >> text=Kim Minji');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#att-csv')]);
  const csv = readFileSync(await download.path(), 'utf8');
  check(csv.includes(kim.email), 'CSV lists the student: ' + csv.slice(0, 200));

  step('audit log');
  await page.click('#open-audit');
  await ready(page);
  check((await page.textContent('h1')).startsWith('Audit log'), 'audit page'); // its screenshot is taken by live.mjs, with entries
  await page.goBack();
  await ready(page);

  step('rename, deactivate, remove member');
  await page.click('#rename');
  await page.fill('#rename-title', 'Algorithms 102');
  await page.click('#rename-form button[type=submit]');
  await page.waitForSelector('#lecture-title >> text=Algorithms 102');
  await page.click('#toggle-active');
  await page.waitForSelector('#lecture-state .badge.off');
  await page.click('button[aria-label="Remove Kim Minji"]');
  // The list is drawn again after the removal: wait for that, not for a
  // button that was there all along.
  await page.waitForSelector('button[aria-label="Remove Kim Minji"]', { state: 'detached', timeout: 10000 })
    .catch(() => { throw new Error('check failed: member removed'); });
  check(await page.isVisible('button[aria-label="Remove Choi Yuna"]'), 'the other member stays');

  step('lectures list and plans');
  await go(page, '#/lectures');
  check(await page.isVisible('text=Algorithms 102'), 'renamed lecture listed');
  await shoot(page, 'lectures');
  await page.click('#nav-plans');
  // The hash changes on the click and the view renders after its API
  // calls: wait for the view, not for the previous one's idle state.
  await page.waitForSelector('#plan-current', { timeout: 15000 })
    .catch(async () => { throw new Error('plan not shown; errors: ' + errors.join('; ') + '\n' + await page.textContent('#app')); });
  const plans = await api('GET', '/plans');
  if (!plans.payments_enabled) check(await page.isVisible('#payments-off'), 'payments off explained');
  await shoot(page, 'plans');

  step('delete');
  await go(page, `#/lectures/${lectureId}`);
  await page.click('#delete');
  await page.waitForSelector('#create-lecture');
  await ready(page);
  check(!(await page.isVisible('text=Algorithms 102')), 'lecture deleted');

  step('forbidden: another professor\'s lecture');
  const other = await account('professor', 'Prof. Choi');
  const foreign = await api('POST', '/lectures', { token: other.token, body: { title: 'Not yours' } });
  await go(page, `#/lectures/${foreign.id}`);
  check((await page.textContent('h1')) === 'Not found', 'foreign lecture is not found');
  await shoot(page, 'notfound');
  await go(page, `#/lectures/${foreign.id}/monitor`);
  check((await page.textContent('h1')) === 'Not found', 'foreign monitor is not found');
  await go(page, `#/lectures/${foreign.id}/live/${kim.id}`);
  check((await page.textContent('h1')) === 'Not found', 'foreign live session is not found');
  const csrfless = await page.evaluate(async (id) => (await fetch(`/api/v1/lectures/${id}/activate`, { method: 'POST' })).status, lectureId);
  check(csrfless === 403, 'POST without the CSRF header refused: ' + csrfless);

  step('sign out; wrong password; student account');
  await page.click('#signout');
  await page.waitForSelector('#email');
  await page.fill('#email', profEmail);
  await page.fill('#password', 'wrong-password');
  await page.click('form button[type=submit]');
  await page.waitForSelector('#form-error >> text=Wrong email or password.');
  await shoot(page, 'signin-error', async () => {
    await page.fill('#email', profEmail);
    await page.fill('#password', 'wrong-password');
    await page.click('form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('form-error').textContent.length > 0);
  });
  await signIn(page, kim.email, kim.password);
  await page.waitForSelector('#notice >> text=This console is for professors');
  check(await page.isVisible('#email'), 'student stays on the sign-in page');
  check(!(await page.isVisible('#signout')), 'student is not signed in');
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
  check(me === 401, 'student session ended: ' + me);

  step('Korean by browser language');
  await page.evaluate(() => localStorage.removeItem('didacto.lang'));
  check(errors.length === 0, 'page errors:\n' + errors.join('\n'));
} finally {
  await close();
}

const ko = await launch({ locale: 'ko-KR' });
try {
  await ko.page.goto(BASE + '/');
  await ready(ko.page);
  check((await ko.page.textContent('h1')) === '로그인', 'Korean chosen from navigator.language');
  check(await ko.page.evaluate(() => document.documentElement.lang) === 'ko', 'html lang=ko');
  check(ko.errors.length === 0, 'page errors:\n' + ko.errors.join('\n'));
} finally {
  await ko.close();
}
step('done');
