// Classroom controls on the monitoring grid: the professor selects tiles
// (a tick, a click on the tile's name row, shift-click for a range) and
// locks, blanks, unlocks, sends a message or opens a web page on the
// selection, or on everyone when nothing is selected. Each tile shows the
// student's latest result (pending → delivered → applied, or failed with
// the reason), their lock, a raised hand and their answer to a message,
// kept live by the classroom stream (the state again after every hello).
import { h } from '../dom.js';
import { ApiError } from '../api.js';

const maxText = 500; // wire.MaxCommandText
const stateRank = { pending: 0, delivered: 1, applied: 2, failed: 2 };

export function classroom(ctx, id, { grid, tiles, active }) {
  const { t } = ctx;
  const selected = new Set(); // student ids
  let anchor = 0; // the last tile ticked or unticked, for shift-click ranges
  const locks = new Map(); // student id → ScreenLock
  const hands = new Map(); // student id → raised_at
  const latest = new Map(); // student id → CommandResult of the newest command
  const replies = new Map(); // student id → {command_id, reply}

  // ---- toolbar ----
  const selCount = h('span', { id: 'sel-count', class: 'muted', 'aria-live': 'polite' });
  const selAll = h('button', { type: 'button', class: 'secondary small', id: 'sel-all', onclick: () => selectAll(true) }, t('cls.selectall'));
  const selClear = h('button', { type: 'button', class: 'secondary small', id: 'sel-clear', onclick: () => selectAll(false) }, t('cls.clear'));
  const target = h('span', { id: 'cmd-target', class: 'target' });
  const cmdButton = (kind, cls, onclick) => h('button', { type: 'button', class: cls, id: 'cmd-' + kind.replace('_', '-'),
    dataset: { kind }, disabled: !active, onclick }, t('cls.btn.' + kind));
  const buttons = [
    cmdButton('lock', '', () => openDialog('lock')),
    cmdButton('blank', 'secondary', () => send('blank', {})),
    cmdButton('unlock', 'secondary', () => send('unlock', {})),
    cmdButton('message', 'secondary', () => openDialog('message')),
    cmdButton('open_url', 'secondary', () => openDialog('open_url')),
  ];
  // The counter: a hand and the number; its words for screen readers.
  const handsNum = h('span', { class: 'num' });
  const handsCount = h('span', { id: 'hands-count', class: 'hands-count ico ico-hand', role: 'status', hidden: true },
    h('span', { class: 'visually-hidden' }, t('cls.hands')), ' ', handsNum);
  const toolbar = h('div', { class: 'toolbar classroom', id: 'classroom-bar', role: 'toolbar', 'aria-label': t('cls.toolbar') },
    h('span', { class: 'group' }, selAll, selClear, selCount),
    h('span', { class: 'group commands' }, target, buttons),
    handsCount,
    active ? null : h('span', { class: 'muted small', id: 'cmd-inactive' }, t('cls.inactive')));

  let toolbarKey = '';
  const paintToolbar = () => {
    const n = selected.size;
    const raised = [...hands.keys()].filter((sid) => tiles.has(sid)).length;
    const key = `${n}/${tiles.size}/${raised}`;
    if (key === toolbarKey) return; // the grid repaints every second
    toolbarKey = key;
    selCount.textContent = t('cls.selected', { n });
    selCount.hidden = n === 0;
    selClear.disabled = n === 0;
    selAll.disabled = tiles.size === 0 || n === tiles.size;
    target.textContent = n ? t('cls.target.some', { n }) : t('cls.target.all');
    for (const b of buttons) {
      const label = n ? t('cls.btn.' + b.dataset.kind + '.some', { n }) : t('cls.btn.' + b.dataset.kind + '.all');
      b.title = label;
      b.setAttribute('aria-label', label);
    }
    handsCount.hidden = raised === 0;
    handsNum.textContent = String(raised);
    handsCount.title = t('cls.hands.title', { n: raised });
  };

  // ---- selection ----
  const setSelected = (sid, on) => {
    const tile = tiles.get(sid);
    if (!tile || !tile.cls) return;
    if (on) selected.add(sid); else selected.delete(sid);
    tile.cls.box.checked = on;
    tile.el.classList.toggle('selected', on);
    tile.el.setAttribute('aria-selected', on ? 'true' : 'false');
  };
  const selectAll = (on) => {
    for (const sid of tiles.keys()) setSelected(sid, on);
    anchor = 0;
    paintToolbar();
  };
  // toggle ticks one tile, or (shift) every tile between the last one and
  // this one, in the order the grid shows them.
  const toggle = (sid, on, range) => {
    if (range && anchor && anchor !== sid && tiles.has(anchor)) {
      const order = [...grid.children].map((c) => Number(c.dataset.student));
      const a = order.indexOf(anchor);
      const b = order.indexOf(sid);
      if (a >= 0 && b >= 0) {
        for (let i = Math.min(a, b); i <= Math.max(a, b); i++) setSelected(order[i], on);
      }
    } else {
      setSelected(sid, on);
    }
    anchor = sid;
    paintToolbar();
  };

  // attach adds the tick and the classroom row to a new tile.
  const attach = (tile) => {
    const sid = tile.data.student_id;
    const name = () => tile.data.name;
    const box = h('input', { type: 'checkbox', class: 'select', 'aria-label': t('cls.select', { name: name() }) });
    const lockMark = h('span', { class: 'lockmark ico ico-lock', hidden: true });
    const lower = h('button', { type: 'button', class: 'small secondary lower', 'aria-label': t('cls.lower.label', { name: name() }),
      onclick: () => lowerHand(sid) }, t('cls.lower'));
    const hand = h('span', { class: 'hand', hidden: true }, h('span', { class: 'hand-mark ico ico-hand' }, t('cls.hand')), lower);
    const result = h('span', { class: 'result', hidden: true });
    const reply = h('p', { class: 'reply', hidden: true });
    const row = h('div', { class: 'tile-class', hidden: true }, lockMark, hand, result, reply);
    tile.el.prepend(box);
    tile.el.append(row);
    tile.el.setAttribute('aria-selected', 'false');
    tile.cls = { box, lockMark, hand, result, reply, row, painted: {} };
    // A click on the tile outside its picture, links and buttons ticks it;
    // the picture still opens the live session, ⤢ still enlarges.
    tile.el.addEventListener('click', (ev) => {
      if (ev.target === box) { toggle(sid, box.checked, ev.shiftKey); return; }
      if (ev.target.closest('a, button, input, dialog')) return;
      toggle(sid, !selected.has(sid), ev.shiftKey);
    });
    paintTile(tile);
    paintToolbar();
  };

  const detach = (sid) => {
    selected.delete(sid);
    if (anchor === sid) anchor = 0;
    paintToolbar();
  };

  // ---- per-tile state ----
  const paintTile = (tile) => {
    const c = tile.cls;
    if (!c) return;
    const sid = tile.data.student_id;
    const lock = locks.get(sid);
    const raised = hands.get(sid);
    const res = latest.get(sid);
    const rep = replies.get(sid);
    const lockText = lock ? t(lock.mode === 'blank' ? 'cls.blanked' : 'cls.locked') : '';
    c.lockMark.hidden = !lock;
    c.lockMark.textContent = lockText;
    c.lockMark.title = lock && lock.message ? lock.message : '';
    tile.el.classList.toggle('locked', !!lock);
    tile.el.classList.toggle('blanked', !!lock && lock.mode === 'blank');
    c.hand.hidden = !raised;
    c.hand.title = raised ? t('cls.hand.at', { time: ctx.i18n.time(raised) }) : '';
    tile.el.classList.toggle('hand-up', !!raised);
    if (res) {
      c.result.hidden = false;
      c.result.className = 'result ' + res.state;
      c.result.dataset.state = res.state;
      c.result.dataset.kind = res.kind || '';
      const label = t('cls.result', { kind: t('cls.kind.' + (res.kind || 'command')), state: t('cls.state.' + res.state) });
      c.result.textContent = res.state === 'failed' && res.reason ? `${label} — ${res.reason}` : label;
      c.result.title = res.reason || ctx.i18n.time(res.at);
    } else {
      c.result.hidden = true;
    }
    c.reply.hidden = !rep;
    c.reply.textContent = rep ? rep.reply : '';
    if (rep) c.reply.setAttribute('aria-label', t('cls.reply.label', { name: tile.data.name, text: rep.reply }));
    c.row.hidden = !lock && !raised && !res && !rep;
  };
  const paintAll = () => { for (const tile of tiles.values()) paintTile(tile); paintToolbar(); };
  const paintOne = (sid) => { const tile = tiles.get(sid); if (tile) paintTile(tile); };

  // mergeResult keeps the newest command's result; within one command a
  // state never goes back (events may overtake each other).
  const mergeResult = (r) => {
    const cur = latest.get(r.student_id);
    if (cur && cur.command_id > r.command_id) return;
    if (cur && cur.command_id === r.command_id && stateRank[r.state] < stateRank[cur.state]) {
      r = { ...r, state: cur.state, reason: cur.reason };
    }
    latest.set(r.student_id, r);
    if (r.reply) replies.set(r.student_id, { command_id: r.command_id, reply: r.reply });
    paintOne(r.student_id);
  };

  const setLocks = (list) => {
    const before = new Set(locks.keys());
    locks.clear();
    for (const k of list || []) locks.set(k.student_id, k);
    for (const sid of new Set([...before, ...locks.keys()])) paintOne(sid);
  };

  const applyState = (s) => {
    setLocks(s.locks);
    hands.clear();
    for (const x of s.hands || []) hands.set(x.student_id, x.raised_at);
    latest.clear();
    for (const r of s.latest || []) mergeResult(r);
    paintAll();
  };

  const lowerHand = async (sid) => {
    try {
      await ctx.api('DELETE', `/lectures/${id}/hands/${sid}`);
      hands.delete(sid);
      paintOne(sid);
      paintToolbar();
    } catch (e) { ctx.app.fail(e); }
  };

  // ---- commands ----
  const students = () => [...selected].filter((sid) => tiles.has(sid));
  const send = async (kind, extra) => {
    const ids = students();
    const body = { kind, student_ids: ids, ...extra };
    const cmd = await ctx.api('POST', `/lectures/${id}/commands`, body).catch((e) => {
      if (e instanceof ApiError && e.status === 422) throw e; // the dialog shows the fields
      ctx.app.fail(e);
      return null;
    });
    if (!cmd) return false;
    for (const r of cmd.results || []) {
      if (kind === 'message') replies.delete(r.student_id);
      mergeResult({ ...r, kind: r.kind || kind });
    }
    ctx.app.notify(t('cls.sent', { kind: t('cls.kind.' + kind), n: (cmd.results || []).length }));
    return true;
  };

  // The dialog of lock (an optional message), message and open_url.
  let dlgKind = '';
  const dlgTitle = h('h2', { id: 'cmd-dialog-title' });
  const dlgTo = h('p', { class: 'muted', id: 'cmd-dialog-to' });
  const textLabel = h('label', { for: 'cmd-text' });
  const textInput = h('input', { type: 'text', id: 'cmd-text', maxlength: maxText, autocomplete: 'off', 'aria-describedby': 'cmd-text-hint cmd-text-error' });
  const textHint = h('p', { class: 'hint', id: 'cmd-text-hint' });
  const textError = h('p', { class: 'form-error', id: 'cmd-text-error', role: 'alert' });
  const textField = h('div', { class: 'field' }, textLabel, textInput, textHint, textError);
  const urlInput = h('input', { type: 'url', id: 'cmd-url', autocomplete: 'url', spellcheck: 'false', placeholder: 'https://', 'aria-describedby': 'cmd-url-hint cmd-url-error' });
  const urlError = h('p', { class: 'form-error', id: 'cmd-url-error', role: 'alert' });
  const urlField = h('div', { class: 'field' }, h('label', { for: 'cmd-url' }, t('cls.field.url')), urlInput,
    h('p', { class: 'hint', id: 'cmd-url-hint' }, t('cls.hint.url')), urlError);
  const formError = h('p', { class: 'form-error', id: 'cmd-error', role: 'alert' });
  const submit = h('button', { type: 'submit', id: 'cmd-send' });
  const form = h('form', { novalidate: true, onsubmit: (ev) => { ev.preventDefault(); submitDialog(); } },
    dlgTitle, dlgTo, textField, urlField, formError,
    h('div', { class: 'actions gap' },
      h('button', { type: 'button', class: 'secondary', id: 'cmd-cancel', onclick: () => dialog.close() }, t('common.cancel')), submit));
  const dialog = h('dialog', { id: 'cmd-dialog', class: 'small-dialog', 'aria-labelledby': 'cmd-dialog-title' }, form);
  const paintChars = () => { textHint.textContent = t(dlgKind === 'lock' ? 'cls.hint.lockmsg' : 'cls.hint.text', { n: textInput.value.length, max: maxText }); };
  textInput.addEventListener('input', paintChars);

  const clearErrors = () => {
    for (const [input, el] of [[textInput, textError], [urlInput, urlError]]) { el.textContent = ''; input.removeAttribute('aria-invalid'); }
    formError.textContent = '';
  };
  const openDialog = (kind) => {
    dlgKind = kind;
    clearErrors();
    const n = students().length;
    dlgTitle.textContent = t('cls.dlg.' + kind);
    dlgTo.textContent = n ? t('cls.dlg.to.some', { n }) : t('cls.dlg.to.all');
    textField.hidden = kind === 'open_url';
    urlField.hidden = kind !== 'open_url';
    textLabel.textContent = t(kind === 'lock' ? 'cls.field.lockmsg' : 'cls.field.text');
    submit.textContent = t('cls.send.' + kind);
    if (kind !== 'open_url') textInput.value = '';
    paintChars();
    dialog.showModal();
    (kind === 'open_url' ? urlInput : textInput).focus();
  };
  const submitDialog = async () => {
    clearErrors();
    const extra = dlgKind === 'open_url' ? { url: urlInput.value.trim() } : { text: textInput.value.trim() };
    submit.disabled = true;
    try {
      if (await send(dlgKind, extra)) dialog.close();
    } catch (e) {
      // 422: say what is wrong next to the field the server names.
      const fields = (e.problem && e.problem.errors) || [];
      let focus = null;
      for (const f of fields) {
        const pair = f.field === 'url' ? [urlInput, urlError] : f.field === 'text' ? [textInput, textError] : null;
        if (pair && !pair[0].closest('[hidden]')) {
          pair[1].textContent = f.message;
          pair[0].setAttribute('aria-invalid', 'true');
          focus = focus || pair[0];
        } else {
          formError.textContent = (formError.textContent ? formError.textContent + ' ' : '') + `${t('field.' + f.field)}: ${f.message}`;
        }
      }
      if (!fields.length) formError.textContent = ctx.app.errorText(e);
      if (focus) focus.focus();
    } finally {
      submit.disabled = false;
    }
  };

  // ---- live: state, then the stream (the state again on every hello) ----
  let es = null;
  const reread = () => ctx.api('GET', `/lectures/${id}/classroom`).then(applyState).catch((e) => ctx.app.fail(e));
  const start = (initial) => {
    if (initial) applyState(initial);
    es = new EventSource(`/api/v1/lectures/${id}/classroom/stream`);
    // Every hello (the first too: something may have changed between the
    // state and the stream's start) re-reads the state.
    es.addEventListener('hello', reread);
    es.addEventListener('classroom', (ev) => {
      let d;
      try { d = JSON.parse(ev.data); } catch { return; }
      if (d.result) mergeResult(d.result);
      if (d.hand) {
        if (d.raised) hands.set(d.hand.student_id, d.hand.raised_at); else hands.delete(d.hand.student_id);
        paintOne(d.hand.student_id);
      }
      if (d.locks_changed) setLocks(d.locks);
      paintToolbar();
    });
    // EventSource reconnects by itself; hello then re-reads the state.
  };
  const stop = () => {
    if (es) es.close();
    if (dialog.open) dialog.close();
  };

  paintToolbar();
  return { toolbar, dialog, attach, detach, start, stop, paintToolbar };
}
