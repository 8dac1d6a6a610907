// Language choice and translation. The choice (not a secret) is kept in
// localStorage; otherwise navigator.language decides.
import en from './i18n/en.js';
import ko from './i18n/ko.js';

const dicts = { en, ko };
const storageKey = 'didacto.lang';

export const languages = [['ko', '한국어'], ['en', 'English']];

export function initialLanguage() {
  const saved = localStorage.getItem(storageKey);
  if (saved && dicts[saved]) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return nav.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export class I18n {
  constructor(lang) { this.set(lang); }

  set(lang) {
    this.lang = dicts[lang] ? lang : 'en';
    document.documentElement.lang = this.lang;
  }

  save(lang) {
    this.set(lang);
    localStorage.setItem(storageKey, this.lang);
  }

  has(key) { return key in dicts[this.lang]; }

  // t returns the text of key with {name} placeholders filled from vars;
  // a missing key falls back to English, then to the key itself.
  t(key, vars) {
    let s = dicts[this.lang][key] ?? dicts.en[key] ?? key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return s;
  }

  dateTime(v) {
    if (!v) return '';
    return new Intl.DateTimeFormat(this.lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(v));
  }

  // stamp is a date with a time to the second (audit entries).
  stamp(v) {
    if (!v) return '';
    return new Intl.DateTimeFormat(this.lang, { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(v));
  }

  time(v) {
    if (!v) return '';
    return new Intl.DateTimeFormat(this.lang, { timeStyle: 'medium' }).format(new Date(v));
  }

  number(n) { return new Intl.NumberFormat(this.lang).format(n); }
}
