import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../support/processes';
import { run, tempDir } from './support';

/** Offline checks of the container files: Compose's own validation and a Dockerfile linter. */
const lint = (file: string) => run(join(REPO, 'node_modules', '.bin', 'dockerfile-utils'), ['lint', file]);
const config = (file: string, env: NodeJS.ProcessEnv = {}) =>
  run('docker-compose', ['-f', file, 'config', '-q'], { env: { ...process.env, ...env } });

describe('static checks', () => {
  test('when docker-compose validates both compose files, then they pass', async () => {
    const prod = await config('docker-compose.prod.yml', { APP_VERSION: '0.1.0' });
    expect(prod.stderr).toBe('');
    expect(prod.code).toBe(0);
    const dev = await config('compose.yaml');
    expect(dev.stderr).toBe('');
    expect(dev.code).toBe(0);
  });

  test('CTR-5: when APP_VERSION is unset, then the production file refuses to resolve an image tag (never only latest)', async () => {
    const result = await config('docker-compose.prod.yml', { APP_VERSION: '' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('set APP_VERSION');
  });

  test('when the compose files are read as Compose v2 reads them, then they use no top-level name or version key', () => {
    for (const file of ['docker-compose.prod.yml', 'compose.yaml']) {
      const text = readFileSync(join(REPO, file), 'utf8');
      expect(text).not.toMatch(/^(name|version):/m);
    }
  });

  test('when dockerfile-utils lints the Dockerfile, then it reports nothing, and it does report a broken one', async () => {
    const result = await lint(join(REPO, 'Dockerfile'));
    expect(result.stdout.trim()).toBe('');
    expect(result.code).toBe(0);

    const broken = join(tempDir('lint'), 'Dockerfile');
    writeFileSync(broken, 'FROM node\nEXPOSE abc\n');
    expect((await lint(broken)).code).not.toBe(0);
  });

  test('when the Dockerfile is read, then every stage builds on the pinned Node 24 bookworm-slim base', () => {
    const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    const bases = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    const stages = [...text.matchAll(/^FROM \S+ AS (\S+)/gm)].map((m) => m[1]);
    const pinned = '$' + '{NODE_IMAGE}';
    for (const base of bases) expect([pinned, ...stages]).toContain(base);
  });
});
