import { readFileSync } from 'node:fs';
import { EntityManager } from 'typeorm';
import { isUuid } from '../common/ids';
import { createDataSource } from '../database/data-source';
import type { DatabaseServer } from '../database/database-server';
import { parseStatement, SignedCertificate, verifyCertificate } from './certificate-statement';
import { DeletionCertificate } from './deletion-certificate.entity';

const USAGE = 'usage: npm run cli -- certificates:verify <certificate-id>\n       npm run cli -- certificates:verify --file <certificate.json>';

interface Outcome {
  certificateId: string | null;
  valid: boolean;
  signingKeyId: string | null;
  reason?: string;
}

/**
 * `certificates:verify`: checks a deletion certificate's Ed25519 signature against the public keys
 * published in the database (signing_keys), the same checks as GET /retention/certificates/:id/verify.
 * By id, it reads the certificate from the database; with --file, a certificate as that route
 * returns it (signedStatement, signature, signingKeyId). Prints one JSON line; exits 0 valid,
 * 1 invalid, 2 unknown id or unreadable file.
 */
export const certificatesVerifyCommand = {
  help: 'certificates:verify <id> | --file <path>: check a deletion certificate\'s signature against the published keys; exit 0 valid, 1 invalid, 2 unknown',
  run: async (db: DatabaseServer, args: string[]): Promise<number> => {
    const [first, second] = args;
    const file = first === '--file' && args.length === 2 ? second : undefined;
    const id = first && args.length === 1 && !first.startsWith('-') ? first : undefined;
    if (!file && !id) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    let fromFile: { signed: SignedCertificate; row?: { id: string; customerId: string } } | undefined;
    if (file) {
      const read = readCertificateFile(file);
      if (typeof read === 'string') return print({ certificateId: null, valid: false, signingKeyId: null, reason: read }, 2);
      fromFile = read;
    }
    const ds = await createDataSource(db.url, 2).initialize();
    try {
      if (fromFile) {
        const outcome = await verifyPublished(ds.manager, fromFile.signed, fromFile.row);
        return print(outcome, outcome.valid ? 0 : 1);
      }
      const row = isUuid(id) ? await ds.manager.findOneBy(DeletionCertificate, { id }) : null;
      if (!row) return print({ certificateId: id ?? null, valid: false, signingKeyId: null, reason: 'no certificate with this id' }, 2);
      const outcome = await verifyPublished(ds.manager, row, row);
      return print(outcome, outcome.valid ? 0 : 1);
    } finally {
      await ds.destroy();
    }
  },
};

async function verifyPublished(em: EntityManager, c: SignedCertificate, row?: { id: string; customerId: string }): Promise<Outcome> {
  const named = parseStatement(c.statement)?.certificateId;
  return { certificateId: row?.id ?? (typeof named === 'string' ? named : null), ...(await verifyCertificate(em, c, row)) };
}

/** The certificate in a JSON file, or why it is not one. */
function readCertificateFile(path: string): { signed: SignedCertificate; row?: { id: string; customerId: string } } | string {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    return `cannot read ${path} as JSON: ${(error as Error).message}`;
  }
  // GET /retention/certificates/:id returns the signed text as signedStatement (statement is it parsed).
  const statement = typeof value?.signedStatement === 'string' ? value.signedStatement : value?.statement;
  if (typeof statement !== 'string' || typeof value.signature !== 'string' || typeof value.signingKeyId !== 'string') {
    return 'not a certificate: expected signedStatement, signature and signingKeyId (as GET /api/v1/retention/certificates/:id returns them)';
  }
  const signed = { statement, signature: value.signature, signingKeyId: value.signingKeyId };
  return typeof value.id === 'string' && typeof value.customerId === 'string' ? { signed, row: { id: value.id, customerId: value.customerId } } : { signed };
}

function print(outcome: Outcome, code: number): number {
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  return code;
}
