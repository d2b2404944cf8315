import { readFileSync } from 'node:fs';
import { SHIPSHAPE_NODE_OPTIONS } from '../bench/servers';

const read = (path: string) => readFileSync(path, 'utf8');

/**
 * The young-generation cap is a start-up flag (V8 reads it once), so every way a deployment starts the app
 * must pass it, and the bench must measure the app the way they run it (docs/performance.md, change 12).
 */
describe('V8 flags of a deployed process', () => {
  test('when the image, the systemd unit, npm start and the bench start shipshape, then all pass the same flags', () => {
    expect(SHIPSHAPE_NODE_OPTIONS).toMatch(/^--max-semi-space-size=\d+$/);
    expect(read('Dockerfile')).toMatch(new RegExp(`^\\s+NODE_OPTIONS=${SHIPSHAPE_NODE_OPTIONS}$`, 'm'));
    expect(read('systemd/shipshape.service')).toContain(
      `\nEnvironment=NODE_OPTIONS=${SHIPSHAPE_NODE_OPTIONS}\n`,
    );
    const start = JSON.parse(read('package.json')).scripts.start as string;
    expect(start.split(' ')).toContain(SHIPSHAPE_NODE_OPTIONS);
  });
});
