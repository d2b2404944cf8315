/**
 * The flags every deployment starts shipshape's Node with: V8 reads them once, at start-up, so the app
 * cannot set them itself. The Dockerfile (ENV NODE_OPTIONS), the systemd unit (Environment=NODE_OPTIONS),
 * `npm start` and the bench pass exactly these; test/runtime-flags.test.ts holds them to this list.
 *
 * The young generation is capped at 16 MB a semi-space: Node 24 otherwise grows it to 64 MB under load, and a
 * worker on the notes page reached 221 MB of RSS instead of 136 (docs/performance.md, change 12).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** The same flags as one NODE_OPTIONS value. */
export const NODE_OPTIONS = NODE_FLAGS.join(' ');
