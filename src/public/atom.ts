/** A minimal, valid Atom 1.0 (RFC 4287) document, written by hand so every value is escaped one way. */
export interface AtomFeed {
  id: string;
  title: string;
  subtitle?: string;
  updated: Date;
  selfUrl: string;
  alternateUrl: string;
  author: string;
  entries: AtomEntry[];
}

export interface AtomEntry {
  /** A permanent IRI, e.g. urn:uuid:<id>. */
  id: string;
  title: string;
  summary: string;
  updated: Date;
  published?: Date;
  link: string;
  category?: string;
}

// XML 1.0 forbids most control characters even when escaped; drop them rather than emit a broken feed.
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for XML element content and attribute values. */
export const xml = (value: unknown): string => String(value ?? '').replace(INVALID_XML, '').replace(/[&<>"']/g, (c) => XML_ENTITIES[c]);

export function renderAtom(feed: AtomFeed): string {
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
    `  <id>${xml(feed.id)}</id>`,
    `  <title type="text">${xml(feed.title)}</title>`,
    ...(feed.subtitle ? [`  <subtitle type="text">${xml(feed.subtitle)}</subtitle>`] : []),
    `  <updated>${feed.updated.toISOString()}</updated>`,
    `  <link rel="self" type="application/atom+xml" href="${xml(feed.selfUrl)}"/>`,
    `  <link rel="alternate" type="text/html" href="${xml(feed.alternateUrl)}"/>`,
    `  <author><name>${xml(feed.author)}</name></author>`,
    ...feed.entries.flatMap((e) => [
      '  <entry>',
      `    <id>${xml(e.id)}</id>`,
      `    <title type="text">${xml(e.title)}</title>`,
      `    <updated>${e.updated.toISOString()}</updated>`,
      ...(e.published ? [`    <published>${e.published.toISOString()}</published>`] : []),
      `    <link rel="alternate" type="text/html" href="${xml(e.link)}"/>`,
      ...(e.category ? [`    <category term="${xml(e.category)}"/>`] : []),
      `    <summary type="text">${xml(e.summary)}</summary>`,
      '  </entry>',
    ]),
    '</feed>',
    '',
  ];
  return lines.join('\n');
}
