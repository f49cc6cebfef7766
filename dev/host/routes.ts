// Route templates as the Functions host reads them: `images/{id}`, `{name:guid}`, `{name?}`, and a
// catch-all last segment `{*rest}` that takes the remaining path, slashes included.

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
      try {
        names.forEach((name, i) => {
          if (found[i + 1] !== undefined) params[name] = decodeURIComponent(found[i + 1]);
        });
      } catch {
        return undefined; // a malformed escape (%zz) names no route
      }
      return params;
    },
  };
}
