// The professor's lectures: list and create.
import { all } from '../api.js';
import { h, table } from '../dom.js';

export async function view(ctx) {
  const { t } = ctx;
  const page = await all('/lectures');
  const input = h('input', { id: 'new-title', name: 'title', required: true, maxlength: 200, autocomplete: 'off' });
  const create = h('form', { class: 'inline-form', id: 'create-lecture' },
    h('label', { for: 'new-title' }, t('lectures.create.label')), input,
    h('button', { type: 'submit' }, t('lectures.create')));
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const l = await ctx.api('POST', '/lectures', { title: input.value.trim() });
      ctx.app.notify(t('lectures.created', { title: l.title }));
      ctx.app.navigate('/lectures/' + l.id);
    } catch (e) { ctx.app.fail(e); }
  });
  const rows = page.items.map((l) => [
    h('a', { href: `#/lectures/${l.id}` }, l.title),
    h('code', { class: 'code-small' }, l.code),
    h('span', { class: 'badge ' + (l.active ? 'on' : 'off') }, l.active ? t('status.active') : t('status.inactive')),
    ctx.i18n.dateTime(l.created_at),
  ]);
  return h('section', {},
    h('h1', {}, t('lectures.title')),
    create,
    rows.length ? table(t('lectures.title'),
      [t('lectures.col.title'), t('lectures.col.code'), t('lectures.col.status'), t('lectures.col.created')], rows)
      : h('p', { class: 'muted' }, t('lectures.empty')));
}
