// Sign-in and professor registration.
import { h } from '../dom.js';

function field(id, label, attrs, hint) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, required: true, ...attrs, 'aria-describedby': hint ? id + '-hint' : null }),
    hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null);
}

async function login(ctx, email, password) {
  const user = await ctx.api('POST', '/auth/login', { email, password, session: 'cookie' });
  if (user.role !== 'professor') {
    try { await ctx.api('POST', '/auth/logout', {}); } catch { /* best effort */ }
    ctx.app.notify(ctx.t('auth.student'), true);
    return;
  }
  ctx.app.clearNotice();
  ctx.app.signedIn(user);
}

function form(ctx, title, fields, submitLabel, onSubmit, other) {
  const err = h('p', { class: 'form-error', role: 'alert', id: 'form-error' });
  const btn = h('button', { type: 'submit' }, submitLabel);
  const f = h('form', { class: 'card', novalidate: false, 'aria-describedby': 'form-error' },
    fields, err, h('div', { class: 'actions' }, btn));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      await onSubmit(new FormData(f));
    } catch (e) {
      err.textContent = ctx.app.errorText(e);
    } finally {
      btn.disabled = false;
    }
  });
  return h('section', { class: 'narrow' },
    h('p', { class: 'muted' }, ctx.t('app.tagline')),
    h('h1', {}, title), f, h('p', {}, other));
}

export function signin(ctx) {
  const t = ctx.t;
  return form(ctx, t('auth.signin.title'), [
    field('email', t('auth.email'), { type: 'email', autocomplete: 'username' }),
    field('password', t('auth.password'), { type: 'password', autocomplete: 'current-password' }),
  ], t('auth.signin'), (d) => login(ctx, d.get('email'), d.get('password')),
  [h('a', { href: '#/register' }, t('auth.to.register')), h('br'),
    h('a', { href: '#/reset', id: 'to-reset' }, t('reset.link'))]);
}

export function register(ctx) {
  const t = ctx.t;
  return form(ctx, t('auth.register.title'), [
    field('name', t('auth.name'), { type: 'text', autocomplete: 'name', maxlength: 100 }),
    field('email', t('auth.email'), { type: 'email', autocomplete: 'username' }),
    field('password', t('auth.password'), { type: 'password', autocomplete: 'new-password', minlength: 8 }, t('auth.password.hint')),
  ], t('auth.register'), async (d) => {
    await ctx.api('POST', '/auth/register', {
      name: d.get('name'), email: d.get('email'), password: d.get('password'), role: 'professor',
    });
    await login(ctx, d.get('email'), d.get('password'));
  }, h('a', { href: '#/login' }, t('auth.to.signin')));
}
