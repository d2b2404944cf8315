import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS, NODE_OPTIONS } from '../src/process/node-flags';

const read = (path: string) => readFileSync(path, 'utf8');

/** Every TypeScript file of the bench, in whatever modules it is split. */
const benchSources = () =>
  readdirSync('bench', { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file, text: read(join('bench', file)) }));

/**
 * The young-generation cap is a start-up flag (V8 reads it once), so every way a deployment starts the app
 * must pass it, and the bench must measure the app the way they run it (docs/performance.md, change 12).
 * The one list is src/process/node-flags.ts.
 */
describe('V8 flags of a deployed process', () => {
  test('when the image, the systemd unit and npm start start shipshape, then each passes the app list of flags', () => {
    expect(NODE_FLAGS).toContain('--max-semi-space-size=16');
    expect(read('Dockerfile')).toMatch(new RegExp(`^\\s+NODE_OPTIONS=${NODE_OPTIONS}$`, 'm'));
    expect(read('systemd/shipshape.service')).toContain(`\nEnvironment=NODE_OPTIONS=${NODE_OPTIONS}\n`);
    const start = (JSON.parse(read('package.json')).scripts.start as string).split(' ');
    expect(start.slice(1, 1 + NODE_FLAGS.length)).toEqual([...NODE_FLAGS]);
  });

  test('when the bench starts shipshape, then it reads the app list of flags and spells none of them itself', () => {
    const sources = benchSources();
    expect(
      sources.some(({ text }) => /from '\.\.?\/(\.\.\/)*src\/process\/node-flags(\.js)?'/.test(text)),
    ).toBe(true);
    for (const flag of NODE_FLAGS) {
      const name = flag.split('=')[0]!;
      expect(sources.filter(({ text }) => text.includes(name)).map(({ file }) => file)).toEqual([]);
    }
  });
});
