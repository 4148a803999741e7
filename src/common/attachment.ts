/**
 * Content-Disposition for sending a file (RFC 6266): an ASCII fallback with anything that could
 * break out of its quotes replaced, and the exact name in filename* (RFC 8187), where only
 * attr-chars stay unencoded (encodeURIComponent leaves ' ( ) * as they are).
 */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
