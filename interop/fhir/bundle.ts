import type { Bundle, BundleLink, Resource } from './types.js';

/** The address of a resource, as `fullUrl` (R4 Bundle: the absolute, version-independent URL of the entry). */
export function fullUrl(base: string, resource: Resource): string {
  return `${base}/${resource.resourceType}/${resource.id}`;
}

/**
 * A search's answer: its matches, and links to this page and the pages beside it. The links repeat the search
 * as it was understood (parameters in a fixed order), so a client pages with them unchanged.
 */
export function searchset(base: string, path: string, params: URLSearchParams, page: { resources: readonly Resource[]; offset: number; count: number; more: boolean; total?: number }, now: number): Bundle {
  const link = (relation: BundleLink['relation'], offset: number): BundleLink => {
    const q = new URLSearchParams(params);
    q.set('_count', String(page.count));
    if (offset > 0) q.set('_offset', String(offset));
    else q.delete('_offset');
    return { relation, url: `${base}/${path}?${q.toString()}` };
  };
  const links = [link('self', page.offset), link('first', 0)];
  if (page.offset > 0) links.push(link('previous', Math.max(0, page.offset - page.count)));
  if (page.more) links.push(link('next', page.offset + page.count));
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date(now).toISOString(),
    ...(page.total === undefined ? {} : { total: page.total }),
    link: links,
    entry: page.resources.map((resource) => ({ fullUrl: fullUrl(base, resource), resource, search: { mode: 'match' as const } })),
  };
}

/** A set of resources kept together, not a search (an export). */
export function collection(base: string, resources: readonly Resource[], now: number): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: new Date(now).toISOString(),
    entry: resources.map((resource) => ({ fullUrl: fullUrl(base, resource), resource })),
  };
}
