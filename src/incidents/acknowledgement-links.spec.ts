import { AcknowledgementLinks } from './acknowledgement-links';

describe('acknowledgement links', () => {
  const links = new AcknowledgementLinks('a-secret-that-is-long-enough-for-hkdf-0123456789');
  const id = '3f0c9b8e-2a4d-4c1e-9f7a-5b6c7d8e9f01';
  const now = new Date('2026-12-10T12:00:00Z');
  const expiresAt = new Date('2026-12-17T12:00:00Z');

  it('accepts the link it signed until it expires, naming the notification', () => {
    const token = links.sign(id, expiresAt);
    expect(links.check(token, now)).toEqual({ ok: true, notificationId: id, expiresAt });
    expect(links.check(token, expiresAt)).toMatchObject({ ok: true });
    expect(links.check(token, new Date(expiresAt.getTime() + 1000))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses every changed character, another secret, a moved expiry and malformed input', () => {
    const token = links.sign(id, expiresAt);
    for (let i = 0; i < token.length; i++) {
      const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      expect(links.check(changed, now).ok).toBe(false);
    }
    expect(new AcknowledgementLinks('another-secret-that-is-long-enough-0123456789').check(token, now)).toEqual({ ok: false, reason: 'invalid' });
    const [tid, expiry, mac] = token.split('.');
    expect(links.check(`${tid}.${Number(expiry) + 3600}.${mac}`, now)).toEqual({ ok: false, reason: 'invalid' });
    for (const bad of [undefined, null, 42, '', 'x'.repeat(500), `${tid}.${expiry}`, `${tid}..${mac}`, { token }]) {
      expect(links.check(bad, now)).toEqual({ ok: false, reason: 'invalid' });
    }
  });
});
