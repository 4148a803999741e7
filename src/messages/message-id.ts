import { randomBytes } from 'node:crypto';

/**
 * Message ids are UUIDv7 (RFC 9562) whose 48-bit timestamp is the message's submitted-at, in
 * milliseconds. Anyone holding an id therefore also holds the time it belongs to, which lets a
 * lookup by id name the day (and its partition or shard) without a second index.
 */
export function messageId(submittedAt: Date): string {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(16 * 4096);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  bytes.writeUIntBE(submittedAt.getTime(), 0, 6);
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Random bytes for ids, drawn from the CSPRNG 4,096 ids at a time; each byte is used once. */
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** The submitted-at a message id carries, or null when the string is not a UUIDv7. */
export function submittedAtOf(id: string): Date | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return null;
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}

/** The UTC day (YYYY-MM-DD) of a moment: the day part of its data keys. */
export function utcDay(at: Date): string {
  const day = Math.floor(at.getTime() / 86_400_000);
  let text = days.get(day);
  if (text === undefined) {
    text = new Date(day * 86_400_000).toISOString().slice(0, 10);
    if (days.size > 10_000) days.clear();
    days.set(day, text);
  }
  return text;
}
const days = new Map<number, string>();
