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
  // One primary action at a time: while monitoring is off it is "switch on
  // and open the grid"; while on, "open monitoring". The plain switch stays
  // beside it as a secondary button.
  const toggle = h('button', { type: 'button', id: 'toggle-active', class: 'secondary' });
  const start = h('button', { type: 'button', id: 'start-class' }, t('lecture.start'));
  const openMonitor = h('a', { id: 'open-monitor', href: `#/lectures/${id}/monitor` }, t('lecture.monitor'));
  const offHelp = h('p', { class: 'muted', id: 'lecture-off-help' }, t('lecture.off.help'));
  const paint = () => {
    title.textContent = lecture.title;
    clear(state).append(t('lecture.state', { state: '' }),
      h('span', { class: 'badge ' + (lecture.active ? 'on' : 'off') }, lecture.active ? t('status.active') : t('status.inactive')));
    toggle.textContent = lecture.active ? t('lecture.deactivate') : t('lecture.activate');
    start.hidden = lecture.active;
    offHelp.hidden = lecture.active;
    openMonitor.className = lecture.active ? 'button' : 'button secondary';
  };
  start.addEventListener('click', async () => {
    try {
      lecture = await ctx.api('POST', `/lectures/${id}/activate`);
      ctx.app.notify(t('lecture.activated'));
      ctx.app.navigate(`/lectures/${id}/monitor`);
    } catch (e) { ctx.app.fail(e); }
  });
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
  const selected = new Set(); // ids of the ticked join requests, kept across redraws
  let waiting = [];
  const bulkBar = h('div', { class: 'toolbar bulk', id: 'bulk-bar' });
  const paintBulk = () => {
    const n = [...selected].filter((x) => waiting.some((e) => e.id === x)).length;
    clear(bulkBar).append(
      h('button', { type: 'button', id: 'accept-all', disabled: !waiting.length, onclick: () => bulk('accept', null) },
        t('lecture.accept.all', { n: waiting.length })),
      h('button', { type: 'button', class: 'secondary', id: 'accept-selected', disabled: !n,
        onclick: () => bulk('accept', [...selected]) }, t('lecture.accept.selected', { n })),
      h('button', { type: 'button', class: 'secondary', id: 'reject-selected', disabled: !n,
        onclick: () => bulk('reject', [...selected]) }, t('lecture.reject.selected', { n })));
    bulkBar.hidden = !waiting.length;
  };
  const loadPeople = async () => {
    const [reqs, mems] = await Promise.all([
      all(`/lectures/${id}/enrollments?status=waiting`),
      all(`/lectures/${id}/students`),
    ]);
    waiting = reqs.items;
    for (const x of [...selected]) if (!waiting.some((e) => e.id === x)) selected.delete(x);
    const tickAll = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': t('lecture.select.all'),
      checked: waiting.length > 0 && selected.size === waiting.length });
    tickAll.addEventListener('change', () => {
      for (const e of waiting) { if (tickAll.checked) selected.add(e.id); else selected.delete(e.id); }
      for (const box of requests.querySelectorAll('input[data-enrollment]')) box.checked = tickAll.checked;
      paintBulk();
    });
    clear(requests).append(waiting.length ? table(t('lecture.requests'),
      [tickAll, t('col.name'), t('col.email'), t('col.requested'), t('col.actions')],
      waiting.map((e) => {
        const box = h('input', { type: 'checkbox', dataset: { enrollment: String(e.id) }, checked: selected.has(e.id),
          'aria-label': t('lecture.select.label', { name: e.student_name }) });
        box.addEventListener('change', () => {
          if (box.checked) selected.add(e.id); else selected.delete(e.id);
          tickAll.checked = selected.size === waiting.length;
          paintBulk();
        });
        return [box, e.student_name, e.student_email, ctx.i18n.dateTime(e.created_at),
          h('span', { class: 'row-actions' },
            h('button', { type: 'button', 'aria-label': t('lecture.accept.label', { name: e.student_name }),
              onclick: () => decide(e, 'accept') }, t('lecture.accept')),
            h('button', { type: 'button', class: 'secondary', 'aria-label': t('lecture.reject.label', { name: e.student_name }),
              onclick: () => decide(e, 'reject') }, t('lecture.reject')))];
      }))
      : h('p', { class: 'muted' }, t('lecture.requests.empty')));
    paintBulk();
    clear(members).append(mems.items.length ? table(t('lecture.members'),
      [t('col.name'), t('col.email'), t('col.number'), t('col.joined'), t('col.actions')],
      mems.items.map((m) => [m.name, m.email, m.student_number || '', ctx.i18n.dateTime(m.joined_at),
        h('span', { class: 'row-actions' },
          h('button', { type: 'button', class: 'secondary', 'aria-label': t('lecture.reset.label', { name: m.name }),
            onclick: () => resetCode(m) }, t('lecture.reset')),
          h('button', { type: 'button', class: 'danger', 'aria-label': t('lecture.remove.label', { name: m.name }),
            onclick: () => remove(m) }, t('lecture.remove')))]))
      : h('p', { class: 'muted' }, t('lecture.members.empty')));
  };
  // Redraws triggered by the stream are coalesced: 30 requests arriving in
  // the same second cost one reload, not 30.
  let reloadTimer = 0;
  const reloadSoon = () => {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = 0;
      if (ctx.alive()) loadPeople().catch((e) => ctx.app.fail(e));
    }, 150);
  };
  const decide = async (e, what) => {
    try {
      await ctx.api('POST', `/enrollments/${e.id}/${what}`);
      ctx.app.notify(t(what === 'accept' ? 'lecture.accepted' : 'lecture.rejected', { name: e.student_name }));
      selected.delete(e.id);
      await loadPeople();
    } catch (err) { ctx.app.fail(err); }
  };
  // bulk decides the listed requests (ids) or, for accept with ids null,
  // every waiting one; requests that could not be decided are named.
  const bulk = async (what, ids) => {
    try {
      const res = await ctx.api('POST', `/lectures/${id}/enrollments/${what}`, ids ? { ids } : { all: true });
      for (const r of res.results) if (r.ok) selected.delete(r.id);
      const names = new Map(waiting.map((e) => [e.id, e.student_name]));
      const failed = res.results.filter((r) => !r.ok).map((r) => `${names.get(r.id) || '#' + r.id}: ${r.detail || r.code}`);
      const key = what === 'accept' ? 'lecture.bulk.accepted' : 'lecture.bulk.rejected';
      const msg = t(key, { n: res.succeeded }) + (failed.length ? ' ' + t('lecture.bulk.failed', { list: failed.join('; ') }) : '');
      ctx.app.notify(msg, failed.length > 0);
      await loadPeople();
    } catch (err) { ctx.app.fail(err); }
  };
  const resetOut = h('div', { class: 'card', id: 'reset-out', role: 'status', hidden: true });
  const resetCode = async (m) => {
    if (!window.confirm(t('lecture.reset.confirm', { name: m.name }))) return;
    try {
      const rc = await ctx.api('POST', `/lectures/${id}/students/${m.student_id}/reset-code`);
      clear(resetOut).append(
        h('p', {}, t('lecture.reset.show', { name: m.name })),
        h('p', { class: 'join-code reset-code', id: 'reset-code' }, rc.code),
        h('p', { class: 'muted' }, t('lecture.reset.help', { time: ctx.i18n.time(rc.expires_at), url: location.origin })),
        h('button', { type: 'button', class: 'secondary small', onclick: () => { clear(resetOut); resetOut.hidden = true; } },
          t('common.close')));
      resetOut.hidden = false;
      resetOut.scrollIntoView({ block: 'nearest' });
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

  // Roster: add one student by e-mail, or import a class list CSV. A refused
  // import lists its bad lines; nothing of it was applied.
  const addEmail = h('input', { id: 'add-email', type: 'email', required: true, maxlength: 254, autocomplete: 'off' });
  const addNumber = h('input', { id: 'add-number', maxlength: 64, autocomplete: 'off' });
  const addForm = h('form', { class: 'inline-form', id: 'add-student' },
    h('label', { for: 'add-email' }, t('roster.email')), addEmail,
    h('label', { for: 'add-number' }, t('roster.number')), addNumber,
    h('button', { type: 'submit' }, t('roster.add')));
  addForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const m = await ctx.api('POST', `/lectures/${id}/students`, { email: addEmail.value.trim(), student_number: addNumber.value.trim() });
      ctx.app.notify(t('roster.added', { name: m.name }));
      addEmail.value = ''; addNumber.value = '';
      await loadPeople();
    } catch (err) { ctx.app.fail(err); }
  });
  const csvFile = h('input', { id: 'roster-file', type: 'file', accept: '.csv,text/csv', required: true });
  const importOut = h('div', { id: 'roster-result', role: 'status' });
  const importForm = h('form', { class: 'inline-form', id: 'roster-import' },
    h('label', { for: 'roster-file' }, t('roster.file')), csvFile,
    h('button', { type: 'submit', class: 'secondary' }, t('roster.import')));
  importForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = csvFile.files[0];
    if (!file) return;
    clear(importOut);
    try {
      const res = await ctx.api('POST', `/lectures/${id}/roster`, await file.text(), 'text/csv');
      importOut.append(h('p', { class: 'ok' }, t('roster.imported', { rows: res.rows, added: res.added, already: res.already })));
      csvFile.value = '';
      await loadPeople();
    } catch (err) {
      const rows = (err.problem && err.problem.rows) || [];
      if (!rows.length) { ctx.app.fail(err); return; }
      importOut.append(h('p', { class: 'warn' }, t('roster.refused', { n: rows.length })),
        table(t('roster.errors'), [t('roster.line'), t('col.email'), t('roster.problem')],
          rows.map((r) => [String(r.line), r.email || '', r.message])));
    }
  });

  // Join requests arrive by themselves over SSE; after a reconnect the list
  // is read again (events are not replayed). While the stream cannot be
  // opened at all, the list is polled.
  const liveState = h('span', { class: 'muted small', id: 'requests-live' });
  let es = null;
  let poll = 0;
  let connectedOnce = false;
  const openStream = () => {
    es = new EventSource(`/api/v1/lectures/${id}/enrollments/stream`);
    es.addEventListener('hello', () => {
      liveState.textContent = t('lecture.requests.live');
      if (connectedOnce) reloadSoon();
      connectedOnce = true;
      if (poll) { clearInterval(poll); poll = 0; }
    });
    es.addEventListener('enrollment', reloadSoon);
    es.addEventListener('error', () => {
      if (!ctx.alive()) return;
      liveState.textContent = t('mon.reconnecting');
      if (es.readyState === EventSource.CLOSED) {
        if (!poll) poll = setInterval(reloadSoon, 5000);
        setTimeout(() => { if (ctx.alive() && es.readyState === EventSource.CLOSED) openStream(); }, 15000);
      }
    });
  };
  openStream();
  ctx.onLeave(() => {
    es.close();
    if (poll) clearInterval(poll);
    if (reloadTimer) clearTimeout(reloadTimer);
  });
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
    offHelp,
    h('div', { class: 'toolbar' },
      start, openMonitor,
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
      h('div', { class: 'title-row' }, h('h2', { id: 'req-h' }, t('lecture.requests')), liveState,
        h('button', { type: 'button', class: 'secondary small', id: 'refresh-people',
          onclick: () => loadPeople().catch((e) => ctx.app.fail(e)) }, t('lecture.refresh'))),
      bulkBar, requests),
    h('section', { 'aria-labelledby': 'mem-h' }, h('h2', { id: 'mem-h' }, t('lecture.members')),
      h('p', { class: 'muted' }, t('roster.help')), addForm, importForm, importOut, resetOut, members),
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
    // Students setting up the app for the first time also need the server.
    h('p', { class: 'projector-server', id: 'projector-server' }, ctx.t('lecture.code.server', { url: location.origin })),
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
