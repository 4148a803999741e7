import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { type ChainCursor, type ChainedFields, diff, entryHash, firstBreak, GENESIS_HASH, redact } from './audit-chain';

type Entry = ChainedFields & { hash: string };
type Content = Omit<ChainedFields, 'seq' | 'prevHash'>;

const text = fc.string({ maxLength: 12 });
const nullableText = fc.option(text, { nil: null });
const instant = fc.date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date('2100-01-01T00:00:00.000Z'), noInvalidDate: true });
const changes = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) as fc.Arbitrary<Record<string, unknown>>;
const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });

const content: fc.Arbitrary<Content> = fc.record({
  at: instant,
  actorType: fc.constantFrom('user', 'api_key', 'system'),
  actorId: nullableText,
  action: text,
  subjectType: text,
  subjectId: nullableText,
  requestId: nullableText,
  changes,
});

/** A correctly linked run of entries starting at `from`, as AuditService.record writes them. */
function chain(contents: Content[], from: ChainCursor = { nextSeq: 1, prevHash: GENESIS_HASH }): Entry[] {
  const out: Entry[] = [];
  let prevHash = from.prevHash;
  contents.forEach((c, i) => {
    const fields: ChainedFields = { ...c, seq: from.nextSeq + i, prevHash };
    const e = { ...fields, hash: entryHash(fields) };
    out.push(e);
    prevHash = e.hash;
  });
  return out;
}

/** Where a run starts: at the genesis, or in the middle of a longer log (the next verify batch). */
const start: fc.Arbitrary<ChainCursor> = fc.oneof(
  fc.constant({ nextSeq: 1, prevHash: GENESIS_HASH }),
  fc.record({ nextSeq: fc.integer({ min: 2, max: 1_000_000 }), prevHash: hex64 }),
);

const validRun = fc.tuple(start, fc.array(content, { minLength: 1, maxLength: 8 })).map(([from, contents]) => ({ from, entries: chain(contents, from) }));

/** Two values are the same to the hash when their canonical JSON is. */
const sameForHash = (a: unknown, b: unknown) =>
  canonicalize(a instanceof Date ? a.toISOString() : a) === canonicalize(b instanceof Date ? b.toISOString() : b);

/** A replacement for one field of an entry: any value of the field's type. */
const FIELD_VALUES: Record<keyof Entry, fc.Arbitrary<unknown>> = {
  seq: fc.integer({ min: 0, max: 2_000_000 }),
  at: instant,
  actorType: text,
  actorId: nullableText,
  action: text,
  subjectType: text,
  subjectId: nullableText,
  requestId: nullableText,
  changes,
  prevHash: hex64,
  hash: hex64,
};
const FIELDS = Object.keys(FIELD_VALUES) as (keyof Entry)[];

const cursorOf = (from: ChainCursor): ChainCursor => ({ ...from });

