// Same-origin JSON client of the DIDACTO API. The session lives in an
// HttpOnly cookie; every non-GET request repeats the readable CSRF cookie in
// the X-CSRF-Token header.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || problem.code);
    this.status = status;
    this.code = problem.code || '';
    this.problem = problem;
  }
}

export function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'didacto_csrf') return decodeURIComponent(v || '');
  }
  return '';
}

// api sends body as JSON, or as is with the given type (e.g. 'text/csv').
export async function api(method, path, body, type) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = type || 'application/json';
    init.body = type ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch('/api/v1' + path, init);
  } catch (e) {
    throw new ApiError(0, { code: 'network', title: String(e) });
  }
  if (res.status === 204) return null;
  const ct = res.headers.get('Content-Type') || '';
  if (!res.ok) {
    let problem = { code: '', title: res.statusText };
    if (ct.includes('json')) {
      try { problem = await res.json(); } catch { /* keep the status text */ }
    }
    throw new ApiError(res.status, problem);
  }
  return ct.includes('json') ? res.json() : res.text();
}

// all fetches every page of a list endpoint (path without page/size): the
// lists a professor needs whole (members, requests, lectures) are small,
// but a lecture hall may pass one page of 100.
export async function all(path) {
  const sep = path.includes('?') ? '&' : '?';
  const items = [];
  for (let page = 1; ; page++) {
    const res = await api('GET', `${path}${sep}page=${page}&size=100`);
    items.push(...res.items);
    if (items.length >= res.total || res.items.length === 0) return { items, total: res.total };
  }
}
