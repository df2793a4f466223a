import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

/** The deployment files are read by people and tools, not by our code: keep them honest. */
const file = (name: string) => new URL(`../../${name}`, import.meta.url);

describe('config/sidecar.example.yaml', () => {
  it('is a valid configuration', () => {
    const config = loadConfig({ file: file('config/sidecar.example.yaml').pathname, env: {} });
    expect(config.metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.mongoUri).toBeUndefined();
    expect(config.shutdown.timeoutMs).toBeLessThan(30_000);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(file('Dockerfile'), 'utf8');

  it('builds and runs on Node 24 LTS', () => {
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=24$/m);
    expect(dockerfile.match(/^FROM node:\$\{NODE_VERSION\}-slim/gm)).toHaveLength(2);
  });

  it('exposes and health-checks the default metrics port', () => {
    expect(dockerfile).toMatch(/^EXPOSE 9464$/m);
    expect(dockerfile).toContain("|| 9464) + '/healthz'");
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", /m);
  });

  it('runs as a non-root user with the CLI as entrypoint and run as default command', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["projectord"\]$/m);
    expect(runtime).toContain('ln -s /app/bin/projectord.js /usr/local/bin/projectord');
    expect(runtime).toMatch(/^CMD \["run"\]$/m);
    expect(runtime).toContain('npm ci --omit=dev --ignore-scripts');
  });

  it('copies what bin/projectord.js imports and what packageRoot() looks for', () => {
    const bin = readFileSync(file('bin/projectord.js'), 'utf8');
    expect(bin).toContain("'../dist/src/cli/main.js'");
    expect(dockerfile).toContain('COPY --from=build /app/dist ./dist');
    expect(dockerfile).toContain('COPY tools/mongo-java-server/pom.xml');
    const ignored = readFileSync(file('.dockerignore'), 'utf8').split('\n');
    expect(ignored).not.toContain('tools');
    expect(ignored).not.toContain('src');
  });
});
