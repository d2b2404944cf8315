/**
 * usage: npx tsx bench/profile.ts [raw|express|live|list|create] (after npm run build)
 *
 * Runs one server under `node --cpu-prof` (pinned as in the bench), loads it for BENCH_SECONDS (10) at
 * BENCH_CONNECTIONS (50) after a warm-up, stops it, and prints where its CPU went: self time by package and
 * by function, idle left out. The .cpuprofile stays in bench/results/profiles/ for Chrome DevTools.
 * BENCH_DATABASE_URL as in the bench.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chooseLoadGenerator } from './load.js';
import { openBenchDatabase, type ServerKind, seed, startServer } from './servers.js';
import { detectPinning } from './system.js';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const TARGETS: Record<
  string,
  { kind: ServerKind; method: 'GET' | 'POST'; path: string; auth?: boolean; body?: string }
> = {
  raw: { kind: 'raw', method: 'GET', path: '/' },
  express: { kind: 'express', method: 'GET', path: '/' },
  live: { kind: 'shipshape', method: 'GET', path: '/health/live' },
  list: { kind: 'shipshape', method: 'GET', path: '/api/v1/notes', auth: true },
  create: {
    kind: 'shipshape',
    method: 'POST',
    path: '/api/v1/notes',
    auth: true,
    body: JSON.stringify({ title: 'bench', body: 'A note written by the profiler under load.' }),
  },
};

const say = (line = '') => process.stdout.write(`${line}\n`);

/** node_modules/<package> (scoped too), our own dist/ file, or V8's and Node's own. */
function component(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  if (url.startsWith('node:')) return 'node core';
  const own = /\/(dist|bench)\/(.+)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

/** Self time from `skipMs` after the process started (its start-up left out), by package and by function. */
function summarise(profile: Profile, top: number, skipMs: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byComponent = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byOwner = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  let total = 0;
  let at = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const micros = profile.timeDeltas[i] ?? 0;
    at += micros;
    if (at < skipMs * 1000 || !node || node.callFrame.functionName === '(idle)') return;
    total += micros;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = component(url, functionName);
    byComponent.set(where, (byComponent.get(where) ?? 0) + micros);
    const name = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    // Inclusive: every package or file of ours on the stack gets the sample once (what it costs with its callees).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame?.url) seen.add(component(frame.url, frame.functionName));
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    // Owner: the innermost package or file of ours on the stack, so the Node core and native time a package
    // causes (a socket write, a header) counts for it, and each sample counts once.
    let owner = functionName.startsWith('(')
      ? functionName
      : 'node core, called by nothing of ours (event loop)';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      const where = frame?.url ? component(frame.url, frame.functionName) : undefined;
      if (where && where !== 'node core') {
        owner = where;
        break;
      }
    }
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
  });
  const print = (title: string, map: Map<string, number>) => {
    say(title);
    for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      say(`  ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`);
    }
  };
  print(
    'busy time by owner (the Node core and native time each caused counted with it; adds up to 100%):',
    byOwner,
  );
  say();
  print('self time by package (busy time, idle left out):', byComponent);
  say();
  print('self time by function:', byFunction);
  say();
  const packages = new Map(
    [...inclusive].filter(([name]) => !['node core', 'express', 'router'].includes(name)),
  );
  print(
    'inclusive time by package or file of ours (with what it calls; express and router left out):',
    packages,
  );
}

async function main() {
  const which = process.argv[2] ?? 'live';
  const target = TARGETS[which];
  if (!target) throw new Error(`usage: bench/profile.ts [${Object.keys(TARGETS).join('|')}]`);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const pinning = detectPinning();
  pinning.move(process.pid, '0');
  const load = chooseLoadGenerator(pinning);
  const profileDir = join(__dirname, 'results', 'profiles');
  mkdirSync(profileDir, { recursive: true });
  const db = await openBenchDatabase(process.env.BENCH_DATABASE_URL);
  const common = { workers: 1, pinning, databaseUrl: db.url, rateLimitMax: 30_000 * (seconds + 3) };
  try {
    let token: string | undefined;
    if (target.auth) {
      const seeder = await startServer({ ...common, kind: 'shipshape', logFile: '/dev/null' });
      token = (await seed(seeder.url, 20).finally(() => seeder.stop())).token;
    }
    const started = Date.now();
    const server = await startServer({
      ...common,
      kind: target.kind,
      logFile: '/dev/null',
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    });
    const request = {
      url: `${server.url}${target.path}`,
      method: target.method,
      connections,
      ...(target.body && { body: target.body }),
      ...(token && { token }),
    };
    await load.run({ ...request, seconds: 2 });
    const result = await load.run({ ...request, seconds });
    await server.stop();
    say(
      `${which}: ${Math.round(result.requests / result.seconds)} req/s, p99 ${result.p99Ms.toFixed(1)} ms (${load.name}, ${connections} connections, ${seconds} s, profiler on)`,
    );
    const newest = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(profileDir, f))
      .filter((f) => statSync(f).mtimeMs >= started)
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    if (!newest) throw new Error('the server wrote no .cpuprofile');
    say(`profile: ${newest} (start-up, the first ${Math.round(server.readyMs)} ms, left out below)`);
    say();
    summarise(JSON.parse(readFileSync(newest, 'utf8')) as Profile, 15, server.readyMs);
  } finally {
    await db.close();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
