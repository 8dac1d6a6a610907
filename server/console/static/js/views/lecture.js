// One lecture: join code, monitoring switch, join requests, members,
// attendance; plus the projector code page and the audit log.
import { all } from '../api.js';
import { h, clear, table } from '../dom.js';

function isoDay(d) { return d.toISOString().slice(0, 10); }

export async function view(ctx) {
  const { t } = ctx;
  const id = ctx.params[0];
  let lecture = await ctx.api('GET', `/lectures/${id}`);
  const root = h('section', { class: 'lecture' });

  const title = h('h1', { id: 'lecture-title' }, lecture.title);
  const state = h('p', { id: 'lecture-state' });
  const toggle = h('button', { type: 'button', id: 'toggle-active' });
  const paint = () => {
    title.textContent = lecture.title;
    clear(state).append(t('lecture.state', { state: '' }),
      h('span', { class: 'badge ' + (lecture.active ? 'on' : 'off') }, lecture.active ? t('status.active') : t('status.inactive')));
    toggle.textContent = lecture.active ? t('lecture.deactivate') : t('lecture.activate');
    toggle.className = lecture.active ? 'secondary' : '';
  };
  toggle.addEventListener('click', async () => {
    try {
      lecture = await ctx.api('POST', `/lectures/${id}/${lecture.active ? 'deactivate' : 'activate'}`);
      paint();
      ctx.app.notify(lecture.active ? t('lecture.activated') : t('lecture.deactivated'));
    } catch (e) { ctx.app.fail(e); }
  });

  const renameInput = h('input', { id: 'rename-title', required: true, maxlength: 200, value: lecture.title });
  const renameForm = h('form', { class: 'inline-form', id: 'rename-form', hidden: true },
    h('label', { for: 'rename-title' }, t('lecture.rename.label')), renameInput,
    h('button', { type: 'submit' }, t('common.save')),
    h('button', { type: 'button', class: 'secondary', onclick: () => { renameForm.hidden = true; } }, t('common.cancel')));
  renameForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      lecture = await ctx.api('PATCH', `/lectures/${id}`, { title: renameInput.value.trim() });
      renameForm.hidden = true;
      paint();
      ctx.app.notify(t('lecture.renamed'));
    } catch (e) { ctx.app.fail(e); }
  });
  const del = async () => {
    if (!window.confirm(t('lecture.delete.confirm', { title: lecture.title }))) return;
    try {
      await ctx.api('DELETE', `/lectures/${id}`);
      ctx.app.notify(t('lecture.deleted'));
      ctx.app.navigate('/lectures');
    } catch (e) { ctx.app.fail(e); }
  };

  const requests = h('div', { id: 'requests' });
  const members = h('div', { id: 'members' });
  const loadPeople = async () => {
    const [reqs, mems] = await Promise.all([
      all(`/lectures/${id}/enrollments?status=waiting`),
      all(`/lectures/${id}/students`),
    ]);
    clear(requests).append(reqs.items.length ? table(t('lecture.requests'),
      [t('col.name'), t('col.email'), t('col.requested'), t('col.actions')],
      reqs.items.map((e) => [e.student_name, e.student_email, ctx.i18n.dateTime(e.created_at),
        h('span', { class: 'row-actions' },
          h('button', { type: 'button', 'aria-label': t('lecture.accept.label', { name: e.student_name }),
            onclick: () => decide(e, 'accept') }, t('lecture.accept')),
          h('button', { type: 'button', class: 'secondary', 'aria-label': t('lecture.reject.label', { name: e.student_name }),
            onclick: () => decide(e, 'reject') }, t('lecture.reject')))]))
      : h('p', { class: 'muted' }, t('lecture.requests.empty')));
    clear(members).append(mems.items.length ? table(t('lecture.members'),
      [t('col.name'), t('col.email'), t('col.joined'), t('col.actions')],
      mems.items.map((m) => [m.name, m.email, ctx.i18n.dateTime(m.joined_at),
        h('button', { type: 'button', class: 'danger', 'aria-label': t('lecture.remove.label', { name: m.name }),
          onclick: () => remove(m) }, t('lecture.remove'))]))
      : h('p', { class: 'muted' }, t('lecture.members.empty')));
  };
  const decide = async (e, what) => {
    try {
      await ctx.api('POST', `/enrollments/${e.id}/${what}`);
      ctx.app.notify(t(what === 'accept' ? 'lecture.accepted' : 'lecture.rejected', { name: e.student_name }));
      await loadPeople();
    } catch (err) { ctx.app.fail(err); }
  };
  const remove = async (m) => {
    if (!window.confirm(t('lecture.remove.confirm', { name: m.name }))) return;
    try {
      await ctx.api('DELETE', `/lectures/${id}/students/${m.student_id}`);
      ctx.app.notify(t('lecture.removed', { name: m.name }));
      await loadPeople();
    } catch (err) { ctx.app.fail(err); }
  };
  await loadPeople();

  // Attendance: a date range, a table, and a CSV link (a plain GET with the cookie).
  const today = new Date();
  const from = h('input', { type: 'date', id: 'att-from', value: isoDay(new Date(today.getTime() - 6 * 864e5)) });
  const to = h('input', { type: 'date', id: 'att-to', value: isoDay(today) });
  const csv = h('a', { id: 'att-csv', class: 'button secondary', download: '' }, t('att.csv'));
  const attTable = h('div', { id: 'attendance' });
  const loadAttendance = async () => {
    const q = `from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;
    csv.href = `/api/v1/lectures/${id}/attendance?${q}&format=csv`;
    const att = await ctx.api('GET', `/lectures/${id}/attendance?${q}`);
    clear(attTable).append(att.items.length ? table(t('att.title'),
      [t('col.name'), t('col.email'), t('att.day'), t('att.first'), t('att.last'), t('att.minutes')],
      att.items.map((r) => [r.name, r.email, r.day, ctx.i18n.time(r.first_seen), ctx.i18n.time(r.last_seen),
        ctx.i18n.number(Math.round(r.connected_seconds / 60))]))
      : h('p', { class: 'muted' }, t('att.empty')));
  };
  const attForm = h('form', { class: 'inline-form', id: 'att-form' },
    h('label', { for: 'att-from' }, t('att.from')), from,
    h('label', { for: 'att-to' }, t('att.to')), to,
    h('button', { type: 'submit', class: 'secondary' }, t('att.show')), csv);
  attForm.addEventListener('submit', (ev) => { ev.preventDefault(); loadAttendance().catch((e) => ctx.app.fail(e)); });
  await loadAttendance();

  paint();
  root.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/lectures' }, t('nav.lectures'))),
    h('div', { class: 'title-row' }, title, state),
    h('div', { class: 'toolbar' },
      h('a', { class: 'button', id: 'open-monitor', href: `#/lectures/${id}/monitor` }, t('lecture.monitor')),
      toggle,
      h('a', { class: 'button secondary', id: 'open-audit', href: `#/lectures/${id}/audit` }, t('lecture.audit')),
      h('button', { type: 'button', class: 'secondary', id: 'rename',
        onclick: () => { renameForm.hidden = false; renameInput.focus(); } }, t('lecture.rename')),
      h('button', { type: 'button', class: 'danger', id: 'delete', onclick: del }, t('lecture.delete'))),
    renameForm,
    h('section', { class: 'card code-card', 'aria-labelledby': 'code-h' },
      h('h2', { id: 'code-h' }, t('lecture.code')),
      h('p', { class: 'join-code', id: 'join-code' }, lecture.code),
      h('p', { class: 'muted' }, t('lecture.code.help')),
      h('a', { href: `#/lectures/${id}/code`, id: 'project-code' }, t('lecture.code.project'))),
    h('section', { 'aria-labelledby': 'req-h' },
      h('div', { class: 'title-row' }, h('h2', { id: 'req-h' }, t('lecture.requests')),
        h('button', { type: 'button', class: 'secondary small', id: 'refresh-people',
          onclick: () => loadPeople().catch((e) => ctx.app.fail(e)) }, t('lecture.refresh'))),
      requests),
    h('section', { 'aria-labelledby': 'mem-h' }, h('h2', { id: 'mem-h' }, t('lecture.members')), members),
    h('section', { 'aria-labelledby': 'att-h' }, h('h2', { id: 'att-h' }, t('att.title')), attForm, attTable));
  return root;
}

