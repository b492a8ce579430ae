/**
 * A small RFC 8288 `Link` header parser: `<url>; rel="next", <url2>; rel="prev last"`.
 * Returns the URL for each relation type (first one wins).
 */
export function parseLinkHeader(header: string): Record<string, string> {
  const links: Record<string, string> = {};
  // Split on commas that start a new `<…>` link; URLs may themselves contain commas.
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/s.exec(part);
    if (!match) continue;
    const [, url, rest] = match;
    const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(rest);
    if (!rel) continue;
    for (const type of (rel[1] ?? rel[2]).trim().toLowerCase().split(/\s+/)) {
      if (type && !(type in links)) links[type] = url;
    }
  }
  return links;
}
