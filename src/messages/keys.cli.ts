import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import { createDataSource } from '../database/data-source';
import type { DatabaseServer } from '../database/database-server';
import { KeyRing, masterKeyId } from './key-ring';
import { MissingMasterKeyError, rotateMasterKey } from './key-rotation';

const DEFAULT_BATCH = 500;
const MAX_BATCH = 10_000;

const out = (m: string) => process.stdout.write(`${m}\n`);
const err = (m: string) => process.stderr.write(`${m}\n`);

/** `--batch N` or `--batch=N`; undefined when the arguments are not understood. */
function parseArgs(args: string[]): { batchSize: number } | undefined {
  let batchSize = DEFAULT_BATCH;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split('=', 2);
    if (flag !== '--batch') return undefined;
    const value = inline ?? args[++i];
    if (!value || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_BATCH) return undefined;
    batchSize = Number(value);
  }
  return { batchSize };
}

/**
 * `keys:rotate [--batch N]`: re-wraps every live data key under the current MASTER_KEY, reading
 * those under earlier master keys with MASTER_KEY_PREVIOUS. Safe to run while services are up
 * (configured with both keys) and to run again after a crash.
 */
export const keysRotateCommand = {
  help: `keys:rotate [--batch N]: re-wrap every data key under MASTER_KEY (old keys from MASTER_KEY_PREVIOUS); resumable; N = 1..${MAX_BATCH}, default ${DEFAULT_BATCH}`,
  run: async (db: DatabaseServer, args: string[]): Promise<number> => {
    const options = parseArgs(args);
    if (!options) {
      err(`usage: npm run cli -- keys:rotate [--batch N]   (N from 1 to ${MAX_BATCH})`);
      return 2;
    }
    const config = loadConfig();
    const keys = new KeyRing(config);
    const ds = await createDataSource(db.url, 2).initialize();
    try {
      const previous = config.previousMasterKeys.map(masterKeyId);
      out(`re-wrapping data keys under master key ${keys.currentMasterKeyId}${previous.length ? ` (reading earlier ones with ${previous.join(', ')})` : ''}, ${options.batchSize} per batch`);
      const result = await rotateMasterKey(ds, keys, new AuditService(ds, new Clock()), {
        batchSize: options.batchSize,
        onProgress: (p) => out(`batch ${p.batch}: re-wrapped ${p.rotated} (${p.total} so far), ${p.left} left`),
      });
      out(`rotated ${result.rotated} data keys; ${result.left} left under other master keys`);
      return result.left === 0 ? 0 : 1;
    } catch (error) {
      if (error instanceof MissingMasterKeyError) {
        err(error.message);
        return 1;
      }
      throw error;
    } finally {
      await ds.destroy();
    }
  },
};
