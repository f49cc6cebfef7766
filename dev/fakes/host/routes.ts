// Route templates as the Functions host reads them: `images/{id}`, `{name:guid}`, `{name?}`, and a
// catch-all last segment `{*rest}` that takes the remaining path, slashes included. Values are the
// path's text as ASP.NET Core gives it (requestPath): decoded, except %2F.

export interface RouteMatcher {
  match(path: string): Record<string, string> | undefined;
}

export function compileRoute(template: string): RouteMatcher {
  const names: string[] = [];
  const pattern = template
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map((segment) => {
      const param = /^\{(\*)?(\w+)(?::[^}?]+)?(\?)?\}$/.exec(segment);
      if (!param) return `/${segment.replace(/[.*+^$()|[\]\\]/g, '\\$&')}`;
      names.push(param[2]);
      if (param[1]) return '/(.+)';
      return param[3] ? '(?:/([^/]+))?' : '/([^/]+)';
    })
    .join('');
  const regex = new RegExp(`^${pattern}/?$`, 'i');
  return {
    match(path) {
      const found = regex.exec(path);
      if (!found) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        if (found[i + 1] !== undefined) params[name] = found[i + 1];
      });
      return params;
    },
  };
}

/**
 * A request path as Kestrel decodes it before routing (its UrlDecoder): every escape that is UTF-8
 * is decoded except %2F, which stays as it came so that an encoded slash never splits a segment; an
 * escape that is not UTF-8 (%zz, %C3 alone) is kept as it came; a NUL is refused (undefined: 400).
 */
export function requestPath(rawPath: string): string | undefined {
  const decoded = rawPath
    .split(/(%2F)/i)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/(?:%[0-9A-Fa-f]{2})+/g, decodeRun)))
    .join('');
  return decoded.includes('\0') ? undefined : decoded;
}

/** A run of escapes, decoded where it is UTF-8 and kept as it came where it is not. */
function decodeRun(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    // Byte by byte: the longest UTF-8 sequences decoded, the rest kept.
    return run.replace(/%[0-9A-Fa-f]{2}(?:%[89AB][0-9A-Fa-f]){0,3}/gi, (one) => {
      try {
        return decodeURIComponent(one);
      } catch {
        return one;
      }
    });
  }
}
