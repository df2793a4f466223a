import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/lib/paths.js';
import { waitFor } from '../helpers/mongo.js';

/**
 * Issue 17's "done when", as a new user would do it: `npm pack` the project, `npm install` the
 * tarball into a fresh folder (with TypeScript and vitest, as the user's own dev tools), and
 * there: type-check a TypeScript module and its vitest spec against the package's own types,
 * run the spec (it uses `projectord/testing`), start the packaged embedded MongoDB
 * (`projectord mongo`) and run the daemon on a folder holding the TS module and a JS module.
 * Dependencies come from npm's cache first (`--prefer-offline`); the registry only fills gaps.
 */
const exec = promisify(execFile);
const FIXTURE = resolve(import.meta.dirname, '../fixtures/install');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The project's own versions of the user's dev tools, so nothing new is fetched. */
function devVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  return pkg.devDependencies[name] ?? 'latest';
}

describe('the packed package, installed into a fresh project', () => {
  const work = mkdtempSync(join(tmpdir(), 'projectord-install-'));
  const project = join(work, 'shop');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  beforeAll(async () => {
    // dist/ is current: the suite's `pretest` built it.
    await exec(npm, ['pack', '--ignore-scripts', '--pack-destination', work], {
      cwd: packageRoot(),
    });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
    cpSync(FIXTURE, project, { recursive: true });
    await exec(
      npm,
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(work, tarball),
        `typescript@${devVersion('typescript')}`,
        `vitest@${devVersion('vitest')}`,
        `@types/node@${devVersion('@types/node')}`,
      ],
      { cwd: project, timeout: 240_000 },
    );
  }, 300_000);

  // tsc checks every declaration file of the package and its dependencies (skipLibCheck off):
  // ~10 s on an idle machine, nearer a minute on a loaded one. Bounded by that, not the default.
  it(
    'type-checks the module and its spec with tsc against the package types',
    { timeout: 180_000 },
    async () => {
      await exec(join(project, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], {
        cwd: project,
      });
    },
  );

  it('runs the spec, which uses projectord/testing', async () => {
    const { stdout } = await exec(join(project, 'node_modules', '.bin', 'vitest'), ['run'], {
      cwd: project,
      env: { ...process.env, CI: 'true' },
    });
    expect(stdout).toMatch(/2 passed/);
  });

  // Bounded by what it does, not by the int suite's default: the first `projectord mongo` of a
  // fresh install resolves and compiles the embedded server's launcher with Maven (~10-30 s
  // here, more on a loaded machine) before the daemon starts.
  it(
    'runs the daemon on a TS and a JS module against the embedded MongoDB',
    { timeout: 240_000 },
    async () => {
      const bin = join(project, 'node_modules', '.bin', 'projectord');
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('PROJECTORD_')),
      );
      const mongo = spawn(bin, ['mongo', '--log-level', 'warn'], { cwd: project, env });
      children.push(mongo);
      const uri = await new Promise<string>((res, rej) => {
        const lines = createInterface({ input: mongo.stdout });
        lines.once('line', (line) => res(line.trim()));
        mongo.once('exit', (code) => rej(new Error(`projectord mongo exited with ${code}`)));
      });
      expect(uri).toMatch(/^mongodb:\/\//);
      const client = new MongoClient(uri);
      try {
        const db = client.db('shop');
        const at = new Date();
        const event = (id: string, version: number, eventType: string, eventData: object) => ({
          eventId: `${id}:${version}`,
          aggregateId: id,
          aggregateType: 'Order',
          eventType,
          eventVersion: '1.0',
          version,
          eventTimestamp: at,
          storedAt: at,
          eventData,
          eventMetadata: {},
        });
        await db
          .collection('event_store')
          .insertMany([
            event('o-1', 1, 'OrderPlaced', { customer: 'ada', lines: [{ price: 5 }] }),
            event('o-2', 1, 'OrderPlaced', { customer: 'ada', lines: [{ price: 2 }] }),
            event('o-2', 2, 'OrderShipped', {}),
          ]);
        writeFileSync(join(project, 'projectord.yaml'), 'modules:\n  dir: modules\n');
        let output = '';
        const daemon = spawn(
          bin,
          ['run', '--mongo-uri', uri, '--db', 'shop', '--config', 'projectord.yaml'],
          { cwd: project, env: { ...env, PROJECTORD_METRICS_PORT: '0' } },
        );
        children.push(daemon);
        daemon.stdout.on('data', (d: Buffer) => (output += d.toString()));
        daemon.stderr.on('data', (d: Buffer) => (output += d.toString()));
        const orders = () => db.collection('orders_view').find({}).sort({ _id: 1 }).toArray();
        await waitFor(
          async () => {
            if (daemon.exitCode !== null) throw new Error(`the daemon exited:\n${output}`);
            const customers = await db
              .collection('customers_view')
              .findOne({ _id: 'ada' as never });
            return (await orders()).length === 2 && customers?.orders === 2;
          },
          { timeoutMs: 60_000, intervalMs: 200, what: 'the installed daemon to apply the events' },
        );
        expect(await orders()).toEqual([
          { _id: 'o-1', customer: 'ada', total: 5, status: 'placed', version: 1 },
          { _id: 'o-2', customer: 'ada', total: 2, status: 'shipped', version: 2 },
        ]);
        const exited = new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
        daemon.kill('SIGTERM');
        expect(await exited, output).toBe(0);
      } finally {
        await client.close();
        mongo.kill('SIGTERM');
      }
    },
  );
});
