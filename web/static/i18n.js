// Language choice and translation for GovHub's pages: Simplified Chinese (zh-CN) and English (en).
//
// The language is, in order: the one the user chose (localStorage "govhub.lang", shared by every
// page of the hub's origin), else the first of the browser's languages (navigator.languages, the
// same list the browser sends as Accept-Language) that we have, else English.
//
// Messages are plain strings per language, with {name} placeholders. Elements name their text by
// key: data-i18n="key" sets textContent, data-i18n-placeholder / data-i18n-aria-label /
// data-i18n-title set those attributes. Nothing is ever inserted as HTML.

export const LANGS = ['zh-CN', 'en'];
export const STORAGE_KEY = 'govhub.lang';

// match maps a BCP 47 tag to one of LANGS, or ''.
export function match(tag) {
  const t = String(tag || '').toLowerCase();
  if (t === 'zh' || t.startsWith('zh-')) return 'zh-CN'; // the only Chinese we have
  if (t === 'en' || t.startsWith('en-')) return 'en';
  return '';
}

export function storedLang() {
  try {
    return match(localStorage.getItem(STORAGE_KEY));
  } catch {
    return '';
  }
}

export function detectLang() {
  const stored = storedLang();
  if (stored) return stored;
  const prefs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
  for (const p of prefs) {
    const m = match(p);
    if (m) return m;
  }
  return 'en';
}

// createI18n returns a translator over messages ({'zh-CN': {...}, en: {...}}).
export function createI18n(messages, lang = detectLang()) {
  const listeners = [];
  const i18n = {
    lang,
    // t returns the message for key in the current language (falling back to English, then the
    // key itself) with {name} replaced by vars[name].
    t(key, vars = {}) {
      const m = (messages[i18n.lang] && messages[i18n.lang][key]) ?? (messages.en && messages.en[key]) ?? key;
      return String(m).replace(/\{(\w+)\}/g, (all, n) => (n in vars ? String(vars[n]) : all));
    },
    // apply translates root's marked elements and sets <html lang>.
    apply(root = document) {
      document.documentElement.lang = i18n.lang;
      for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = i18n.t(el.dataset.i18n);
      for (const [attr, data] of [['placeholder', 'i18nPlaceholder'], ['aria-label', 'i18nAriaLabel'], ['title', 'i18nTitle']]) {
        for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, i18n.t(el.dataset[data]));
      }
    },
    // set switches the language, remembers it for every page, re-translates and notifies.
    set(l) {
      const m = match(l) || 'en';
      i18n.lang = m;
      try {
        localStorage.setItem(STORAGE_KEY, m);
      } catch { /* storage disabled: the choice lasts for this page */ }
      i18n.apply();
      for (const f of listeners) f(m);
    },
    onChange(f) {
      listeners.push(f);
    },
    // bindSwitch makes a <select> of LANGS switch the language.
    bindSwitch(select) {
      select.value = i18n.lang;
      select.addEventListener('change', () => i18n.set(select.value));
      i18n.onChange((l) => { select.value = l; });
    },
    // formatTime renders an ISO time in the current language, with the absolute time.
    formatTime(iso) {
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return String(iso || '');
      return d.toLocaleString(i18n.lang, { dateStyle: 'medium', timeStyle: 'medium' });
    },
    // formatAge renders how long ago a time was ("3 minutes ago" / "3 分钟前").
    formatAge(date, now = new Date()) {
      const s = Math.round((date.getTime() - now.getTime()) / 1000);
      const rtf = new Intl.RelativeTimeFormat(i18n.lang, { numeric: 'auto' });
      const a = Math.abs(s);
      if (a < 60) return rtf.format(s, 'second');
      if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
      if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
      return rtf.format(Math.round(s / 86400), 'day');
    },
  };
  return i18n;
}
