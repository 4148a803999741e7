/** A mail template: text and HTML from the same data; the subject never carries personal data. */
export interface MailTemplate<T> {
  name: string;
  subject(data: T): string;
  text(data: T): string;
  html(data: T): string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes a value for HTML text or attribute content. */
export const esc = (value: unknown): string => String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);

/** A plain, accessible HTML frame shared by every mail. */
export function htmlFrame(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
    `<body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:40em">${body}</body></html>`;
}
