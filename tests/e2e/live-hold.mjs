// Opens a live session in the real console as the professor (Chrome's fake
// camera and microphone) and holds it until a line arrives on stdin: "end"
// ends it from the console; "student-ends" waits for the student to end it
// and checks that the page says so (STUDENT_NAME). The other side of a
// test that checks the student's machine.
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
  // The professor's camera and microphone start off: turn them on (talking
  // is also what lets the student's voice through).
  await page.waitForFunction(() => !document.getElementById('live-mute').disabled, null, { timeout: 15000 });
  await page.click('#live-mute');
  if (!(await page.isDisabled('#live-camera-toggle'))) await page.click('#live-camera-toggle');
  await page.waitForFunction(() => document.getElementById('live-voice').value > 0.02, null, { timeout: 20000 })
    .catch(() => { throw new Error('no voice from the student'); });
  say('live');
  const rl = createInterface({ input: process.stdin });
  let how = '';
  for await (const line of rl) {
    how = line.trim();
    if (how === 'end' || how === 'student-ends') break;
  }
  if (how === 'student-ends') {
    // The student ends it on their side: the page says who ended it.
    await page.waitForSelector('#live-error:not([hidden])', { timeout: 30000 });
    const text = (await page.textContent('#live-error')).trim();
    check(text.includes(`${process.env.STUDENT_NAME} ended the live session.`), 'the page says: ' + text);
  } else {
    await page.click('#live-end');
    await ready(page);
  }
  check(errors.length === 0, 'page errors:\n' + errors.join('\n'));
  say('ended');
} finally {
  await close();
}
