// Plans (issue 9): the current plan and the price list. No payment script is
// loaded here; with payments switched off the page only says so.
import { h } from '../dom.js';

export async function view(ctx) {
  const { t } = ctx;
  const [me, list] = await Promise.all([ctx.api('GET', '/me'), ctx.api('GET', '/plans')]);
  const planName = me.plan === 'premium' ? t('plans.premium') : t('plans.free');
  return h('section', {},
    h('h1', {}, t('plans.title')),
    h('p', { id: 'plan-current' }, t('plans.current', { plan: planName }),
      me.premium_until ? ' · ' + t('plans.until', { date: ctx.i18n.dateTime(me.premium_until) }) : ''),
    list.payments_enabled ? null : h('p', { class: 'warn', id: 'payments-off' }, t('plans.off')),
    h('ul', { class: 'plans' }, list.plans.map((p) => h('li', { class: 'card' },
      h('h2', {}, p.name),
      h('p', {}, t('plans.price', { price: ctx.i18n.number(p.price_krw), days: p.period_days })),
    ))));
}
