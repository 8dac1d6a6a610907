// Plans (issue 9): the current plan, the price list with a Buy link to the
// payment page (the only page that loads PortOne's SDK), and the
// professor's payment history.
import { h } from '../dom.js';

export async function view(ctx) {
  const { t } = ctx;
  const [me, list, history] = await Promise.all([ctx.api('GET', '/me'), ctx.api('GET', '/plans'),
    ctx.api('GET', '/payments?size=20')]);
  const premium = me.plan === 'premium';
  const planName = premium ? t('plans.premium') : t('plans.free');
  const canBuy = list.payments_enabled && !premium;
  return h('section', {},
    h('h1', {}, t('plans.title')),
    h('p', { id: 'plan-current' }, t('plans.current', { plan: planName }),
      me.premium_until ? ' · ' + t('plans.until', { date: ctx.i18n.dateTime(me.premium_until) }) : ''),
    list.payments_enabled ? null : h('p', { class: 'warn', id: 'payments-off' }, t('plans.off'), ' ', t('plans.ask.admin')),
    h('section', { class: 'card', id: 'plans-compare', 'aria-labelledby': 'compare-h' },
      h('h2', { id: 'compare-h' }, t('plans.compare')),
      h('ul', {},
        h('li', {}, t('plans.compare.free', { n: list.free_max_active_lectures })),
        h('li', {}, t('plans.compare.premium')))),
    h('ul', { class: 'plans' }, list.plans.map((p) => h('li', { class: 'card' },
      h('h2', {}, p.name),
      h('p', {}, t('plans.price', { price: ctx.i18n.number(p.price_krw), days: p.period_days })),
      canBuy ? h('a', { class: 'button', id: `buy-${p.id}`, href: `/pay?plan=${encodeURIComponent(p.id)}` }, t('plans.buy')) : null,
    ))),
    h('h2', {}, t('plans.history')),
    history.items.length === 0 ? h('p', { class: 'muted', id: 'payments-none' }, t('plans.history.none'))
      : h('table', { id: 'payments' },
        h('thead', {}, h('tr', {}, [t('plans.history.date'), t('plans.history.plan'), t('plans.history.amount'),
          t('plans.history.status')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, history.items.map((r) => h('tr', { dataset: { status: r.status } },
          h('td', {}, ctx.i18n.dateTime(r.paid_at || r.created_at)),
          h('td', {}, r.plan_name),
          h('td', {}, t('plans.history.krw', { amount: ctx.i18n.number(r.amount) })),
          h('td', {}, t('plans.status.' + r.status)))))));
}
