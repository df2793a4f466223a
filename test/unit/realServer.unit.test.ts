import type { Db, Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { decideConfirmInserts, isRealMongod } from '../../src/source/confirmInserts.js';

/**
 * Issue 15, item 12: the real-server decision (source.confirmInserts `auto`), from buildInfo
 * replies as servers send them.
 */
function dbAnswering(reply: Document | Error): Db & { asked: number } {
  const state = { asked: 0 };
  const admin = {
    command: (cmd: Document) => {
      state.asked++;
      expect(cmd).toEqual({ buildInfo: 1 });
      return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
    },
  };
  return Object.assign({ admin: () => admin }, state) as unknown as Db & { asked: number };
}

// Trimmed replies: mongod 7.0 of a replica set, mongos 8.0, and mongo-java-server 1.47.
const mongod = { version: '7.0.14', gitVersion: 'ce59cfc6a3c5e5c067dca0d30697edd68d4f5188', ok: 1 };
const mongos = { version: '8.0.3', gitVersion: '89d97f2744a2b9851ddfb51bdf22f687562d9b06', ok: 1 };
const fallback = { version: '6.0.0', versionArray: [6, 0, 0], maxBsonObjectSize: 16777216, ok: 1 };

describe('recognising a real MongoDB server', () => {
  it('a mongod or a mongos reports gitVersion; the embedded fallback does not', async () => {
    expect(await isRealMongod(dbAnswering(mongod))).toBe(true);
    expect(await isRealMongod(dbAnswering(mongos))).toBe(true);
    expect(await isRealMongod(dbAnswering(fallback))).toBe(false);
  });

  it('auto confirms live events only where the server is not a real mongod', async () => {
    const log = silentLogger();
    expect(await decideConfirmInserts(dbAnswering(mongod), 'auto', log)).toBe(false);
    expect(await decideConfirmInserts(dbAnswering(fallback), 'auto', log)).toBe(true);
  });

  it('auto confirms when buildInfo fails (in doubt, the safe side)', async () => {
    const e = Object.assign(new Error('not authorized on admin to execute command'), { code: 13 });
    expect(await decideConfirmInserts(dbAnswering(e), 'auto', silentLogger())).toBe(true);
  });

  it('always and never are obeyed without asking the server', async () => {
    const db = dbAnswering(mongod);
    expect(await decideConfirmInserts(db, 'always', silentLogger())).toBe(true);
    expect(await decideConfirmInserts(db, 'never', silentLogger())).toBe(false);
    expect(db.asked).toBe(0);
  });
});