// codeView shows the join code as large as the screen allows, for a projector.
export async function codeView(ctx) {
  const lecture = await ctx.api('GET', `/lectures/${ctx.params[0]}`);
  return h('section', { class: 'projector' },
    h('h1', {}, lecture.title),
    h('p', { class: 'muted' }, ctx.t('lecture.code.help')),
    h('p', { class: 'projector-code', id: 'projector-code', 'aria-label': ctx.t('lecture.code') }, lecture.code),
    h('p', {}, h('a', { href: `#/lectures/${lecture.id}` }, ctx.t('common.back'))));
}

// auditView shows the audit log a page at a time (#/lectures/7/audit?page=2),
// newest first.
export async function auditView(ctx) {
  const { t } = ctx;
  const id = ctx.params[0];
  const page = Math.max(1, Number(ctx.params[1] || 1));
  const size = 50;
  const [lecture, audit, mems] = await Promise.all([
    ctx.api('GET', `/lectures/${id}`),
    ctx.api('GET', `/lectures/${id}/audit?page=${page}&size=${size}`),
    all(`/lectures/${id}/students`),
  ]);
  const names = new Map(mems.items.map((m) => [m.student_id, m.name]));
  names.set(ctx.app.user.id, ctx.app.user.name);
  const who = (uid) => names.get(uid) || (uid ? '#' + uid : '');
  const action = (a) => (ctx.i18n.has('audit.action.' + a) ? t('audit.action.' + a) : a);
  const pages = Math.max(1, Math.ceil(audit.total / size));
  const link = (p, key, rel) => h('a', { href: `#/lectures/${id}/audit?page=${p}`, rel, id: `audit-${rel}` }, t(key));
  return h('section', {},
    h('p', { class: 'crumbs' }, h('a', { href: '#/lectures' }, t('nav.lectures')), ' / ',
      h('a', { href: `#/lectures/${id}` }, lecture.title)),
    h('h1', {}, t('audit.title', { title: lecture.title })),
    audit.items.length ? table(t('lecture.audit'),
      [t('audit.at'), t('audit.actor'), t('audit.action'), t('audit.subject'), t('audit.detail')],
      audit.items.map((r) => [ctx.i18n.stamp(r.at), who(r.actor_id), action(r.action), who(r.subject_id), r.detail || '']))
      : h('p', { class: 'muted', id: 'audit-empty' }, t('audit.empty')),
    pages > 1 ? h('nav', { class: 'pager', 'aria-label': t('lecture.audit') },
      page > 1 ? link(page - 1, 'common.prev', 'prev') : null,
      h('span', { id: 'audit-page' }, t('common.page', { page, pages })),
      page < pages ? link(page + 1, 'common.next', 'next') : null) : null);
}
