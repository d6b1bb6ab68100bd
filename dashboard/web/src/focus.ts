/**
 * Keeping the keyboard user's place (WCAG 2.4.3 focus order, 3.2.1/3.2.2: no change of context they did not ask
 * for). The views rebuild their content when live data arrives or after an action; a rebuilt control is a new
 * element, so without this focus would fall to <body> and a screen reader would start again from the top.
 */

/** Attributes that name a thing across rebuilds: a panel, an alert, a rule, a chart, a control's action. */
const KEY_ATTRIBUTES = ['data-panel', 'data-alert-id', 'data-patient-id', 'data-username', 'data-rule-id', 'data-type', 'data-range', 'data-preset', 'data-action', 'data-focus', 'name'];

/** Focusable without being in the tab order, or natively focusable: what `focus()` can land on. */
const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]';

/** Selectors from the outermost keyed ancestor to the element itself, or undefined when nothing names it. */
export function focusKey(root: Element, el: Element | null): string[] | undefined {
  const parts: string[] = [];
  for (let node = el; node && node !== root.parentElement; node = node.parentElement) {
    const attr = KEY_ATTRIBUTES.find((a) => node!.hasAttribute(a));
    if (attr) parts.unshift(`[${attr}="${CSS.escape(node.getAttribute(attr)!)}"]`);
    if (node === root) break;
  }
  return parts.length ? parts : undefined;
}

/**
 * Focuses the element `parts` names under `root`, or failing that its nearest keyed ancestor still there (the
 * alert whose button went away, the panel whose alert was resolved: a panel gives its heading). True if done.
 */
export function refocus(root: ParentNode, parts: string[]): boolean {
  for (let n = parts.length; n > 0; n--) {
    const match = root.querySelector<HTMLElement>(parts.slice(0, n).join(' '));
    const target = match?.matches(FOCUSABLE) ? match : match?.querySelector<HTMLElement>('[tabindex="-1"]');
    if (target) {
      // A live refresh must not scroll the page under the reader.
      target.focus({ preventScroll: true });
      return document.activeElement === target;
    }
  }
  return false;
}

/**
 * Rebuilds `root` with `rebuild`, then puts focus back on the same control if it was inside (with the text
 * being typed into it), or on its nearest keyed ancestor; `fallback` when nothing of it is left.
 */
export function keepFocus(root: HTMLElement, rebuild: () => void, fallback?: () => HTMLElement | null | undefined): void {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && root.contains(active);
  const parts = inside ? focusKey(root, active) : undefined;
  const typed = active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? active.value : undefined;
  rebuild();
  if (!inside || root.contains(document.activeElement)) return;
  if (parts && refocus(root, parts)) {
    const now = document.activeElement;
    if (typed !== undefined && (now instanceof HTMLInputElement || now instanceof HTMLTextAreaElement) && now.tagName === active.tagName) now.value = typed;
    return;
  }
  fallback?.()?.focus({ preventScroll: true });
}
