import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAuditChain } from './audit/audit.service';
import { ConfigError, loadConfig } from './config/app-config';
import { createDataSource } from './database/data-source';
import { DatabaseServer, openDatabaseServer } from './database/database-server';
import { runMigrations } from './database/migrate';
import { keysRotateCommand } from './messages/keys.cli';
import { certificatesVerifyCommand } from './retention/certificates.cli';

const log = (m: string) => process.stderr.write(`${m}\n`);

type Command = (db: DatabaseServer, args: string[]) => Promise<number>;

const COMMANDS: Record<string, { help: string; run: Command }> = {
  'audit:verify': {
    help: 'recompute the whole audit hash chain; prints {ok, checked, firstBadSeq}, exits 1 when broken',
    run: async (db) => {
      const ds = await createDataSource(db.url, 2).initialize();
      try {
        const result = await verifyAuditChain(ds.manager);
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return result.ok ? 0 : 1;
      } finally {
        await ds.destroy();
      }
    },
  },
  'certificates:verify': certificatesVerifyCommand,
  'keys:rotate': keysRotateCommand,
  'migration:run': {
    help: 'apply pending migrations',
    run: async (db) => {
      await runMigrations(db.url, log);
      return 0;
    },
  },
  'migration:revert': {
    help: 'revert the most recent migration',
    run: async (db) => {
      const ds = await createDataSource(db.url, 2).initialize();
      try {
        await ds.undoLastMigration();
        return 0;
      } finally {
        await ds.destroy();
      }
    },
  },
  'migration:generate': {
    help: 'migration:generate <Name>: write migrations/<timestamp>-<Name>.ts from the difference between the entities and the database',
    run: async (db, [name]) => {
      if (!name || !/^[A-Za-z][A-Za-z0-9]*$/.test(name)) {
        log('usage: npm run migration:generate -- <Name> (letters and digits)');
        return 2;
      }
      const ds = await createDataSource(db.url, 2).initialize();
      try {
        const sql = await ds.driver.createSchemaBuilder().log();
        if (sql.upQueries.length === 0) {
          log('no changes: the entities match the database');
          return 0;
        }
        const timestamp = Date.now();
        const file = join(__dirname, '..', '..', 'migrations', `${timestamp}-${name}.ts`);
        writeFileSync(file, migrationSource(`${name}${timestamp}`, sql.upQueries.map((q) => q.query), sql.downQueries.reverse().map((q) => q.query)));
        log(`wrote ${file}; review it before committing`);
        return 0;
      } finally {
        await ds.destroy();
      }
    },
  },
};

function migrationSource(className: string, up: string[], down: string[]): string {
  const lines = (qs: string[]) => qs.map((q) => `    await queryRunner.query(\`${q.replace(/[`\\$]/g, (c) => `\\${c}`)}\`);`).join('\n');
  return `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  public async up(queryRunner: QueryRunner): Promise<void> {
${lines(up)}
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
${lines(down)}
  }
}
`;
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    log(`usage: npm run cli -- <command>\n${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(20)} ${c.help}`).join('\n')}`);
    return name ? 2 : 0;
  }
  let db: DatabaseServer;
  try {
    db = await openDatabaseServer(loadConfig(), log, 'attach');
  } catch (error) {
    log(error instanceof ConfigError ? error.message : `cannot reach the database: ${(error as Error).message}`);
    return 78;
  }
  try {
    return await command.run(db, args);
  } finally {
    await db.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    log(`failed: ${error.message}`);
    process.exit(1);
  },
);
