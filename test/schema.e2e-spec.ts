import { createDataSource } from '../src/database/data-source';
import { createTestDatabase, TestDatabase } from './support/database';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(() => db.drop());

  it('build exactly the schema the entities describe (nothing left for migration:generate)', async () => {
    const ds = await createDataSource(db.url, 1).initialize();
    try {
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });
});
