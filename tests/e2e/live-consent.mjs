// The real console against a real headless agent whose lab policy is
// consent: ask (tests/integration): the agent cannot ask anyone, refuses,
// and the page says why the session ended instead of a plain "left".
import { launch, check, ready, go, signIn } from './lib.mjs';
import { join } from 'node:path';

const { EMAIL, PASSWORD, LECTURE_ID, STUDENT_ID, EXPECT } = process.env;

const { page, errors, close } = await launch();
try {
  await page.goto(process.env.BASE_URL + '/');
  await ready(page);
  await signIn(page, EMAIL, PASSWORD);
  await page.waitForSelector('#create-lecture');
  await go(page, `#/lectures/${LECTURE_ID}/live/${STUDENT_ID}`);
  await page.waitForSelector('#live-error:not([hidden])', { timeout: 45000 });
  const text = (await page.textContent('#live-error')).trim();
  console.log('the page says: ' + text);
  check(text.includes(EXPECT), `the page says ${JSON.stringify(text)}, want ${JSON.stringify(EXPECT)}`);
  const frames = await page.evaluate(() => document.getElementById('live-video').getVideoPlaybackQuality().totalVideoFrames);
  check(frames === 0, `${frames} frames decoded before consent`);
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, 'console-live-refused-en.png') });
  check(errors.length === 0, 'page errors: ' + errors.join('; '));
} finally {
  await close();
}
