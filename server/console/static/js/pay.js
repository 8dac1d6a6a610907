// The payment page (/pay?plan=…): the only page that loads PortOne's
// browser SDK (its CSP allows the gateway's origins; the console's pages
// allow none). It creates the order, opens PortOne's payment window, then
// has the server verify the payment at PortOne and shows the result.
import { api, ApiError } from './api.js';
import { I18n, initialLanguage } from './i18n.js';

const i18n = new I18n(initialLanguage());
const t = i18n.t.bind(i18n);
const status = document.getElementById('pay-status');
const back = document.getElementById('pay-back');
const main = document.getElementById('app');

function show(text, kind) {
  status.textContent = text;
  status.className = kind || '';
}

function done() {
  back.textContent = t('pay.back');
  back.hidden = false;
  main.setAttribute('aria-busy', 'false');
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('sdk'));
    document.head.append(s);
  });
}

// pay opens the gateway's window and resolves with the completion body,
// or null when the professor closed or the gateway refused it (and why).
async function pay(order) {
  const c = order.portone;
  if (c.version === 'v2') {
    const rsp = await window.PortOne.requestPayment({
      storeId: c.store_id, channelKey: c.channel_key, paymentId: c.payment_id,
      orderName: c.order_name, totalAmount: order.amount, currency: 'CURRENCY_KRW', payMethod: 'CARD',
    });
    if (!rsp || rsp.code) return { refused: (rsp && rsp.message) || '' };
    return { body: { payment_id: rsp.paymentId || c.payment_id } };
  }
  window.IMP.init(c.store_code);
  const rsp = await new Promise((resolve) => window.IMP.request_pay({
    pg: c.pg || undefined, pay_method: 'card', merchant_uid: order.merchant_uid,
    name: c.order_name, amount: order.amount, currency: 'KRW',
  }, resolve));
  if (!rsp || !rsp.success) return { refused: (rsp && rsp.error_msg) || '' };
  return { body: { imp_uid: rsp.imp_uid, merchant_uid: rsp.merchant_uid } };
}

function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('err.network');
    if (e.status === 401) return t('pay.signin');
    if (e.code && i18n.has('err.' + e.code)) return t('err.' + e.code);
    return t('err.generic', { status: e.status });
  }
  if (e && e.message === 'sdk') return t('pay.sdk_failed');
  return String(e && e.message ? e.message : e);
}

async function run() {
  document.title = t('pay.title');
  document.getElementById('pay-title').textContent = t('pay.title');
  const plan = new URLSearchParams(location.search).get('plan') || '';
  try {
    show(t('pay.creating'));
    const order = await api('POST', '/orders', { plan });
    show(t('pay.window'));
    await loadScript(order.portone.sdk_url);
    const r = await pay(order);
    if (!r.body) {
      show(t('pay.refused', { reason: r.refused || t('pay.closed') }), 'error');
      return;
    }
    show(t('pay.verifying'));
    const res = await api('POST', '/payments/complete', r.body);
    show(t('pay.ok', { date: i18n.dateTime(res.premium_until) }), 'ok');
    main.dataset.result = 'paid';
  } catch (e) {
    show(errorText(e), 'error');
  } finally {
    done();
  }
}

run();
