// The real console against a real agent (tests/integration): the student's
// screen must decode in the page, and the professor's clicks and typing must
// reach the student's X display.
import { launch, check, ready, go, signIn } from './lib.mjs';

const { EMAIL, PASSWORD, LECTURE_ID, STUDENT_ID, TYPE_TEXT } = process.env;
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
  }, null, { timeout: 45000 });
  const video = await page.evaluate(() => {
    const v = document.getElementById('live-video');
    return { w: v.videoWidth, h: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames };
  });
  step(`video decodes: ${video.w}x${video.h}, ${video.frames} frames, first frames after ${Date.now() - clicked} ms`);
  check(video.w >= 640 && video.h >= 360, 'a real screen size');
  // The quality line reports the incoming video: its size, fps, rate.
  await page.waitForFunction(() => /\d+×\d+ · \d+ fps/.test(document.getElementById('live-stats').textContent), null, { timeout: 10000 })
    .catch(async () => { throw new Error('no video stats: ' + await page.textContent('#live-stats')); });
  step('quality: ' + await page.textContent('#live-stats'));
  // The professor's microphone starts muted, and the student's is not sent
  // until the professor turns theirs on (asks to talk).
  check((await page.getAttribute('#live-mute', 'aria-pressed')) === 'true', 'the professor starts muted');
  await page.waitForTimeout(2500); // two stats samples
  const quiet = await page.evaluate(() => document.getElementById('live-voice').value);
  check(quiet < 0.01, `the student's voice is not sent before the professor talks (level ${quiet})`);
  await page.click('#live-mute');
  // The student's microphone reaches the page (a 440 Hz tone in the test's
  // sound server), and nothing says it is missing.
  await page.waitForFunction(() => document.getElementById('live-voice').value > 0.05, null, { timeout: 20000 })
    .catch(async () => { throw new Error('no voice from the student: level ' + await page.evaluate(() => document.getElementById('live-voice').value)); });
  check(await page.isHidden('#live-student-media'), 'the console says the student has no microphone or speakers: ' +
    await page.textContent('#live-student-media'));
  step('the student\'s voice arrives: level ' + (await page.evaluate(() => document.getElementById('live-voice').value)).toFixed(3));
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/console-live-real-en.png` });
  }

  step('take control, click into the student\'s terminal, type');
  await page.waitForFunction(() => !document.getElementById('live-control').disabled, null, { timeout: 15000 });
  await page.click('#live-control');
  check((await page.getAttribute('#live-control', 'aria-pressed')) === 'true', 'control on');
  const box = await page.locator('#live-video').boundingBox();
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.25);
  await page.mouse.down();
  await page.mouse.up();
  await page.waitForTimeout(300);
  await page.keyboard.type(TYPE_TEXT, { delay: 30 });
  await page.keyboard.press('Enter');
  await page.waitForTimeout(1000);
  await page.click('#live-control');
  step('end');
  await page.click('#live-end');
  await ready(page);
  check(errors.length === 0, 'page errors:\n' + errors.join('\n'));
} finally {
  await close();
}
step('done');
