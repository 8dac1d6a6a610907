// The real console against the Windows agent under Wine (tests/integration
// TestWindowsAgentLiveControl): the student's screen must decode in the
// page; then the professor clicks, scrolls, types (modifiers, Korean) and
// points at MOVE_X,MOVE_Y of the student's screen; last, holds Shift while
// the page's renderer crashes, so only the agent can let go of the key.
import { launch, check, ready, go, signIn } from './lib.mjs';

const { EMAIL, PASSWORD, LECTURE_ID, STUDENT_ID } = process.env;
const started = Date.now();
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);

const { page, errors, close } = await launch();
try {
  step('sign in');
  await page.goto(process.env.BASE_URL + '/');
  await ready(page);
  await signIn(page, EMAIL, PASSWORD);
  await page.waitForSelector('#create-lecture');

  step('open the live session');
  const clicked = Date.now();
  await go(page, `#/lectures/${LECTURE_ID}/live/${STUDENT_ID}`);
  await page.waitForFunction(() => {
    const v = document.getElementById('live-video');
    return v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 3;
  }, null, { timeout: 60000 });
  const video = await page.evaluate(() => {
    const v = document.getElementById('live-video');
    return { w: v.videoWidth, h: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames };
  });
  step(`video decodes: ${video.w}x${video.h}, ${video.frames} frames, first frames after ${Date.now() - clicked} ms`);
  check(video.w >= 640 && video.h >= 360, 'a real screen size');
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/console-live-wine-en.png` });
  }

  // at maps a fraction of the student's screen to the page, inside the
  // letterboxed video as the console's own point() does (measured when
  // used: taking control changes the page's layout).
  const at = async (fx, fy) => {
    const box = await page.locator('#live-video').boundingBox();
    const scale = Math.min(box.width / video.w, box.height / video.h);
    const cw = video.w * scale, ch = video.h * scale;
    return [box.x + (box.width - cw) / 2 + cw * fx, box.y + (box.height - ch) / 2 + ch * fy];
  };

  step('take control: click, wheel, keys, text');
  await page.waitForFunction(() => !document.getElementById('live-control').disabled, null, { timeout: 15000 });
  await page.click('#live-control');
  check((await page.getAttribute('#live-control', 'aria-pressed')) === 'true', 'control on');
  await page.mouse.move(...await at(0.25, 0.25));
  await page.mouse.down();
  await page.mouse.up();
  await page.waitForTimeout(300);
  await page.mouse.wheel(0, 300); // three notches down
  await page.waitForTimeout(300);
  await page.keyboard.type('wine', { delay: 30 });
  await page.keyboard.press('Shift+KeyW');
  await page.keyboard.press('Control+KeyB');
  // Playwright types text that is not on a US keyboard without key events;
  // a Korean IME's committed syllable is a keydown whose key is the
  // character and whose code is empty: dispatch that.
  for (const c of '한글') {
    for (const type of ['keydown', 'keyup']) {
      await page.evaluate(([type, key]) => document.getElementById('live-video')
        .dispatchEvent(new KeyboardEvent(type, { key, code: '', bubbles: true, cancelable: true })), [type, c]);
    }
  }
  await page.mouse.move(...await at(Number(process.env.MOVE_X), Number(process.env.MOVE_Y)));
  await page.waitForTimeout(500);
  check(errors.length === 0, 'page errors:\n' + errors.join('\n'));

  step('hold Shift, then the page crashes (no release from the page)');
  await page.keyboard.down('Shift');
  await page.waitForTimeout(1000);
  const crashed = new Promise((r) => page.once('crash', r));
  page.goto('chrome://crash').catch(() => {});
  await crashed;
  step('crashed');
} finally {
  await close();
}
step('done');