describe('firstBreak', () => {
  it('accepts every correctly linked run', () => {
    fc.assert(
      fc.property(validRun, ({ from, entries }) => {
        const cursor = cursorOf(from);
        expect(firstBreak(entries, cursor)).toBeNull();
        // and leaves the cursor where the next batch must continue
        expect(cursor).toEqual({ nextSeq: entries[entries.length - 1].seq + 1, prevHash: entries[entries.length - 1].hash });
      }),
    );
  });

  it('accepts an empty run without moving the cursor', () => {
    const cursor = { nextSeq: 7, prevHash: 'a'.repeat(64) };
    expect(firstBreak([], cursor)).toBeNull();
    expect(cursor).toEqual({ nextSeq: 7, prevHash: 'a'.repeat(64) });
  });

  it('names exactly the entry whose field was changed, whichever entry and field', () => {
    const tampered = validRun.chain(({ from, entries }) =>
      fc.record({
        from: fc.constant(from),
        entries: fc.constant(entries),
        index: fc.nat({ max: entries.length - 1 }),
        field: fc.constantFrom(...FIELDS),
      }).chain((t) => FIELD_VALUES[t.field].map((value) => ({ ...t, value }))),
    );
    fc.assert(
      fc.property(tampered, ({ from, entries, index, field, value }) => {
        fc.pre(!sameForHash(entries[index][field], value));
        const edited = entries.map((e, i) => (i === index ? { ...e, [field]: value } : e));
        expect(firstBreak(edited, cursorOf(from))).toBe(entries[index].seq);
      }),
      { numRuns: 500 },
    );
  });

  test.each(FIELDS)('a change to %s alone is caught', (field) => {
    // The same as above, one field at a time, so a field the hash forgets shows up by name.
    fc.assert(
      fc.property(validRun, fc.nat(), FIELD_VALUES[field], ({ from, entries }, pick, value) => {
        const index = pick % entries.length;
        fc.pre(!sameForHash(entries[index][field], value));
        const edited = entries.map((e, i) => (i === index ? { ...e, [field]: value } : e));
        expect(firstBreak(edited, cursorOf(from))).toBe(entries[index].seq);
      }),
      { numRuns: 50 },
    );
  });

  it('catches an edited entry whose hash was recomputed, at the next entry', () => {
    fc.assert(
      fc.property(validRun.filter((r) => r.entries.length >= 2), fc.nat(), content, ({ from, entries }, pick, forged) => {
        const index = pick % (entries.length - 1);
        const { hash: _old, ...original } = entries[index];
        const edited: ChainedFields = { ...original, ...forged };
        fc.pre(entryHash(edited) !== entries[index].hash);
        const run = entries.map((e, i) => (i === index ? { ...edited, hash: entryHash(edited) } : e));
        expect(firstBreak(run, cursorOf(from))).toBe(entries[index + 1].seq);
      }),
    );
  });

  it('names the missing seq when an entry (other than the newest) is removed', () => {
    fc.assert(
      fc.property(validRun.filter((r) => r.entries.length >= 2), fc.nat(), ({ from, entries }, pick) => {
        const index = pick % (entries.length - 1);
        const run = entries.filter((_, i) => i !== index);
        expect(firstBreak(run, cursorOf(from))).toBe(entries[index].seq);
      }),
    );
  });

  it('catches two entries swapped, at the first of them', () => {
    fc.assert(
      fc.property(validRun.filter((r) => r.entries.length >= 2), fc.nat(), ({ from, entries }, pick) => {
        const index = pick % (entries.length - 1);
        const run = [...entries];
        [run[index], run[index + 1]] = [run[index + 1], run[index]];
        expect(firstBreak(run, cursorOf(from))).toBe(entries[index].seq);
      }),
    );
  });

  it('catches a forged entry inserted between two real ones', () => {
    fc.assert(
      fc.property(validRun.filter((r) => r.entries.length >= 2), fc.nat(), content, ({ from, entries }, pick, forged) => {
        const index = 1 + (pick % (entries.length - 1));
        // The forger links it properly to its predecessor and takes over the seq.
        const [fake] = chain([forged], { nextSeq: entries[index].seq, prevHash: entries[index - 1].hash });
        const run = [...entries.slice(0, index), fake, ...entries.slice(index)];
        // The forgery itself is well formed; the real entry it displaced no longer fits after it.
        expect(firstBreak(run, cursorOf(from))).toBe(entries[index].seq + 1);
      }),
    );
  });

  it('gives the same answer when a run is checked in batches with one cursor (as verify does)', () => {
    const arb = fc.record({
      run: validRun,
      cut: fc.nat(),
      tamper: fc.option(fc.tuple(fc.nat(), fc.constantFrom(...FIELDS.filter((f) => f !== 'seq'))), { nil: null }),
    });
    fc.assert(
      fc.property(arb, ({ run: { from, entries }, cut, tamper }) => {
        let run = entries;
        let expected: number | null = null;
        if (tamper) {
          const index = tamper[0] % entries.length;
          run = entries.map((e, i) => (i === index ? { ...e, [tamper[1]]: tamper[1] === 'at' ? new Date(e.at.getTime() + 1) : tamper[1] === 'changes' ? { ...e.changes, tampered: true } : `${String(e[tamper[1]])}x` } : e));
          expected = entries[index].seq;
        }
        const at = cut % (run.length + 1);
        const cursor = cursorOf(from);
        const result = firstBreak(run.slice(0, at), cursor) ?? firstBreak(run.slice(at), cursor);
        expect(result).toBe(expected);
      }),
    );
  });
});

