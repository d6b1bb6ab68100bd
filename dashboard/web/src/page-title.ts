/**
 * The tab's title names the view (WCAG 2.4.2), so a screen reader says where a navigation landed and a
 * clinician with many tabs finds the patient; the count of unacknowledged critical alerts goes first, seen in
 * the tab strip from any other tab.
 */
let view = 'Log in';
let critical = 0;

function apply(): void {
  document.title = `${critical ? `(${critical}) ` : ''}${view} · Vigil`;
}

export function setViewTitle(name: string): void {
  view = name;
  apply();
}

export function setCriticalCount(count: number): void {
  critical = count;
  apply();
}
