import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { isUuid } from '../common/ids';

export type LinkCheck = { ok: true; notificationId: string; expiresAt: Date } | { ok: false; reason: 'invalid' | 'expired' };

/**
 * The one-click acknowledgement links in breach notifications: "<notification id>.<expiry, unix
 * seconds>.<HMAC-SHA256 of both>" under a key derived from the JWT secret (HKDF, its own label).
 * Nothing is stored: the signature proves the link came from us for that notification, the expiry
 * inside it cannot be moved, and a link is single-use because acknowledging is: once the
 * notification is acknowledged, every link to it answers that it was.
 */
export class AcknowledgementLinks {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'custodian', 'breach-acknowledgements/v1', 32));
  }

  sign(notificationId: string, expiresAt: Date): string {
    const expiry = Math.floor(expiresAt.getTime() / 1000);
    return `${notificationId.toLowerCase()}.${expiry}.${this.mac(notificationId, expiry).toString('base64url')}`;
  }

  /** Constant-time; a malformed or forged token is 'invalid', a genuine one past its expiry 'expired'. */
  check(token: unknown, now: Date): LinkCheck {
    if (typeof token !== 'string' || token.length > 200) return { ok: false, reason: 'invalid' };
    const match = /^([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match || !isUuid(match[1])) return { ok: false, reason: 'invalid' };
    const [, id, expiryText, signature] = match;
    const expiry = Number(expiryText);
    const given = Buffer.from(signature, 'base64url');
    const expected = this.mac(id, expiry);
    // The last of 43 characters carries two unused bits: only the one spelling we issue is accepted.
    const canonical = given.toString('base64url') === signature;
    if (!canonical || given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
    if (now.getTime() > expiry * 1000) return { ok: false, reason: 'expired' };
    return { ok: true, notificationId: id, expiresAt: new Date(expiry * 1000) };
  }

  private mac(id: string, expiry: number): Buffer {
    return createHmac('sha256', this.key).update(`acknowledge:${id.toLowerCase()}:${expiry}`).digest();
  }
}

/** The one-click link a notification or reminder mail carries: a fresh expiry each time it is sent. */
export function acknowledgementLink(
  links: AcknowledgementLinks, baseUrl: string, notificationId: string, now: Date, ttlHours: number,
): { url: string; expiresAt: Date } {
  const expiresAt = new Date(now.getTime() + ttlHours * 3_600_000);
  return { url: `${baseUrl}/api/v1/breach-acknowledgements/${links.sign(notificationId, expiresAt)}`, expiresAt };
}
