// Buying Premium in the real console against a fake PortOne (its fake
// browser SDK answers the payment window at once). CHOICE is what the buyer
// does in the window: pay, cancel or tamper; WANT is the order status the
// payment history must then show. Only the payment page may load the SDK.
import { launch, check, ready, go, signIn, account, shoot } from './lib.mjs';

const { CHOICE, WANT } = process.env;
const step = (s) => console.log(`[${CHOICE}] ${s}`);

const prof = await account('professor', `Prof Pay ${CHOICE}`);
const { page, errors, close } = await launch();
const sdkLoads = [];
page.on('request', (r) => { if (r.url().includes('/sdk/')) sdkLoads.push(new URL(page.url()).pathname); });
try {
  await page.addInitScript((c) => { window.__portoneTest = c; }, CHOICE);
  await page.goto(process.env.BASE_URL + '/');
  await ready(page);
  await signIn(page, prof.email, prof.password);
  await page.waitForSelector('#create-lecture');
  await go(page, '#/plans');
  await page.waitForSelector('#plan-current');
  check(/Free/.test(await page.textContent('#plan-current')), 'a new professor is on the free plan');
  check(await page.isVisible('#payments-none'), 'no payments yet');
  check(sdkLoads.length === 0, 'the SDK was loaded outside the payment page: ' + sdkLoads);

  step('buy');
  await page.click('#buy-premium-monthly');
  await page.waitForURL(/\/pay\?plan=premium-monthly$/);
  await page.waitForSelector('#app[aria-busy="false"]', { timeout: 20000 });
  const text = await page.textContent('#pay-status');
  step('payment page says: ' + text);
  check(sdkLoads.length > 0 && sdkLoads.every((p) => p === '/pay'), 'the SDK loads on the payment page only: ' + sdkLoads);
  const result = await page.getAttribute('#app', 'data-result');
  if (CHOICE === 'pay') check(result === 'paid' && /Premium is active until/.test(text), 'paid: ' + text);
  if (CHOICE === 'cancel') check(result === null && /was not made/.test(text), 'cancelled: ' + text);
  if (CHOICE === 'tamper') check(result === null && /(refunded|was not made)/.test(text), 'tampered: ' + text);
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/console-pay-${CHOICE}-en.png` });

  step('back to the plans');
  await page.click('#pay-back');
  await ready(page);
  await page.waitForSelector('#payments');
  const status = await page.getAttribute('#payments tbody tr', 'data-status');
  check(status === WANT, `history shows ${status}, want ${WANT}`);
  const premium = /Premium until/.test(await page.textContent('#plan-current'));
  check(premium === (WANT === 'paid'), 'plan line: ' + await page.textContent('#plan-current'));
  check((await page.$$('a[id^="buy-"]')).length === (premium ? 0 : 2), 'Buy offered exactly when not Premium');
  if (CHOICE === 'pay') await shoot(page, 'plans-premium');
  check(errors.length === 0, 'page errors (a CSP violation is one):\n' + errors.join('\n'));
  console.log(JSON.stringify({ email: prof.email }));
} finally {
  await close();
}