describe('redact', () => {
  it('redacts lists of e-mail addresses but keeps numbers and flags under PII-like names', () => {
    expect(redact({ breachNotificationEmails: ['soc@brand.test'], maxRetentionDays: { body: 30, msisdn: 7, delivery_metadata: 90 }, password: 'x', key: null }))
      .toEqual({ breachNotificationEmails: '[redacted]', maxRetentionDays: { body: 30, msisdn: 7, delivery_metadata: 90 }, password: '[redacted]', key: null });
  });

  const SECRET_KEYS = [
    'password', 'passwordHash', 'secret', 'key', 'keyHash', 'token', 'accessToken',
    'msisdn', 'phone', 'phoneNumber', 'body', 'ciphertext', 'bodyCiphertext', 'msisdnCiphertext',
    'PASSWORD', 'Msisdn', 'PhoneNumber',
  ];
  const SAFE_KEYS = ['id', 'name', 'role', 'customerId', 'status', 'count', 'items', 'terms', 'reason', 'country', 'from', 'to', 'keyId', 'bodyLength'];

  it('replaces secrets, e-mail addresses and message PII at the top level and keeps everything else', () => {
    const input = { email: 'dpo@provider.test', role: 'dpo', password: 'hunter2 hunter2', msisdn: '+447700900123', body: 'your code is 1234', count: 3, ok: true, none: null };
    expect(redact(input)).toEqual({ email: '[redacted]', role: 'dpo', password: '[redacted]', msisdn: '[redacted]', body: '[redacted]', count: 3, ok: true, none: null });
  });

  it('redacts at any depth, inside objects and arrays', () => {
    const input = {
      message: { id: 'm1', msisdn: '+447700900123', meta: { route: ['op-a', 'op-b'], body: 'hi' } },
      batch: [{ id: 'x', phoneNumber: '+15550100' }, [{ token: 't0k3n', kind: 'bearer' }]],
      key: { nested: 'a whole object under a secret key goes too' },
    };
    expect(redact(input)).toEqual({
      message: { id: 'm1', msisdn: '[redacted]', meta: { route: ['op-a', 'op-b'], body: '[redacted]' } },
      batch: [{ id: 'x', phoneNumber: '[redacted]' }, [{ token: '[redacted]', kind: 'bearer' }]],
      key: '[redacted]',
    });
  });

  it('matches the names regardless of case, and any *Ciphertext field', () => {
    expect(redact({ PASSWORD: 'a', Msisdn: 'b', bodyCiphertext: 'c', msisdnCiphertext: 'd', ciphertext: 'e' }))
      .toEqual({ PASSWORD: '[redacted]', Msisdn: '[redacted]', bodyCiphertext: '[redacted]', msisdnCiphertext: '[redacted]', ciphertext: '[redacted]' });
  });

  it('does not redact names that merely contain a secret word', () => {
    expect(redact({ keyId: 'k1', bodyLength: 42, tokenType: 'Bearer' })).toEqual({ keyId: 'k1', bodyLength: 42, tokenType: 'Bearer' });
  });

  it('also catches the compound names the same secrets travel under', () => {
    const input = {
      newPassword: 'p1', currentPassword: 'p2', password_hash: 'h', refreshToken: 't', apiKey: 'k',
      clientSecret: 's', recipientMsisdn: '+447700900123', phone_number: '+15550100',
    };
    const leaked = Object.entries(redact(input) as Record<string, unknown>).filter(([, v]) => v !== '[redacted]').map(([k]) => k);
    expect(leaked).toEqual([]);
  });

  it('writes dates as ISO-8601 and leaves its input untouched', () => {
    const input = { at: new Date('2025-03-01T12:00:00.000Z'), password: 'x', nested: [{ msisdn: 'y' }] };
    const copy = structuredClone(input);
    expect(redact(input)).toEqual({ at: '2025-03-01T12:00:00.000Z', password: '[redacted]', nested: [{ msisdn: '[redacted]' }] });
    expect(input).toEqual(copy);
  });

  // Random trees of safe keys, into which one secret is planted somewhere.
  const leaf = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null));
  const tree = fc.letrec<{ node: unknown; obj: Record<string, unknown> }>((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('obj'), fc.array(tie('node'), { maxLength: 3 })),
    obj: fc.dictionary(fc.constantFrom(...SAFE_KEYS), tie('node'), { maxKeys: 4 }),
  })).obj;

  /** A copy of `root` with `key: value` added at a place chosen by `path` (indexes into containers). */
  function plant(root: Record<string, unknown>, path: number[], key: string, value: unknown): Record<string, unknown> {
    const copy = structuredClone(root);
    let node: unknown = copy;
    for (const step of path) {
      const children = Object.values(node as object).filter((c) => c !== null && typeof c === 'object');
      if (!children.length) break;
      node = children[step % children.length];
    }
    if (Array.isArray(node)) node.push({ [key]: value });
    else (node as Record<string, unknown>)[key] = value;
    return copy;
  }

  it('keeps any tree without secret names exactly as it is', () => {
    fc.assert(fc.property(tree, (t) => expect(redact(t)).toEqual(t)));
  });

  it('replaces a secret planted anywhere, and only it', () => {
    fc.assert(
      fc.property(tree, fc.array(fc.nat(), { maxLength: 5 }), fc.constantFrom(...SECRET_KEYS), fc.jsonValue({ maxDepth: 2 }), (t, path, key, secret) => {
        const out = redact(plant(t, path, key, { secret, marker: 'SENSITIVE-VALUE' }));
        expect(JSON.stringify(out)).not.toContain('SENSITIVE-VALUE');
        expect(out).toEqual(plant(t, path, key, '[redacted]'));
      }),
    );
  });
});

