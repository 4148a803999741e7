import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { blindIndex, customerIndexKey, DecryptionError, newDataKey, normaliseMsisdn, open, seal, unwrapKey, wrapKey } from './envelope-crypto';

const key = () => randomBytes(32);

describe('envelope encryption', () => {
  it('round-trips any value under its key and context', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 80 }), (bytes, context) => {
      const k = key();
      expect(open(k, seal(k, Buffer.from(bytes), context), context)).toEqual(Buffer.from(bytes));
    }));
  });

  it('uses a fresh IV every time: the same value never seals to the same bytes', () => {
    const k = key();
    const a = seal(k, Buffer.from('+447700900123'), 'message:1:msisdn');
    const b = seal(k, Buffer.from('+447700900123'), 'message:1:msisdn');
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
  });

  it('refuses any flipped bit, a truncated tag, another key or another context', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (bytes, at, bit) => {
      const k = key();
      const sealed = seal(k, Buffer.from(bytes), 'message:7:body');
      const tampered = Buffer.from(sealed);
      tampered[at % tampered.length] ^= 1 << bit;
      expect(() => open(k, tampered, 'message:7:body')).toThrow(DecryptionError);
    }));
    const k = key();
    const sealed = seal(k, Buffer.from('your code is 1234'), 'message:7:body');
    expect(() => open(k, sealed.subarray(0, sealed.length - 1), 'message:7:body')).toThrow(DecryptionError);
    expect(() => open(k, sealed.subarray(0, 20), 'message:7:body')).toThrow(DecryptionError);
    expect(() => open(key(), sealed, 'message:7:body')).toThrow(DecryptionError);
    expect(() => open(k, sealed, 'message:8:body')).toThrow(DecryptionError);
    expect(() => open(k, sealed, 'message:7:msisdn')).toThrow(DecryptionError);
  });

  it('wraps data keys under the master key, bound to the key id', () => {
    const master = key();
    const dataKey = newDataKey();
    const wrapped = wrapKey(master, dataKey, 'k1');
    expect(unwrapKey(master, wrapped, 'k1')).toEqual(dataKey);
    expect(() => unwrapKey(master, wrapped, 'k2')).toThrow(DecryptionError);
    expect(() => unwrapKey(key(), wrapped, 'k1')).toThrow(DecryptionError);
    expect(() => wrapKey(master, Buffer.alloc(16), 'k1')).toThrow('keys are 32 bytes');
  });
});

describe('blind index of phone numbers', () => {
  const secret = randomBytes(32);

  it('normalises the common written forms to E.164 and refuses the rest', () => {
    expect(normaliseMsisdn('+44 7700 900123')).toBe('+447700900123');
    expect(normaliseMsisdn('0044 (7700) 900-123')).toBe('+447700900123');
    expect(normaliseMsisdn('+49.151.2345.6789')).toBe('+4915123456789');
    for (const bad of ['07700 900123', '+0123456789', '+12345', 'abc', '+1234567890123456', '']) expect(normaliseMsisdn(bad)).toBeNull();
  });

  it('finds the same subject whatever the spelling, and differs between customers', () => {
    const a = customerIndexKey(secret, 'customer-a');
    const b = customerIndexKey(secret, 'customer-b');
    expect(blindIndex(a, '+44 7700 900123')).toBe(blindIndex(a, '00447700900123'));
    expect(blindIndex(a, '+447700900123')).not.toBe(blindIndex(b, '+447700900123'));
    expect(blindIndex(a, '+447700900123')).not.toBe(blindIndex(a, '+447700900124'));
    expect(blindIndex(a, '+447700900123')).toMatch(/^[0-9a-f]{64}$/);
    expect(() => blindIndex(a, 'not a number')).toThrow('not an E.164 phone number');
  });
});
