import { existsSync, readFileSync, statSync } from 'node:fs';

/**
 * The checklist verifier: docs/checklist.md must account for every production-checklist id, cite only files
 * that exist, and point at code or tests that name the id they satisfy. It also keeps the README's commands
 * true (OPS-10): the quick start is the two commands CI runs, and every `npm run X` it mentions exists.
 */

/** The merged checklist's ids: each prefix with its item count. */
const CHECKLIST = { CFG: 9, DB: 8, SEC: 16, SRV: 6, PXY: 7, CTR: 6, OBS: 10, HLT: 5, PRF: 4, OPS: 11 };
const STATUSES = new Set(['verified', 'shipped', 'operator', 'n/a']);
const EXPECTED_IDS = Object.entries(CHECKLIST).flatMap(([prefix, count]) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`),
);

interface Row {
  id: string;
  status: string;
  evidence: string;
}

function readRows(): Row[] {
  return readFileSync('docs/checklist.md', 'utf8')
    .split('\n')
    .map((line) => /^\|\s*([A-Z]+-\d+)\s*\|\s*([^|]+?)\s*\|\s*(.*?)\s*\|\s*$/.exec(line))
    .filter((match) => match !== null)
    .map(([, id = '', status = '', evidence = '']) => ({ id, status, evidence }));
}

/** Backticked tokens that name a file or folder of the repository (not commands, headers or variables). */
function citedPaths(evidence: string): string[] {
  return [...evidence.matchAll(/`([^`]+)`/g)]
    .map((match) => match[1] ?? '')
    .filter(
      (token) =>
        (/^[.\w][\w./-]*$/.test(token) &&
          (token.includes('/') ||
            /\.(md|ts|js|mjs|json|ya?ml|sh|conf|service|timer|template|py)$/.test(token))) ||
        token === 'Dockerfile' ||
        token === '.npmrc' ||
        token === '.gitignore' ||
        token === '.dockerignore',
    );
}

function names(file: string, id: string): boolean {
  if (!existsSync(file) || statSync(file).isDirectory()) return false;
  return new RegExp(`(?<![\\w-])${id}(?!\\d)`).test(readFileSync(file, 'utf8'));
}

const rows = readRows();

describe('docs/checklist.md', () => {
  test('when the rows are read, then every checklist id appears exactly once and nothing else does', () => {
    expect(rows.map((row) => row.id).sort()).toEqual([...EXPECTED_IDS].sort());
  });

  test('when a status is read, then it is verified, shipped, operator or n/a, with evidence beside it', () => {
    const bad = rows.filter((row) => !STATUSES.has(row.status) || row.evidence.length < 20);
    expect(bad).toEqual([]);
  });

  test('when a row cites a file or folder, then it exists', () => {
    const missing = rows.flatMap((row) =>
      citedPaths(row.evidence)
        .filter((path) => !existsSync(path))
        .map((path) => `${row.id}: ${path}`),
    );
    expect(missing).toEqual([]);
  });

  test('when a row is verified, then it cites a test, a CI step or a check script that can fail', () => {
    const unverifiable = rows
      .filter((row) => row.status === 'verified')
      .filter(
        (row) =>
          !citedPaths(row.evidence).some((path) => /^(test\/.+\.test\.ts|\.ci\/|scripts\/)/.test(path)),
      )
      .map((row) => row.id);
    expect(unverifiable).toEqual([]);
  });

  test('when a row cites its evidence, then at least one cited file names the id in a comment or heading', () => {
    const uncited = rows
      .filter((row) => !citedPaths(row.evidence).some((path) => names(path, row.id)))
      .map((row) => row.id);
    expect(uncited).toEqual([]);
  });
});

describe('README (OPS-10)', () => {
  const readme = readFileSync('README.md', 'utf8');
  const ci = readFileSync('.ci/run', 'utf8');
  const scripts: Record<string, string> = JSON.parse(readFileSync('package.json', 'utf8')).scripts;

  test('when a newcomer reads the quick start, then it is npm ci && npm run dev, then npm test, as CI runs them', () => {
    const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = quickStart
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter(Boolean);
    expect(commands).toEqual(['npm ci && npm run dev', 'npm test']);
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });

  test('when the README names an npm script, then package.json has it', () => {
    const named = [...readme.matchAll(/npm run ([a-z][\w:-]*)/g)].map((match) => match[1] ?? '');
    const shortNamed = [...readme.matchAll(/`(test:[\w]+|check:[\w]+)`/g)].map((match) => match[1] ?? '');
    const unknown = [...new Set([...named, ...shortNamed])].filter((name) => !(name in scripts));
    expect(named.length).toBeGreaterThan(3);
    expect(unknown).toEqual([]);
  });
});
