import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type ChangeStreamInsertDocument, type ResumeToken } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { cacheDir, prepareJavaServer, startJavaServer } from '../../src/mongo/javaServer.js';
import { silentLogger } from '../../src/observability/logger.js';
import { mongoBackend } from '../helpers/mongo.js';

const pgid = (pid: number): number =>
  Number(
    execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)])
      .toString()
      .trim(),
  );

/**
 * The embedded fallback's process and launcher options. Runs only where the harness itself uses
 * the fallback (Java and Maven are there); what it emulates is checked for any server by
 * mongoCapabilities.int.test.ts and by the Java tests (tools/mongo-java-server).
 */
describe.runIf(mongoBackend() === 'mongo-java-server')('embedded mongo-java-server', () => {
  it('runs in a process group of its own, answers, and stops when asked', async () => {
    const server = await startJavaServer(silentLogger());
    try {
      const pid = server.process.pid!;
      expect(pgid(pid)).not.toBe(pgid(process.pid));
      const client = new MongoClient(server.uri);
      try {
        expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
        const hello = await client.db('admin').command({ hello: 1 });
        expect(hello).toMatchObject({ setName: 'rs0', isWritablePrimary: true });
      } finally {
        await client.close();
      }
    } finally {
      await server.stop();
    }
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
  }, 60_000);

  it('keeps the newest oplogMaxEntries entries: resuming before them fails with 286', async () => {
    const server = await startJavaServer(silentLogger(), { oplogMaxEntries: 20 });
    const client = new MongoClient(server.uri);
    try {
      const coll = client.db('history').collection('event_store');
      const stream = coll.watch([{ $match: { operationType: 'insert' } }], { maxAwaitTimeMS: 50 });
      await stream.tryNext();
      await coll.insertOne({ n: 0 });
      const first = (await stream.next()) as ChangeStreamInsertDocument;
      const token: ResumeToken = first._id;
      await stream.close();
      for (let n = 1; n <= 30; n++) await coll.insertOne({ n });

      const late = coll.watch([], { resumeAfter: token });
      await expect(late.tryNext()).rejects.toMatchObject({
        code: 286,
        codeName: 'ChangeStreamHistoryLost',
      });
      await late.close().catch(() => undefined);
    } finally {
      await client.close();
      await server.stop();
    }
  }, 60_000);

  it('refuses a bad launcher option with an error that names it', async () => {
    const zero = startJavaServer(silentLogger(), { oplogMaxEntries: 0 });
    await expect(zero).rejects.toMatchObject({ code: 'EMBEDDED_MONGO_OPTION_INVALID' });
    await expect(zero).rejects.toThrow(/oplogMaxEntries must be a whole number of at least 1/);
    const badName = startJavaServer(silentLogger(), { replicaSetName: 'not a name' });
    await expect(badName).rejects.toMatchObject({ code: 'EMBEDDED_MONGO_EXITED' });
    await expect(badName).rejects.toThrow(/--replica-set must be/);
  }, 60_000);

  it('recompiles the launcher only when what it was built from changed', () => {
    const cache = mkdtempSync(join(tmpdir(), 'projectord-java-cache-'));
    const saved = process.env.PROJECTORD_CACHE_DIR;
    try {
      prepareJavaServer(silentLogger());
      cpSync(cacheDir(), cache, { recursive: true });
      process.env.PROJECTORD_CACHE_DIR = cache;
      const fingerprint = join(cache, 'classes', 'FINGERPRINT');
      const built = statSync(fingerprint).ino;
      prepareJavaServer(silentLogger());
      expect(statSync(fingerprint).ino, 'up to date: not rebuilt').toBe(built);
      const stamp = readFileSync(fingerprint, 'utf8');
      writeFileSync(fingerprint, 'built from other sources');
      prepareJavaServer(silentLogger());
      expect(readFileSync(fingerprint, 'utf8')).toBe(stamp);
      const main = join(cache, 'classes', 'dev', 'projectord', 'mongo', 'EmbeddedMongo.class');
      expect(statSync(main).isFile()).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.PROJECTORD_CACHE_DIR;
      else process.env.PROJECTORD_CACHE_DIR = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  }, 120_000);
});
