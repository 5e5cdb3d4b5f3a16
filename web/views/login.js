// login: the form shown when there is no session (tern's cookie login).
//
// Why its own view: it is the only page an anonymous visitor sees, so it
// stands alone (no other view is built until the login succeeds) and it
// says why a login failed (wrong password, throttled, server down)
// without ever echoing what the server sent as markup.
import { h, replace } from './dom.js';

/**
 * @param {HTMLElement} root
 * @param {import('../jmap.js').JmapClient} client
 * @param {() => void} onLoggedIn
 * @param {string} [notice] why the form is shown again, if it is
 */
export function showLogin(root, client, onLoggedIn, notice) {
  document.body.dataset.view = 'login';
  document.title = 'Log in · tern webmail';
  const user = h('input', { id: 'login-user', name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' }, notice || '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { id: 'login', class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'tern webmail'),
    h('label', { for: 'login-user' }, 'Email address'), user,
    h('label', { for: 'login-pass' }, 'Password'), pass,
    submit, error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      await client.login(user.value.trim(), pass.value);
      pass.value = '';
      onLoggedIn();
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : 'Login failed.';
      pass.select();
    } finally {
      submit.disabled = false;
    }
  });
  replace(root, form);
  user.focus();
}
