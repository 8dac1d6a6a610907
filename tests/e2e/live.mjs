// The live-session page against a stand-in agent (server/console's Go test):
// offer, data channels, screen picker, remote control, stats, end, takeover.
import { launch, check, ready, go, shoot, signIn } from './lib.mjs';

const { EMAIL, PASSWORD, LECTURE_ID, STUDENT_ID } = process.env;
const url = `#/lectures/${LECTURE_ID}/live/${STUDENT_ID}`;
const started = Date.now();
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);

const { context, page, errors, close } = await launch();
const connected = async (p) => {
  await p.waitForFunction(() => document.querySelectorAll('#live-screen option').length === 2, null, { timeout: 30000 });
};
try {
  step('sign in');
  await page.goto(process.env.BASE_URL + '/');
  await ready(page);
  await signIn(page, EMAIL, PASSWORD);
  await page.waitForSelector('#create-lecture');
  await ready(page);

  step('open the live session');
  await go(page, url);
  await connected(page);
  check(!(await page.isDisabled('#live-screen')), 'screen picker enabled for two screens');
  check((await page.textContent('#live-screen')).includes('HDMI-1'), 'screen names shown');
  await page.waitForFunction(() => document.getElementById('live-status').textContent === 'Connected.', null, { timeout: 30000 });
  check(!(await page.isDisabled('#live-mute')), 'microphone button available with a microphone');
  check((await page.getAttribute('#live-mute', 'aria-pressed')) === 'true', 'the microphone starts muted');
  check(await page.isHidden('#live-camera'), 'the camera starts off (no preview)');

  step('the stage fits the window at 1440x900, and full screen keeps a control bar');
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.waitForTimeout(300);
  const stage = await page.locator('#stage').boundingBox();
  check(stage.y + stage.height <= 900, `stage bottom ${stage.y + stage.height} within the 900 px window`);
  await page.click('#live-fullscreen');
  await page.waitForFunction(() => document.fullscreenElement && document.fullscreenElement.id === 'stage', null, { timeout: 5000 });
  check(await page.isVisible('#stage #live-toolbar #live-control'), 'control button on the full-screen bar');
  check(await page.isVisible('#stage #live-toolbar #live-end'), 'end button on the full-screen bar');
  check((await page.textContent('#live-fullscreen')).includes('Exit'), 'the bar offers Exit full screen');
  await page.click('#live-fullscreen');
  await page.waitForFunction(() => !document.fullscreenElement, null, { timeout: 5000 });
  check(!(await page.isVisible('#stage #live-toolbar')), 'the toolbar is back above the stage');
  check(await page.isVisible('.title-row #live-end'), 'End session back in the title row');
  await page.setViewportSize({ width: 1280, height: 800 });

  step('unmute and camera on, then off again');
  await page.click('#live-mute');
  check((await page.getAttribute('#live-mute', 'aria-pressed')) === 'false', 'unmuted');
  await page.click('#live-camera-toggle');
  check(await page.isVisible('#live-camera'), 'camera preview shown when on');
  await page.click('#live-mute');
  check((await page.getAttribute('#live-mute', 'aria-pressed')) === 'true', 'muted again');
  await page.click('#live-camera-toggle');
  check(await page.isHidden('#live-camera'), 'camera preview hidden when off');

  step('pick the second screen');
  await page.selectOption('#live-screen', '1');

  step('take control');
  await page.click('#live-control');
  check((await page.getAttribute('#live-control', 'aria-pressed')) === 'true', 'control on');
  check(await page.isVisible('#live-control-note'), 'control explained');
  const box = await page.locator('#live-video').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  for (let i = 0; i < 10; i++) await page.mouse.move(cx + i * 5, cy + i * 3);
  await page.mouse.down();
  await page.mouse.up();
  await page.mouse.wheel(0, 300);
  await page.keyboard.press('a');
  await page.keyboard.press('Control+s'); // kept from the browser, sent to the student
  await page.waitForTimeout(500);
  await page.click('#live-control');
  check((await page.getAttribute('#live-control', 'aria-pressed')) === 'false', 'control off');

  step('the student takes control back');
  await page.click('#live-control');
  await page.waitForSelector('#live-control-end:not([hidden])', { timeout: 15000 });
  const took = await page.textContent('#live-control-end');
  check(took.includes('Han Seojun took back control'), 'the page says who took control back: ' + took);
  await page.waitForFunction(() => document.getElementById('live-control').getAttribute('aria-pressed') === 'false', null, { timeout: 15000 });
  await page.waitForTimeout(1500); // one stats sample
  await shoot(page, 'live', () => connected(page));

  step('a second tab, whose camera and microphone are denied, takes the session over');
  const other = await context.newPage();
  other.on('pageerror', (e) => errors.push('pageerror (tab 2): ' + e.message));
  // The fake-UI flag grants every prompt; stand in for a person clicking "Block".
  await other.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  await other.goto(process.env.BASE_URL + '/' + url);
  await ready(other);
  await page.waitForSelector('#live-error:not([hidden])', { timeout: 30000 });
  const msg = await page.textContent('#live-error');
  check(msg.includes('taken over'), 'takeover explained: ' + msg);
  await connected(other);
  const note = await other.textContent('#live-media-note');
  check(note.includes('denied'), 'permission denial explained: ' + note);
  check(await other.isDisabled('#live-mute'), 'no mute button without a microphone');
  check(!(await other.isDisabled('#live-control')), 'control still possible without media');

  step('end');
  await other.click('#live-end');
  await ready(other);
  check((await other.evaluate(() => location.hash)).endsWith('/monitor'), 'end returns to the grid');
  await other.close();

  step('the audit log shows the session');
  await go(page, `#/lectures/${LECTURE_ID}/audit`);
  const audit = await page.textContent('main');
  for (const what of ['joined', 'started remote control', 'ended remote control', 'took over', 'Han Seojun']) {
    check(audit.includes(what), `audit lists "${what}"`);
  }
  await shoot(page, 'audit');
  check(errors.length === 0, 'page errors:\n' + errors.join('\n'));
} finally {
  await close();
}
step('done');
