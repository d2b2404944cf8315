import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { PROBLEM_TYPES } from '../src/http/problem';
import { useTestApp } from './support/harness';

/** Issue 11's one error catalog: docs, the OpenAPI document and the code agree with src/http/problem.ts. */
const { app } = useTestApp();

const catalog = Object.entries(PROBLEM_TYPES)
  .map(([kind, { status }]) => `/problems/${kind} ${status}`)
  .sort();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('one error catalog', () => {
  test('when docs/problems.md is read, then its table lists exactly the catalog, with the same statuses', () => {
    const rows = readFileSync('docs/problems.md', 'utf8')
      .split('\n')
      .map((line) => /^\| `(\/problems\/[a-z-]+)`\s*\| (\d{3})\s*\|/.exec(line))
      .filter((match) => match !== null)
      .map((match) => `${match[1]} ${match[2]}`)
      .sort();
    expect(rows).toEqual(catalog);
  });

  test('when the OpenAPI document is fetched, then its Problem schema allows exactly the catalog types', async () => {
    const { body } = await request(app).get('/api/v1/openapi.json').expect(200);
    const types = [...body.components.schemas.Problem.properties.type.enum].sort();
    expect(types).toEqual(
      Object.keys(PROBLEM_TYPES)
        .map((kind) => `/problems/${kind}`)
        .sort(),
    );
  });

  test('when the sources are read, then only the catalog writes problem+json and no status is hand-built', () => {
    const writers = sourceFiles('src').filter((path) =>
      readFileSync(path, 'utf8').includes("'application/problem+json'"),
    );
    // the catalog, the Node-level answers (no Express response exists there) and the document describing them
    expect(writers.sort()).toEqual([
      'src/http/client-error.ts',
      'src/http/problem.ts',
      'src/openapi/document.ts',
    ]);
    for (const path of sourceFiles('src')) {
      const text = readFileSync(path, 'utf8');
      expect({ path, found: /new Problem\(\s*\d/.test(text) || /\/problems\/[a-z]/.test(text) }).toEqual({
        path,
        found: false,
      });
    }
  });

  test('when every kind is listed, then each has a 4xx or 5xx status and a title', () => {
    for (const [kind, { status, title }] of Object.entries(PROBLEM_TYPES)) {
      expect({ kind, ok: status >= 400 && status <= 599 && title.length > 0 }).toEqual({ kind, ok: true });
    }
  });
});
