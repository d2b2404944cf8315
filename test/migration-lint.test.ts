import { readdirSync } from 'node:fs';
import { runCommand, TSX_CLI } from './support/processes';

/**
 * The migration linter (npm run lint:migrations) as CI runs it: on the shipped migrations, and on fixtures of
 * bad and good migrations (test/fixtures/migration-lint/, applied in order on one scratch database).
 */
jest.setTimeout(180_000);

const FIXTURES = 'test/fixtures/migration-lint';
const lint = (...args: string[]) =>
  runCommand(process.execPath, [TSX_CLI, 'src/cli/lint-migrations.ts', ...args], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'silent' },
    timeoutMs: 170_000,
  });

test('OPS-15: when the shipped migrations are linted, then none is flagged and the reviewed contract steps are counted', async () => {
  const result = await lint();
  expect(result.stdout).toMatch(
    /^migration lint: \d+ migrations, no problems \(3 reviewed contract steps\)$/m,
  );
  expect(result.status).toBe(0);
});

test('OPS-15: when bad migrations are linted, then each is flagged with its rule and what it touches, and the good ones pass', async () => {
  const result = await lint('--dir', FIXTURES);
  expect(result.status).toBe(1);
  const lines = result.stdout.split('\n');
  const about = (file: string) => lines.filter((line) => line.startsWith(`${FIXTURES}/${file}: `));
  const expected: Record<string, RegExp> = {
    '0002_bad_drop_column.js': /: drop-column: drops column t_a\.legacy: /,
    '0003_bad_rename_column.js': /: rename-column: renames column t_b\.title to name: /,
    '0004_bad_drop_table.js': /: drop-table: drops table t_c: /,
    '0005_bad_rename_table.js': /: rename-table: renames table t_d to t_dd: /,
    '0006_bad_change_type.js': /: change-column-type: changes the type of t_e\.title: /,
    '0007_bad_not_null_without_default.js':
      /: not-null-without-default: adds t_f\.rank NOT NULL without a default: /,
    '0008_bad_index_not_concurrent.js':
      /: index-not-concurrent: creates index t_g_title_idx on t_g without CONCURRENTLY: /,
    '0009_bad_missing_lock_timeout.js':
      /: missing-lock-timeout: alters t_h without a lock_timeout set before it: /,
    '0010_bad_mark_without_reason.js': /: contract\.reviewed must say, in a sentence, why this step is safe/,
    '0013_bad_set_not_null.js': /: set-not-null: sets t_l\.title NOT NULL: /,
    '0014_bad_concurrent_index_in_transaction.js':
      /: concurrent-index-in-transaction: creates t_l_title_idx concurrently in a transaction: .*export config = \{ transaction: false \}/,
  };
  const files = readdirSync(FIXTURES).sort();
  for (const file of files) {
    const flagged = about(file);
    if (file.includes('_bad_')) {
      expect({ file, flagged: flagged.some((line) => expected[file]!.test(line)) }).toEqual({
        file,
        flagged: true,
      });
    } else {
      expect({ file, flagged }).toEqual({ file, flagged: [] });
    }
  }
  // A mark without a reason accepts nothing: the drop it meant to allow is still flagged.
  expect(about('0010_bad_mark_without_reason.js').some((line) => /: drop-column: /.test(line))).toBe(true);
  expect(about('0014_bad_concurrent_index_in_transaction.js').at(-1)).toMatch(
    /does not run: .*cannot run inside a transaction block/,
  );
  expect(Object.keys(expected).every((file) => files.includes(file))).toBe(true);
});

test('when the linter is given an unknown argument, then it prints its usage and exits 64', async () => {
  const result = await lint('--sideways');
  expect(result.status).toBe(64);
  expect(result.stderr).toContain('usage: npm run lint:migrations');
});
