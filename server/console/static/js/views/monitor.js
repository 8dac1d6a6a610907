// Monitoring grid: every member's latest frame, kept fresh by the SSE
// stream (a snapshot first, and again after each reconnect). Only tiles in
// view load their frames, so a class of 100 stays cheap.
import { h } from '../dom.js';
import { classroom } from './classroom.js';

// An unchanged screen is confirmed by a keep-alive every third interval
// (6 s while watched): a picture older than that plus slack may be out of date.
const staleAfterMs = 10000;
const offlineAfterMs = 60000; // the server's frame TTL
const sizeKey = 'didacto.tileSize';
// Larger frames while the professor looks closer (the server's focus lease
// is 15 s; renewed well within it).
const thumbWidth = 320;
const maxFocusWidth = 1280;
const focusRenewMs = 5000;

export async function view(ctx) {
  const { t } = ctx;
  const id = ctx.params[0];
  const [lecture, snap, classState] = await Promise.all([
    ctx.api('GET', `/lectures/${id}`),
    ctx.api('GET', `/lectures/${id}/monitor`),
    ctx.api('GET', `/lectures/${id}/classroom`),
  ]);
  let offset = Date.parse(snap.server_now) - Date.now(); // server clock minus ours
  const tiles = new Map();
  const grid = h('div', { class: 'grid', id: 'grid', role: 'list' });
  const count = h('p', { id: 'mon-count', class: 'muted', 'aria-live': 'polite' });
  const status = h('p', { id: 'mon-status', class: 'warn', hidden: true, role: 'status' });
  const empty = h('p', { class: 'muted', id: 'mon-empty', hidden: true }, t('mon.empty'));
  // Classroom controls: selection, commands, results, locks, hands.
  const cls = classroom(ctx, id, { grid, tiles, active: lecture.active });

  const saved = Number(localStorage.getItem(sizeKey)) || 240;
  const slider = h('input', { type: 'range', id: 'tile-size', min: 120, max: 560, step: 20, value: saved });
  const applySize = () => {
    grid.style.setProperty('--tile-w', slider.value + 'px');
    localStorage.setItem(sizeKey, slider.value);
  };
  slider.addEventListener('input', applySize);
  applySize();

  // Focus: ask for frames as sharp as the tiles are shown. The enlarged
  // tile's student sends large frames every second; tiles larger than a
  // thumbnail ask the whole lecture for wider ones. Both are leases, renewed
  // while they hold, so a closed tab returns the lab to thumbnails.
  const dpr = () => window.devicePixelRatio || 1;
  const focusWidth = (px) => Math.min(maxFocusWidth, Math.round(px * dpr()));
  const postFocus = (body) => ctx.api('POST', `/lectures/${id}/monitor/focus`, body).catch(() => { /* the lease lapses by itself */ });
  let gridFocus = 0;
  const sendFocus = () => {
    const w = focusWidth(Number(slider.value));
    const want = w > thumbWidth ? w : 0;
    if (want || gridFocus) postFocus({ student_ids: [], width: want });
    gridFocus = want;
    if (enlarged) postFocus({ student_ids: [enlarged.data.student_id], width: focusWidth(Math.max(bigImg.clientWidth, 960)) });
  };
  let sizeTimer = 0;
  slider.addEventListener('change', () => { clearTimeout(sizeTimer); sizeTimer = setTimeout(sendFocus, 300); });
  const focusTimer = setInterval(sendFocus, focusRenewMs);

  // Enlarged view: a modal dialog that follows the same tile.
  let enlarged = null;
  const bigImg = h('img', { id: 'enlarged-img', alt: '' });
  const bigTitle = h('h2', { id: 'enlarged-title' });
  const bigLive = h('a', { class: 'button', id: 'enlarged-live' }, '');
  const dialog = h('dialog', { id: 'enlarged', 'aria-labelledby': 'enlarged-title' },
    h('div', { class: 'title-row' }, bigTitle, h('span', { class: 'spacer' }), bigLive,
      h('button', { type: 'button', class: 'secondary', id: 'enlarged-close', onclick: () => dialog.close() }, t('common.close'))),
    bigImg);
  dialog.addEventListener('close', () => {
    if (enlarged) postFocus({ student_ids: [enlarged.data.student_id], width: 0 });
    enlarged = null;
    bigImg.removeAttribute('src');
  });
  const enlarge = (tile) => {
    enlarged = tile;
    bigTitle.textContent = tile.data.name;
    bigLive.textContent = t('mon.live.label', { name: tile.data.name });
    bigLive.href = `#/lectures/${id}/live/${tile.data.student_id}`;
    bigImg.alt = t('mon.screen.alt', { name: tile.data.name });
    if (tile.data.frame_url) bigImg.src = tile.data.frame_url;
    dialog.showModal();
    sendFocus();
  };

  const observer = new IntersectionObserver((entries) => {
    for (const en of entries) {
      const tile = tiles.get(Number(en.target.dataset.student));
      if (!tile) continue;
      tile.visible = en.isIntersecting;
      if (tile.visible) loadFrame(tile);
    }
  }, { rootMargin: '200px' });

  const loadFrame = (tile) => {
    const url = tile.data.frame_url;
    if (!url || !tile.visible || tile.img.dataset.src === url) return;
    tile.img.dataset.src = url;
    tile.img.src = url;
  };

  const makeTile = (d) => {
    const img = h('img', { alt: t('mon.screen.alt', { name: d.name }), decoding: 'async', draggable: 'false' });
    const placeholder = h('span', { class: 'placeholder' }, t('mon.noframe'));
    const badge = h('span', { class: 'badge' });
    const seen = h('span', { class: 'seen' });
    const el = h('article', { class: 'tile', role: 'listitem', dataset: { student: d.student_id } },
      h('a', { class: 'shot', href: `#/lectures/${id}/live/${d.student_id}`, 'aria-label': t('mon.live.label', { name: d.name }) },
        img, placeholder),
      h('div', { class: 'tile-info' },
        h('span', { class: 'name' }, d.name), badge, seen,
        h('button', { type: 'button', class: 'icon enlarge', 'aria-label': t('mon.enlarge.label', { name: d.name }),
          title: t('mon.enlarge'), onclick: () => enlarge(tile) }, '⤢')));
    img.addEventListener('load', () => { el.classList.add('has-frame'); });
    const tile = { data: d, el, img, badge, seen, visible: false, painted: {} };
    cls.attach(tile);
    observer.observe(el);
    return tile;
  };

  // paintTile writes to the DOM only what changed: with 100 tiles, a write
  // per tile per second would keep style and layout busy for nothing.
  const paintTile = (tile, now) => {
    const d = tile.data;
    const seenAt = d.last_seen ? Date.parse(d.last_seen) : 0;
    const age = seenAt ? now - seenAt : Infinity;
    const online = d.online && age < offlineAfterMs;
    const stale = !!d.frame_url && age > staleAfterMs;
    const text = seenText(t, age);
    const p = tile.painted;
    if (p.online !== online) {
      tile.el.classList.toggle('offline', !online);
      tile.badge.className = 'badge ' + (online ? 'on' : 'off');
      tile.badge.textContent = online ? t('mon.online') : t('mon.offline');
      p.online = online;
    }
    if (p.stale !== stale) {
      tile.el.classList.toggle('stale', stale);
      tile.seen.title = stale ? t('mon.stale') : '';
      p.stale = stale;
    }
    if (p.text !== text) {
      tile.seen.textContent = text;
      p.text = text;
    }
    return online;
  };

  const paintAll = () => {
    const now = Date.now() + offset;
    let online = 0;
    for (const tile of tiles.values()) if (paintTile(tile, now)) online++;
    const text = t('mon.count', { online, total: tiles.size });
    if (count.textContent !== text) count.textContent = text;
    empty.hidden = tiles.size > 0;
    cls.paintToolbar();
  };

  const upsert = (d) => {
    let tile = tiles.get(d.student_id);
    if (!tile) {
      tile = makeTile(d);
      tiles.set(d.student_id, tile);
      const after = [...grid.children].find((c) => tiles.get(Number(c.dataset.student)).data.name.localeCompare(d.name) > 0);
      grid.insertBefore(tile.el, after || null);
    } else if (tile.data.version > d.version && d.version !== 0) {
      return; // an older event after a newer snapshot
    }
    tile.data = d;
    loadFrame(tile);
    if (enlarged === tile && d.frame_url) bigImg.src = d.frame_url;
    paintTile(tile, Date.now() + offset);
  };

  const applySnapshot = (s) => {
    offset = Date.parse(s.server_now) - Date.now();
    const seen = new Set();
    for (const d of s.tiles) { seen.add(d.student_id); upsert(d); }
    for (const [sid, tile] of tiles) {
      if (!seen.has(sid)) { observer.unobserve(tile.el); tile.el.remove(); tiles.delete(sid); cls.detach(sid); }
    }
    paintAll();
  };
  sortedByName(snap.tiles).forEach(upsert);
  paintAll();
  cls.start(classState);

  // Live updates: SSE; a snapshot again after every reconnect; polling only
  // while the stream cannot be opened at all.
  let es = null;
  let poll = 0;
  let connectedOnce = false;
  const resync = () => ctx.api('GET', `/lectures/${id}/monitor`).then(applySnapshot).catch((e) => ctx.app.fail(e));
  const openStream = () => {
    es = new EventSource(`/api/v1/lectures/${id}/monitor/stream`);
    es.addEventListener('hello', (ev) => {
      status.hidden = true;
      try { offset = Date.parse(JSON.parse(ev.data).server_now) - Date.now(); } catch { /* keep the old offset */ }
      if (connectedOnce) resync();
      connectedOnce = true;
      if (poll) { clearInterval(poll); poll = 0; }
    });
    es.addEventListener('tile', (ev) => {
      try { upsert(JSON.parse(ev.data).tile); } catch { /* ignore a malformed event */ }
    });
    es.addEventListener('error', () => {
      if (!ctx.alive()) return;
      status.hidden = false;
      if (es.readyState === EventSource.CLOSED) {
        status.textContent = t('mon.polling');
        if (!poll) poll = setInterval(resync, 5000);
        setTimeout(() => { if (ctx.alive() && es.readyState === EventSource.CLOSED) openStream(); }, 15000);
      } else {
        status.textContent = t('mon.reconnecting');
      }
    });
  };
  openStream();
  const clock = setInterval(paintAll, 1000); // "seen … ago" labels only; no network
  sendFocus();
  ctx.onLeave(() => {
    es.close();
    cls.stop();
    clearInterval(clock);
    clearInterval(focusTimer);
    clearTimeout(sizeTimer);
    if (gridFocus) postFocus({ student_ids: [], width: 0 });
    if (poll) clearInterval(poll);
    observer.disconnect();
    if (dialog.open) dialog.close();
  });

  const sizeLabel = h('label', { for: 'tile-size' }, t('mon.size'));
  return h('section', { class: 'monitor' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/lectures' }, t('nav.lectures')), ' / ',
      h('a', { href: `#/lectures/${id}` }, lecture.title)),
    h('div', { class: 'title-row' }, h('h1', {}, t('mon.title', { title: lecture.title })), count,
      h('span', { class: 'spacer' }), h('span', { class: 'slider' }, sizeLabel, slider)),
    lecture.active ? null : h('p', { class: 'warn', id: 'mon-inactive' }, t('mon.inactive'), ' ',
      h('button', { type: 'button', class: 'small', id: 'mon-activate', onclick: async () => {
        try {
          await ctx.api('POST', `/lectures/${id}/activate`);
          ctx.app.notify(t('lecture.activated'));
          ctx.app.render();
        } catch (e) { ctx.app.fail(e); }
      } }, t('lecture.activate'))),
    cls.toolbar, status, empty, grid, dialog, cls.dialog);
}

function sortedByName(list) { return [...list].sort((a, b) => a.name.localeCompare(b.name)); }

function seenText(t, age) {
  if (!Number.isFinite(age)) return t('mon.seen.never');
  const s = Math.max(0, Math.round(age / 1000));
  if (s < 5) return t('mon.seen.now');
  if (s < 60) return t('mon.seen.s', { n: s });
  if (s < 3600) return t('mon.seen.m', { n: Math.floor(s / 60) });
  return t('mon.seen.h', { n: Math.floor(s / 3600) });
}
