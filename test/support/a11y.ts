import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/*
 * The functions given to page.evaluate run in the page, but are type-checked with Node's libraries (no DOM):
 * the few page globals they use are declared here, in this module only.
 */
declare const document: any;
declare const window: any;
declare const getComputedStyle: (el: any) => any;
declare const MutationObserver: any;
declare const Element: any;

/** The rule sets the dashboard is held to (issue 19): WCAG 2.0 and 2.1, A and AA, and axe's best practices. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

let axeSource: string | undefined;

export interface AxeFinding {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: string[];
}

/**
 * Runs axe-core in the page and returns its violations, worst first. axe is evaluated through the DevTools
 * protocol (page.evaluate), which the page's strict CSP does not govern, so the page is audited with its real
 * CSP in force (a context with bypassCSP would audit a page the clinician never gets).
 */
export async function axeViolations(page: Page, include?: string): Promise<AxeFinding[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof window.axe'))?.toString().startsWith('object')) await page.evaluate(axeSource);
  const findings = await page.evaluate(
    async ({ tags, include }) => {
      type AxeResult = { violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] };
      const axe: { run(context: unknown, options: unknown): Promise<AxeResult> } = window.axe;
      const result = await axe.run(include ? { include: [include] } : document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`.replace(/\s+/g, ' ')) }));
    },
    { tags: AXE_TAGS, include },
  );
  const rank = ['critical', 'serious', 'moderate', 'minor'];
  return findings.sort((a, b) => rank.indexOf(a.impact ?? 'minor') - rank.indexOf(b.impact ?? 'minor'));
}

/** The violations that fail the build (issue 19): serious and critical. Lesser ones are printed to be seen. */
export async function seriousViolations(page: Page, view: string, include?: string): Promise<AxeFinding[]> {
  const all = await axeViolations(page, include);
  const lesser = all.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  if (lesser.length) console.info(`axe on ${view}: ${lesser.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * What is wrong with the focus ring of the focused element, or undefined: WCAG 2.4.7 (visible) and 1.4.11 (3:1
 * against what is behind it). The ring is the outline; it must be at least 2px, drawn whole (no ancestor with
 * overflow clips it), and its colour must reach 3:1 against the backgrounds under the middle of its left side.
 */
export function focusRingProblem(page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'nothing focused';
    const name = `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''} "${(el.textContent ?? '').trim().slice(0, 40)}"`;
    if (!el.matches(':focus-visible')) return `${name}: not :focus-visible`;
    const style = getComputedStyle(el);
    const width = parseFloat(style.outlineWidth);
    if (style.outlineStyle === 'none' || width < 2) return `${name}: no outline (${style.outlineStyle} ${style.outlineWidth})`;
    const offset = parseFloat(style.outlineOffset);
    const r = el.getBoundingClientRect();
    const grow = offset + width;
    const ring = { left: r.left - grow, top: r.top - grow, right: r.right + grow, bottom: r.bottom + grow };
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const b = a.getBoundingClientRect();
      const box = { left: b.left + a.clientLeft, top: b.top + a.clientTop, right: b.left + a.clientLeft + a.clientWidth, bottom: b.top + a.clientTop + a.clientHeight };
      const cut = ring.left < box.left - 0.5 || ring.top < box.top - 0.5 || ring.right > box.right + 0.5 || ring.bottom > box.bottom + 0.5;
      if (cut) return `${name}: ring clipped by ${a.tagName.toLowerCase()}.${String(a.className).split(' ').join('.')}`;
    }
    const rgba = (css: string): number[] => {
      const m = /rgba?\(([^)]+)\)/.exec(css);
      if (!m) return [0, 0, 0, 0];
      const [red, green, blue, alpha] = m[1]!.split(/[\s,/]+/).map(Number);
      return [red!, green!, blue!, alpha ?? 1];
    };
    // What is painted under the ring: backgrounds from the top, blended until an opaque one.
    const x = r.left - offset - width / 2;
    const y = (r.top + r.bottom) / 2;
    const layers: number[][] = [];
    for (const under of document.elementsFromPoint(x, y)) {
      const bg = rgba(getComputedStyle(under).backgroundColor);
      if (bg[3]! > 0) layers.push(bg);
      if (bg[3]! >= 1) break;
    }
    let behind = [255, 255, 255];
    for (const [lr, lg, lb, la] of layers.reverse()) behind = [lr! * la! + behind[0]! * (1 - la!), lg! * la! + behind[1]! * (1 - la!), lb! * la! + behind[2]! * (1 - la!)];
    const luminance = (c: number[]) => {
      const [lr, lg, lb] = c.map((v) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
      return 0.2126 * lr! + 0.7152 * lg! + 0.0722 * lb!;
    };
    const [l1, l2] = [luminance(rgba(style.outlineColor)), luminance(behind)].sort((a, b) => b - a);
    const ratio = (l1! + 0.05) / (l2! + 0.05);
    if (ratio < 3) return `${name}: ring ${style.outlineColor} on rgb(${behind.map(Math.round).join(', ')}) is ${ratio.toFixed(2)}:1`;
    return undefined;
  });
}

export interface Focused {
  readonly tag: string;
  readonly id: string;
  readonly text: string;
  /** The alert the focused element is, or is in. */
  readonly alertId: string | null;
  readonly range: string | null;
  readonly action: string | null;
}

/** Where focus is: the element's tag, id, start of its text, and the alert, range or action it stands for. */
export function focusedElement(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const el = document.activeElement;
    const attr = (name: string) => el.getAttribute(name) ?? null;
    return { tag: el.tagName.toLowerCase(), id: el.id, text: (el.textContent ?? '').trim().slice(0, 80), alertId: el.closest('[data-alert-id]')?.getAttribute('data-alert-id') ?? null, range: attr('data-range'), action: attr('data-action') };
  });
}

