// The signed-in user's password change, and setting a new password with a
// one-time code from a professor (no sign-in needed).
import { h } from '../dom.js';

function field(id, label, attrs, hint) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, required: true, ...attrs, 'aria-describedby': hint ? id + '-hint' : null }),
    hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null);
}

// form wires a card form: the error line under the fields keeps what was
// typed, so a wrong current password loses nothing.
function form(ctx, id, fields, submitLabel, onSubmit) {
  const err = h('p', { class: 'form-error', role: 'alert', id: id + '-error' });
  const btn = h('button', { type: 'submit' }, submitLabel);
  const f = h('form', { class: 'card', id, 'aria-describedby': id + '-error' }, fields, err, h('div', { class: 'actions' }, btn));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      await onSubmit(new FormData(f), f);
    } catch (e) {
      err.textContent = e instanceof Error && e.local ? e.message : ctx.app.errorText(e);
    } finally {
      btn.disabled = false;
    }
  });
  return f;
}

function mismatch(ctx) {
  const e = new Error(ctx.t('pw.mismatch'));
  e.local = true;
  return e;
}

export function password(ctx) {
  const { t } = ctx;
  const f = form(ctx, 'password-form', [
    h('input', { type: 'email', name: 'username', autocomplete: 'username', value: ctx.app.user.email, hidden: true }),
    field('current_password', t('pw.current'), { type: 'password', autocomplete: 'current-password' }),
    field('new_password', t('pw.new'), { type: 'password', autocomplete: 'new-password', minlength: 8 }, t('pw.hint')),
    field('repeat_password', t('pw.repeat'), { type: 'password', autocomplete: 'new-password', minlength: 8 }),
  ], t('pw.submit'), async (d, el) => {
    if (d.get('new_password') !== d.get('repeat_password')) throw mismatch(ctx);
    await ctx.api('POST', '/me/password', { current_password: d.get('current_password'), new_password: d.get('new_password') });
    el.reset();
    ctx.app.notify(t('pw.done'));
  });
  return h('section', { class: 'narrow' }, h('h1', {}, t('pw.title')), f);
}

export function reset(ctx) {
  const { t } = ctx;
  const f = form(ctx, 'reset-form', [
    field('email', t('auth.email'), { type: 'email', autocomplete: 'username' }),
    field('code', t('reset.code'), { type: 'text', autocomplete: 'one-time-code', maxlength: 12, spellcheck: 'false',
      autocapitalize: 'characters' }),
    field('new_password', t('pw.new'), { type: 'password', autocomplete: 'new-password', minlength: 8 }, t('auth.password.hint')),
    field('repeat_password', t('pw.repeat'), { type: 'password', autocomplete: 'new-password', minlength: 8 }),
  ], t('reset.submit'), async (d) => {
    if (d.get('new_password') !== d.get('repeat_password')) throw mismatch(ctx);
    await ctx.api('POST', '/auth/reset-password', { email: d.get('email'), code: d.get('code'), new_password: d.get('new_password') });
    ctx.app.notify(t('reset.done'));
    ctx.app.navigate('/login');
  });
  return h('section', { class: 'narrow' },
    h('p', { class: 'muted' }, t('app.tagline')),
    h('h1', {}, t('reset.title')), h('p', {}, t('reset.help')), f,
    h('p', {}, h('a', { href: '#/login' }, t('auth.to.signin'))));
}
