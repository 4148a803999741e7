import { DataSource, EntityManager } from 'typeorm';
import type { AuditService } from '../audit/audit.service';
import { KeyRing } from './key-ring';

/** A data key is wrapped by a master key that is neither MASTER_KEY nor in MASTER_KEY_PREVIOUS. */
export class MissingMasterKeyError extends Error {
  constructor(readonly masterKeyIds: { masterKeyId: string | null; dataKeys: number }[], beforeAnyChange: boolean) {
    super(
      `${masterKeyIds.map((m) => `${m.dataKeys} data key(s) are wrapped by master key ${m.masterKeyId ?? '(none recorded)'}`).join('; ')}, `
      + 'which is not configured: put that master key in MASTER_KEY_PREVIOUS (comma-separated) and run keys:rotate again. '
      + (beforeAnyChange ? 'Nothing was changed.' : 'The batch in progress was rolled back; the batches before it are kept.'),
    );
  }
}

export interface RotationProgress {
  batch: number;
  /** Re-wrapped in this batch. */
  rotated: number;
  /** Re-wrapped by this run so far. */
  total: number;
  /** Live data keys still under another master key. */
  left: number;
}

export interface RotationOptions {
  batchSize: number;
  /** Stop after this many batches (for pacing, and tests); the rest is left for the next run. */
  maxBatches?: number;
  /** How long a batch waits for keys other transactions hold (ingestion locks today's keys briefly). */
  lockWaitMs?: number;
  onProgress?: (progress: RotationProgress) => void;
}

export interface RotationResult {
  rotated: number;
  left: number;
  batches: number;
}

interface WrappedKey {
  id: string;
  wrapped: Buffer;
  master_key_id: string | null;
}

const UNDER_OTHER_MASTER = 'wrapped IS NOT NULL AND master_key_id IS DISTINCT FROM $1';
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Master-key rotation: re-wraps every live data key whose master key is not the current one
 * (MASTER_KEY) under it. The data keys themselves, and so every ciphertext, stay as they are;
 * services that know both the new and the old master keys read everything throughout.
 *
 * Each batch is one transaction (its keys locked with FOR UPDATE SKIP LOCKED, re-wrapped, one audit
 * entry) so a crash loses at most the batch in flight, which rolls back: running it again picks
 * up what is left. Keys another transaction holds are skipped and taken at the end, waiting for
 * them briefly. Destroyed keys (wrapped = NULL) are left alone.
 */
export async function rotateMasterKey(dataSource: DataSource, keys: KeyRing, audit: AuditService, options: RotationOptions): Promise<RotationResult> {
  await assertMasterKeysKnown(dataSource.manager, keys);
  const result: RotationResult = { rotated: 0, left: await countLeft(dataSource.manager, keys), batches: 0 };
  let waitingAttempts = 0;
  while (result.left > 0 && (options.maxBatches === undefined || result.batches < options.maxBatches)) {
    let rotated = await dataSource.transaction((em) => rotateBatch(em, keys, audit, options.batchSize, undefined));
    if (rotated === 0) {
      // Everything left is locked by others right now: wait for some of it instead of spinning.
      try {
        rotated = await dataSource.transaction((em) => rotateBatch(em, keys, audit, options.batchSize, options.lockWaitMs ?? 10_000));
      } catch (error) {
        if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
        if (++waitingAttempts >= 5) {
          throw new Error(`${await countLeft(dataSource.manager, keys)} data key(s) stayed locked by other transactions; run keys:rotate again (it resumes where it stopped)`);
        }
      }
    }
    result.left = await countLeft(dataSource.manager, keys);
    if (rotated === 0) continue;
    result.batches += 1;
    result.rotated += rotated;
    options.onProgress?.({ batch: result.batches, rotated, total: result.rotated, left: result.left });
  }
  return result;
}

/** Stops before changing anything when some live data key's master key is not configured. */
async function assertMasterKeysKnown(em: EntityManager, keys: KeyRing): Promise<void> {
  const rows = (await em.query(
    `SELECT master_key_id, count(*)::int AS n FROM data_keys WHERE ${UNDER_OTHER_MASTER} GROUP BY master_key_id ORDER BY master_key_id`,
    [keys.currentMasterKeyId],
  )) as { master_key_id: string | null; n: number }[];
  const missing = rows.filter((r) => r.master_key_id === null || !keys.hasMasterKey(r.master_key_id));
  if (missing.length) throw new MissingMasterKeyError(missing.map((r) => ({ masterKeyId: r.master_key_id, dataKeys: r.n })), true);
}

async function countLeft(em: EntityManager, keys: KeyRing): Promise<number> {
  const [row] = (await em.query(`SELECT count(*)::int AS n FROM data_keys WHERE ${UNDER_OTHER_MASTER}`, [keys.currentMasterKeyId])) as { n: number }[];
  return row.n;
}

/** One batch in the caller's transaction; `waitMs` undefined skips locked keys, else waits for them that long. */
async function rotateBatch(em: EntityManager, keys: KeyRing, audit: AuditService, batchSize: number, waitMs: number | undefined): Promise<number> {
  if (waitMs !== undefined) await em.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.max(1, Math.round(waitMs))}ms`]);
  const rows = (await em.query(
    `SELECT id, wrapped, master_key_id FROM data_keys WHERE ${UNDER_OTHER_MASTER}
      ORDER BY id LIMIT $2 FOR UPDATE${waitMs === undefined ? ' SKIP LOCKED' : ''}`,
    [keys.currentMasterKeyId, batchSize],
  )) as WrappedKey[];
  if (!rows.length) return 0;
  const unknown = new Map<string | null, number>();
  for (const row of rows) {
    if (row.master_key_id === null || !keys.hasMasterKey(row.master_key_id)) unknown.set(row.master_key_id, (unknown.get(row.master_key_id) ?? 0) + 1);
  }
  if (unknown.size) throw new MissingMasterKeyError([...unknown].map(([masterKeyId, dataKeys]) => ({ masterKeyId, dataKeys })), false);

  const from = new Map<string, number>();
  const rewrapped = rows.map((row) => {
    from.set(row.master_key_id!, (from.get(row.master_key_id!) ?? 0) + 1);
    return { id: row.id, ...keys.rewrap({ id: row.id, wrapped: row.wrapped, master_key_id: row.master_key_id! }) };
  });
  await em.query(
    `UPDATE data_keys k SET wrapped = t.wrapped, master_key_id = $3
       FROM unnest($1::uuid[], $2::bytea[]) AS t(id, wrapped)
      WHERE k.id = t.id AND k.wrapped IS NOT NULL`,
    [rewrapped.map((r) => r.id), rewrapped.map((r) => r.wrapped), keys.currentMasterKeyId],
  );
  // Counts and master-key fingerprints only: no key material, wrapped or not.
  await audit.record(em, null, {
    action: 'data_keys.rewrapped', subjectType: 'DataKey', subjectId: null,
    changes: { dataKeys: rows.length, fromMasterKeyIds: Object.fromEntries(from), toMasterKeyId: keys.currentMasterKeyId },
  });
  return rows.length;
}
