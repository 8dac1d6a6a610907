// Opens a live session in the real console as the professor (Chrome's fake
// camera and microphone) and holds it until a line arrives on stdin, then
// ends it: the other side of a test that checks the student's machine.
import { createInterface } from 'node:readline';
import { launch, check, ready, go, signIn } from './lib.mjs';

const { EMAIL, PASSWORD, LECTURE_ID, STUDENT_ID } = process.env;
const say = (s) => console.log(s);

const { page, errors, close } = await launch();
try {
  await page.goto(process.env.BASE_URL + '/');
  await ready(page);
  await signIn(page, EMAIL, PASSWORD);
  await page.waitForSelector('#create-lecture');
  await go(page, `#/lectures/${LECTURE_ID}/live/${STUDENT_ID}`);
  await page.waitForFunction(() => {
    const v = document.getElementById('live-video');
    return v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 3;
  }, null, { timeout: 45000 });
  await page.waitForFunction(() => document.getElementById('live-voice').value > 0.02, null, { timeout: 20000 })
    .catch(() => { throw new Error('no voice from the student'); });
  say('live');
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line.trim() === 'end') break;
  }
  await page.click('#live-end');
  await ready(page);
  check(errors.length === 0, 'page errors:\n' + errors.join('\n'));
  say('ended');
} finally {
  await close();
}