/** Presses Tab until the focused element matches `selector` (at most `max` times); fails naming where focus went. */
export async function tabTo(page: Page, selector: string, max = 120): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const here = await page.evaluate((s) => {
      const el = document.activeElement;
      return el?.matches(s) ? null : `${el?.tagName.toLowerCase()} ${(el?.textContent ?? '').trim().slice(0, 30)}`;
    }, selector);
    if (here === null) return;
    seen.push(here);
  }
  throw new Error(`Tab never reached ${selector}; went through: ${seen.join(' | ')}`);
}

/**
 * Tabs through every stop of the page once, from the top, and returns the stops (tag and start of text) and
 * the focus-ring problems met. Stops when focus leaves the page or comes back to the first stop.
 */
export async function focusRingProblems(page: Page, max = 200): Promise<{ stops: string[]; problems: string[] }> {
  // From the top of the page: the body focused (for a moment focusable) is where sequential navigation starts.
  await page.evaluate(() => {
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
  const stops: string[] = [];
  const problems: string[] = [];
  let first: unknown;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const handle = await page.evaluateHandle(() => document.activeElement);
    const done = await page.evaluate(([a, b]) => a === b || a === document.body, [handle, first] as const);
    if (done) break;
    first ??= handle;
    stops.push(await page.evaluate(() => `${document.activeElement.tagName.toLowerCase()} ${(document.activeElement.textContent ?? '').trim().slice(0, 30)}`));
    const problem = await focusRingProblem(page);
    if (problem) problems.push(problem);
  }
  return { stops, problems };
}

export interface Announcement {
  readonly region: string;
  readonly text: string;
}

/**
 * Records what a screen reader would read unasked from now on: text added to, or changed in, a live region
 * (aria-live, role=status, alert or log). A region whose text is rewritten is read again, even with the same words.
 */
export async function recordAnnouncements(page: Page): Promise<() => Promise<Announcement[]>> {
  await page.evaluate(() => {
    const w = window;
    // One recorder at a time: an earlier one would add its own copy of every record.
    w.__announcedObserver?.disconnect();
    w.__announced = [];
    const live = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
    w.__announcedObserver = new MutationObserver((mutations: any[]) => {
      for (const m of mutations) {
        const target = m.target instanceof Element ? m.target : m.target.parentElement;
        const region = target?.closest(live);
        if (!region) continue;
        const text = (m.type === 'characterData' ? (m.target.textContent ?? '') : [...m.addedNodes].map((n: any) => n.textContent ?? '').join('')).trim();
        if (text) w.__announced.push({ region: region.id || String(region.className) || region.tagName, text });
      }
    });
    w.__announcedObserver.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate((): Announcement[] => window.__announced);
}
