import { existsSync, readFileSync, statSync } from 'node:fs';

/**
 * The checklist verifier: docs/checklist.md must account for every production-checklist id and cite only files
 * that exist. A verified row's proof is a test whose title carries the id: the row quotes that title after
 * the test file, and the file must hold it. It also keeps the README's commands true: the quick start is the
 * two commands CI runs, and every `npm run X` it mentions exists.
 */

/** The merged checklist's ids: each prefix with its item count. */
const CHECKLIST = { CFG: 9, DB: 8, SEC: 16, SRV: 6, PXY: 7, CTR: 6, OBS: 10, HLT: 5, PRF: 4, OPS: 11 };
const STATUSES = new Set(['verified', 'shipped', 'operator', 'n/a']);
const EXPECTED_IDS = Object.entries(CHECKLIST).flatMap(([prefix, count]) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`),
);
/** Round 2 (../shared/checklist-items.md): mapped as the work that delivers each lands, never twice. */
const ROUND_2 = new Set(
  [9, 10, 11, 12, 13, 14, 15, 16]
    .map((n) => `DB-${n}`)
    .concat(['OPS-12', 'OPS-13', 'OPS-14', 'OPS-15', 'OPS-16', 'OPS-17', 'OPS-18', 'OPS-19'])
    .concat(['OBS-11', 'OBS-12', 'OBS-13', 'OBS-14', 'OBS-15', 'SEC-17', 'SEC-18', 'SRV-7']),
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

interface CitedTest {
  file: string;
  /** The titles quoted right after the file: `test/x.test.ts` "ID: title", "ID: other title". */
  titles: string[];
}

function citedTests(evidence: string): CitedTest[] {
  return [...evidence.matchAll(/`(test\/[\w./-]+\.test\.ts)`((?:[\s,]*(?:and\s+)?"[^"]+")*)/g)].map(
    (match) => ({
      file: match[1] ?? '',
      titles: [...(match[2] ?? '').matchAll(/"([^"]+)"/g)].map((title) => title[1] ?? ''),
    }),
  );
}

/** The literal titles of describe, it and test calls (test.each tables included), as written in the source. */
function testTitles(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const call =
    /\b(?:describe|it|test)(?:\.(?:each\([\s\S]*?\)|only|skip|concurrent|failing))*\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g;
  return [...source.matchAll(call)].map((match) => (match[2] ?? '').replace(/\\(['"`])/g, '$1'));
}

const namesId = (text: string, id: string) => new RegExp(`(?<![\\w-])${id}(?!\\d)`).test(text);

const rows = readRows();

describe('docs/checklist.md', () => {
  test('when the rows are read, then every checklist id appears exactly once and nothing else does', () => {
    const ids = rows.map((row) => row.id);
    expect(ids.filter((id) => !ROUND_2.has(id)).sort()).toEqual([...EXPECTED_IDS].sort());
    expect(ids.filter((id) => ROUND_2.has(id)).length).toBe(
      new Set(ids.filter((id) => ROUND_2.has(id))).size,
    );
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

  test('when a row is verified, then it cites at least one test by file and title', () => {
    const unproven = rows
      .filter((row) => row.status === 'verified')
      .filter((row) => !citedTests(row.evidence).some((cited) => cited.titles.length > 0))
      .map((row) => row.id);
    expect(unproven).toEqual([]);
  });

  test('when a row cites a test file, then the file holds a describe or test whose title names the id', () => {
    const unnamed = rows.flatMap((row) =>
      citedTests(row.evidence)
        .filter(
          ({ file }) =>
            !existsSync(file) ||
            statSync(file).isDirectory() ||
            !testTitles(file).some((title) => namesId(title, row.id)),
        )
        .map(({ file }) => `${row.id}: ${file}`),
    );
    expect(unnamed).toEqual([]);
  });

  test('when a row quotes a test title, then that file has exactly that title and it names the id', () => {
    const wrong = rows.flatMap((row) =>
      citedTests(row.evidence).flatMap(({ file, titles }) => {
        const actual = existsSync(file) ? testTitles(file) : [];
        return titles
          .filter((title) => !namesId(title, row.id) || !actual.includes(title))
          .map((title) => `${row.id}: ${file} "${title}"`);
      }),
    );
    expect(wrong).toEqual([]);
  });

  test('when titles are read from a test file, then describe, test, test.each and quoted forms are all found', () => {
    // The reader above must see the titles the rows rely on; a reader that found nothing would fail the rows,
    // not pass them, but this pins what it reads.
    expect(testTitles('test/checklist.test.ts')).toEqual(
      expect.arrayContaining([
        'docs/checklist.md',
        'when a row cites a file or folder, then it exists',
        'OPS-10: README',
      ]),
    );
  });
});

describe('OPS-10: README', () => {
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
