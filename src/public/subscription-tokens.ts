import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type TokenPurpose = 'confirm' | 'unsubscribe';

/**
 * The tokens in confirmation and unsubscribe links: HMAC-SHA256 over "<purpose>:<subscriber id>"
 * under a key derived from the JWT secret (HKDF, its own label), so nothing is stored and a token
 * for one purpose or subscriber is worthless for another.
 */
export class SubscriptionTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'custodian', 'public-subscriptions/v1', 32));
  }

  sign(purpose: TokenPurpose, id: string): string {
    return this.mac(purpose, id).toString('base64url');
  }

  /** Constant-time comparison; anything that is not exactly our token is false. */
  verify(purpose: TokenPurpose, id: string, token: string | undefined): boolean {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) return false;
    const given = Buffer.from(token, 'base64url');
    const expected = this.mac(purpose, id);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(purpose: TokenPurpose, id: string): Buffer {
    return createHmac('sha256', this.key).update(`${purpose}:${id.toLowerCase()}`).digest();
  }
}
