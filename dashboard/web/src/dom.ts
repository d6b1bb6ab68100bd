type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Builds an element: attributes (on* become listeners, booleans toggle), then children (text is escaped by the DOM). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el: Element): void {
  el.replaceChildren();
}

/** Announces a message to screen readers (and shows it as a toast). */
export function announce(message: string, tone: 'info' | 'critical' | 'error' = 'info'): void {
  const region = document.getElementById('toasts');
  if (!region) return;
  const toast = h('div', { class: `toast toast-${tone}`, role: tone === 'info' ? 'status' : 'alert' }, message);
  region.append(toast);
  setTimeout(() => toast.remove(), tone === 'critical' ? 12_000 : 5_000);
}
