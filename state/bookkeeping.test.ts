import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/temp.js';
import { bookkeeping } from './bookkeeping.js';
import { openStateDb, type StateDb } from './database.js';

describe('bookkeeping writes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let db: StateDb;
  beforeEach(async () => {
    dir = await tempDir();
    db = openStateDb(dir.path, [{ component: 'test', version: 1, sql: 'CREATE TABLE seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL)' }]);
  });
  afterEach(async () => {
    db.close();
    await dir.remove();
  });

  const synchronous = () => db.pragma('synchronous', { simple: true });

  it('commits without an fsync (NORMAL) and leaves the database FULL for every other write', () => {
    expect(synchronous()).toBe(2);
    const during = bookkeeping(db, () => {
      db.prepare('INSERT INTO seen (id, at) VALUES (?, ?)').run('d1', 1);
      return synchronous();
    });
    expect(during).toBe(1);
    expect(synchronous()).toBe(2);
    expect(db.prepare('SELECT at FROM seen WHERE id = ?').pluck().get('d1')).toBe(1);
  });

  it('rolls back as one transaction and still restores FULL when the write throws', () => {
    expect(() =>
      bookkeeping(db, () => {
        db.prepare('INSERT INTO seen (id, at) VALUES (?, ?)').run('d2', 2);
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(synchronous()).toBe(2);
    expect(db.prepare('SELECT count(*) FROM seen').pluck().get()).toBe(0);
  });

  it("inside a caller's transaction, leaves the commit to the caller", () => {
    db.transaction(() => {
      bookkeeping(db, () => db.prepare('INSERT INTO seen (id, at) VALUES (?, ?)').run('d3', 3));
      expect(synchronous()).toBe(2);
    })();
    expect(db.prepare('SELECT count(*) FROM seen').pluck().get()).toBe(1);
  });
});
