// Which methods the service answers on a path, read from the OpenAPI document, which lists every route:
// a request with another method gets 405 with `Allow` (not 404, as if the resource were not there), and
// OPTIONS gets 204 with `Allow`.

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The methods served on a path (upper case), or undefined for a path the service does not serve. */
export type AllowedMethods = (path: string) => string[] | undefined;

export function allowedMethods(paths: Record<string, unknown>): AllowedMethods {
  const routes = Object.entries(paths).map(([template, operations]) => ({
    // `{id}` is one path segment; the rest is literal.
    pattern: new RegExp(`^${template.split('/').map((segment) => (/^\{[^/{}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`),
    methods: Object.keys(operations as object)
      .filter((m) => HTTP_METHODS.has(m))
      .map((m) => m.toUpperCase()),
  }));
  return (path) => {
    const found = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods));
    return found.size ? [...found] : undefined;
  };
}
