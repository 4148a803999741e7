import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Envelope encryption for message PII (DESIGN.md §4): values are sealed with AES-256-GCM under a
 * data key per customer, UTC day and category; each data key is itself sealed under the master
 * key. Destroying a data key makes everything under it unreadable at once (crypto-shredding).
 *
 * Sealed format: version byte (1) ‖ 12-byte random IV ‖ 16-byte tag ‖ ciphertext.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export class DecryptionError extends Error {
  constructor() {
    super('the value cannot be decrypted: wrong key, wrong context or tampered');
  }
}

/**
 * Seals `plaintext` under `key`. `context` (associated data) binds the ciphertext to where it
 * belongs — e.g. `message:<id>:body` — so it cannot be moved to another row or column unnoticed.
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): Buffer {
  assertKey(key);
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = cipher.update(plaintext);
  cipher.final(); // GCM emits nothing more
  const out = Buffer.allocUnsafe(1 + IV_BYTES + TAG_BYTES + body.length);
  out[0] = VERSION;
  iv.copy(out, 1);
  cipher.getAuthTag().copy(out, 1 + IV_BYTES);
  body.copy(out, 1 + IV_BYTES + TAG_BYTES);
  return out;
}

/**
 * A random 96-bit IV. Drawn from a pool the CSPRNG refills 4,096 IVs at a time (one system call
 * instead of one per value); every IV is handed out once and copied, so none repeats.
 */
const IV_POOL = 4096 * IV_BYTES;
let ivPool = Buffer.alloc(0);
let ivOffset = IV_POOL;
function freshIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL);
    ivOffset = 0;
  }
  ivOffset += IV_BYTES;
  return ivPool.subarray(ivOffset - IV_BYTES, ivOffset);
}

/** Opens a sealed value; any change to it, the key or the context fails with DecryptionError. */
export function open(key: Buffer, sealed: Buffer, context: string): Buffer {
  assertKey(key);
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new DecryptionError();
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const body = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
  try {
    // authTagLength pins the tag to 16 bytes: a truncated tag is refused, not accepted as shorter.
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptionError();
  }
}

/** A fresh data key. */
export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** Wraps a data key under the master key, bound to the key's identity (e.g. its id). */
export function wrapKey(masterKey: Buffer, dataKey: Buffer, keyId: string): Buffer {
  assertKey(dataKey);
  return seal(masterKey, dataKey, `data-key:${keyId}`);
}

export function unwrapKey(masterKey: Buffer, wrapped: Buffer, keyId: string): Buffer {
  return open(masterKey, wrapped, `data-key:${keyId}`);
}

/**
 * Normalises a phone number to E.164 (+ and 8–15 digits) from common written forms. Returns null
 * for anything that is not one, so it never reaches the blind index in two spellings.
 */
export function normaliseMsisdn(input: string): string | null {
  const compact = input.trim().replace(/[\s().-]/g, '').replace(/^00/, '+');
  return /^\+[1-9]\d{7,14}$/.test(compact) ? compact : null;
}

/**
 * The blind index of a phone number: HMAC-SHA256 under a per-customer key, so the system can find a
 * data subject's messages without decrypting anything, and equal numbers of two customers differ.
 */
export function blindIndex(indexKey: Buffer, msisdn: string): string {
  const normalised = normaliseMsisdn(msisdn);
  if (!normalised) throw new Error('not an E.164 phone number');
  return blindIndexBytes(indexKey, normalised).toString('hex');
}

/** The blind index as bytes, of a number already normalised to E.164. */
export function blindIndexBytes(indexKey: Buffer, normalised: string): Buffer {
  return createHmac('sha256', indexKey).update(normalised).digest();
}

/** The per-customer blind-index key, derived from a dedicated secret (never the master key itself). */
export function customerIndexKey(indexSecret: Buffer, customerId: string): Buffer {
  return createHmac('sha256', indexSecret).update(`blind-index:${customerId}`).digest();
}

function assertKey(key: Buffer) {
  if (key.length !== KEY_BYTES) throw new Error(`keys are ${KEY_BYTES} bytes`);
}