describe('diff', () => {
  it('returns only the fields that changed, with their old and new values', () => {
    const before = { email: 'a@x.test', role: 'dpo', customerId: null, disabled: false };
    const after = { email: 'a@x.test', role: 'customer', customerId: 'c1', disabled: false };
    expect(diff(before, after)).toEqual({ role: { from: 'dpo', to: 'customer' }, customerId: { from: null, to: 'c1' } });
  });

  it('is empty for identical snapshots, including equal dates that are different objects', () => {
    const t = '2025-01-01T00:00:00.000Z';
    expect(diff({ a: 1, at: new Date(t), n: { x: [1, 2] } }, { a: 1, at: new Date(t), n: { x: [1, 2] } })).toEqual({});
  });

  it('reports a moved date, a field that appeared and one that went away', () => {
    const before = { at: new Date('2025-01-01T00:00:00.000Z'), gone: 'x' };
    const after = { at: new Date('2025-01-01T00:00:00.001Z'), added: 5 };
    expect(diff(before, after)).toEqual({
      at: { from: before.at, to: after.at },
      gone: { from: 'x', to: null },
      added: { from: null, to: 5 },
    });
  });

  it('does not report a JSON value whose keys merely come back in another order', () => {
    // jsonb hands objects back in its own key order, not the order they were written in.
    const before = { terms: { objectionWindowDays: 30, breachNoticeHours: 72 } };
    const after = { terms: { breachNoticeHours: 72, objectionWindowDays: 30 } };
    expect(diff(before, after)).toEqual({});
  });

  it('property: the keys of the diff are exactly the fields that were changed, added or removed', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }).filter((v) => v !== null), instant);
    const arb = fc
      .dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 6 })
      .chain((before) =>
        fc.record({
          before: fc.constant(before),
          fate: fc.tuple(...Object.keys(before).map(() => fc.constantFrom('keep', 'change', 'remove'))),
          changed: fc.array(value, { minLength: Object.keys(before).length, maxLength: Object.keys(before).length }),
          added: fc.dictionary(fc.string({ maxLength: 6 }).map((k) => `added::${k}`), value, { maxKeys: 3 }),
        }),
      );
    fc.assert(
      fc.property(arb, ({ before, fate, changed, added }) => {
        const after: Record<string, unknown> = {};
        const expected: Record<string, { from: unknown; to: unknown }> = {};
        Object.entries(before).forEach(([k, v], i) => {
          if (fate[i] === 'keep') after[k] = v instanceof Date ? new Date(v.getTime()) : structuredClone(v);
          else if (fate[i] === 'change' && !sameForHash(v, changed[i])) {
            after[k] = changed[i];
            expected[k] = { from: v, to: changed[i] };
          } else if (fate[i] === 'change') after[k] = changed[i];
          else expected[k] = { from: v, to: null };
        });
        for (const [k, v] of Object.entries(added)) {
          after[k] = v;
          expected[k] = { from: null, to: v };
        }
        expect(diff(before, after)).toEqual(expected);
      }),
    );
  });
});
