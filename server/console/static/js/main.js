// Console entry point: the shell (top bar, language, notices), the signed-in
// user and the hash router. Views live in views/*.js and get a ctx.
import { api, ApiError } from './api.js';
import { h, clear } from './dom.js';
import { I18n, initialLanguage, languages } from './i18n.js';
import * as auth from './views/auth.js';
import * as lectures from './views/lectures.js';
import * as lecture from './views/lecture.js';
import * as monitor from './views/monitor.js';
import * as live from './views/live.js';
import * as plans from './views/plans.js';
import * as account from './views/account.js';

const routes = [
  [/^\/login$/, auth.signin, false],
  [/^\/register$/, auth.register, false],
  [/^\/reset$/, account.reset, false],
  [/^\/password$/, account.password, true],
  [/^\/lectures$/, lectures.view, true],
  [/^\/lectures\/(\d+)$/, lecture.view, true],
  [/^\/lectures\/(\d+)\/code$/, lecture.codeView, true],
  [/^\/lectures\/(\d+)\/audit(?:\?page=(\d+))?$/, lecture.auditView, true],
  [/^\/lectures\/(\d+)\/monitor$/, monitor.view, true],
  [/^\/lectures\/(\d+)\/live\/(\d+)$/, live.view, true],
  [/^\/plans$/, plans.view, true],
];

class App {
  constructor() {
    this.i18n = new I18n(initialLanguage());
    this.t = this.i18n.t.bind(this.i18n);
    this.api = api;
    this.user = null;
    this.cleanup = null;
    this.main = document.getElementById('app');
    this.noticeEl = document.getElementById('notice');
    this.renderSeq = 0;
    this.noticeSeq = 0;
  }

  async start() {
    const sel = document.getElementById('lang');
    for (const [code, name] of languages) sel.append(h('option', { value: code, lang: code }, name));
    sel.value = this.i18n.lang;
    sel.addEventListener('change', () => { this.i18n.save(sel.value); this.clearNotice(); this.render(); });
    document.getElementById('signout').addEventListener('click', () => this.signOut());
    window.addEventListener('hashchange', () => this.render());
    try {
      this.user = await api('GET', '/me');
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) this.notify(this.errorText(e), true);
    }
    if (this.user && this.user.role !== 'professor') {
      await this.signOut(false);
      this.notify(this.t('auth.student'), true);
    }
    this.render();
  }

  path() { return (location.hash || '#/').slice(1) || '/'; }

  navigate(path) {
    if (this.path() === path) this.render();
    else location.hash = '#' + path;
  }

  // notify shows a short message in the polite live region.
  notify(text, isError = false) {
    this.noticeSeq = this.renderSeq;
    clear(this.noticeEl).append(h('p', { class: isError ? 'error' : 'ok' }, text));
    this.noticeEl.dataset.kind = isError ? 'error' : 'ok';
  }

  clearNotice() { clear(this.noticeEl); delete this.noticeEl.dataset.kind; }

  errorText(e) {
    if (e instanceof ApiError) {
      if (e.code === 'network' || e.status === 0) return this.t('err.network');
      if (e.code && this.i18n.has('err.' + e.code)) {
        let s = this.t('err.' + e.code);
        if (e.code === 'validation_failed' && e.problem.errors) {
          s += ' ' + e.problem.errors.map((f) => `${this.t('field.' + f.field)}: ${f.message}`).join('; ');
        }
        return s;
      }
      return this.t('err.generic', { status: e.status });
    }
    return String(e && e.message ? e.message : e);
  }

  // fail reports an error; a lost session sends the user to sign in.
  fail(e) {
    if (e instanceof ApiError && e.status === 401) {
      this.user = null;
      this.notify(this.t('auth.expired'), true);
      this.navigate('/login');
      return;
    }
    this.notify(this.errorText(e), true);
  }

  async signOut(announce = true) {
    try { await api('POST', '/auth/logout', {}); } catch { /* the cookies may already be gone */ }
    this.user = null;
    if (announce) this.notify(this.t('auth.signedout'));
    this.navigate('/login');
  }

  signedIn(user) {
    this.user = user;
    this.navigate('/lectures');
  }

  shell() {
    const t = this.t;
    document.getElementById('skip-link').textContent = t('nav.skip');
    document.getElementById('nav').setAttribute('aria-label', t('nav.main'));
    document.getElementById('nav-lectures').textContent = t('nav.lectures');
    document.getElementById('nav-plans').textContent = t('nav.plans');
    document.getElementById('nav-password').textContent = t('nav.password');
    document.getElementById('lang-label').textContent = t('nav.language');
    document.getElementById('lang').setAttribute('aria-label', t('nav.language'));
    const out = document.getElementById('signout');
    out.textContent = t('nav.signout');
    out.hidden = !this.user;
    document.getElementById('nav').hidden = !this.user;
    document.getElementById('who').textContent = this.user ? this.user.name : '';
  }

  async render() {
    const seq = ++this.renderSeq;
    if (this.noticeSeq < seq - 1) this.clearNotice(); // a notice lives through the next page only
    if (this.cleanup) {
      try { this.cleanup(); } catch { /* a view's teardown must not block the next */ }
      this.cleanup = null;
    }
    this.shell();
    let path = this.path();
    if (path === '/') path = this.user ? '/lectures' : '/login';
    let match = null;
    let handler = notFound;
    let needsAuth = true;
    for (const [re, fn, authed] of routes) {
      match = path.match(re);
      if (match) { handler = fn; needsAuth = authed; break; }
    }
    if (needsAuth && !this.user) { this.navigate('/login'); return; }
    if (!needsAuth && this.user) { this.navigate('/lectures'); return; }
    const ctx = {
      app: this, t: this.t, i18n: this.i18n, api,
      params: match ? match.slice(1) : [],
      alive: () => seq === this.renderSeq,
      onLeave: (fn) => { if (seq === this.renderSeq) this.cleanup = fn; else fn(); },
    };
    this.main.setAttribute('aria-busy', 'true');
    clear(this.main).append(h('p', { class: 'muted' }, this.t('common.loading')));
    try {
      const node = await handler(ctx);
      if (seq !== this.renderSeq) return;
      clear(this.main).append(node);
      const h1 = this.main.querySelector('h1');
      document.title = (h1 ? h1.textContent + ' · ' : '') + 'DIDACTO';
      this.main.setAttribute('aria-busy', 'false');
    } catch (e) {
      if (seq !== this.renderSeq) return;
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
        clear(this.main).append(notFound(ctx));
      } else {
        clear(this.main);
        this.fail(e);
      }
      this.main.setAttribute('aria-busy', 'false');
    }
  }
}

export function notFound(ctx) {
  const t = ctx.t;
  return h('section', { class: 'narrow' },
    h('h1', {}, t('notfound.title')),
    h('p', {}, t('notfound.body')),
    h('p', {}, h('a', { href: '#/lectures' }, t('notfound.back'))));
}

new App().start();
