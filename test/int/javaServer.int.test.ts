import { execFileSync } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { startJavaServer } from '../../src/mongo/javaServer.js';
import { silentLogger } from '../../src/observability/logger.js';
import { mongoBackend } from '../helpers/mongo.js';

const pgid = (pid: number): number =>
  Number(
    execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)])
      .toString()
      .trim(),
  );

/**
 * The embedded fallback's process: a Ctrl-C in a terminal signals the whole foreground process
 * group, and the demo must still have its MongoDB to catch up and verify after the first one.
 * Runs only where the harness itself uses the fallback (Java and Maven are there).
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
      } finally {
        await client.close();
      }
    } finally {
      await server.stop();
    }
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
  }, 60_000);
});
