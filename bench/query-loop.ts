/**
 * usage: BENCH_DATABASE_URL=postgres://... npx tsx bench/query-loop.ts [queries per sample]
 *
 * The notes page's query (20 rows of the bench account, as a named prepared statement) in a loop with 8 in
 * flight on a pool of 4, run two ways in interleaved rounds: through knex's runner (`knex.raw(...).options({ name })`,
 * what preparedQuery does) and on a connection of knex's pool through pg's own `query` (the lever of
 * docs/performance.md, change 15, measured and dropped). Prints the client's CPU, wall and GC time per query,
 * which a busy neighbour on a shared machine disturbs far less than requests per second; asserts nothing.
 * Run `npm run bench` (or the bench once) first: it seeds the account and notes this reads.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type pg from 'pg';
import { createDatabase, type Knex } from '../src/db/knex.js';

const SQL =
  'select id, title, body, created_at, updated_at from notes where user_id = ? order by id desc limit ?';
const PG_SQL = SQL.replace('?', '$1').replace('?', '$2');
const IN_FLIGHT = 8;
const ROUNDS = 5;

type Way = 'knex runner' | 'pg direct';
const run: Record<Way, (db: Knex, userId: string) => Promise<unknown>> = {
  'knex runner': (db, userId) => db.raw(SQL, [userId, 21]).options({ name: 'loop_knex' }),
  'pg direct': async (db, userId) => {
    const connection = (await db.client.acquireConnection()) as pg.Client;
    try {
      return await connection.query({ name: 'loop_direct', text: PG_SQL, values: [userId, 21] });
    } finally {
      void db.client.releaseConnection(connection);
    }
  },
};

/** Milliseconds spent in garbage collection since the start, from V8's gc performance entries. */
let gcMillis = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMillis += entry.duration;
}).observe({ entryTypes: ['gc'] });

async function sample(db: Knex, way: Way, userId: string, queries: number) {
  let left = queries;
  const gcBefore = gcMillis;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await run[way](db, userId);
    }),
  );
  const used = process.cpuUsage(cpu);
  await new Promise((resolve) => setImmediate(resolve)); // let the last gc entries arrive
  return {
    gcMicros: ((gcMillis - gcBefore) * 1000) / queries,
    cpuMicros: (used.user + used.system) / queries,
    wallMicros: ((performance.now() - started) * 1000) / queries,
  };
}

async function main(): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) throw new Error('BENCH_DATABASE_URL must name the PostgreSQL database the bench seeded');
  const queries = Number(process.argv[2] ?? 20_000);
  const db = createDatabase({ url, poolMin: 4, poolMax: 4 });
  try {
    const owner = await db.raw<{ rows: { user_id: string }[] }>(
      'select user_id from notes group by user_id order by count(*) desc limit 1',
    );
    const userId = owner.rows[0]?.user_id;
    if (!userId) throw new Error('no notes in this database: run the bench on it once first');
    const ways = Object.keys(run) as Way[];
    for (const way of ways) await sample(db, way, userId, 2_000); // warm-up: JIT, pool, statements prepared
    const figures = new Map<Way, { cpu: number[]; wall: number[] }>(
      ways.map((w) => [w, { cpu: [], wall: [] }]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of round % 2 ? [...ways].reverse() : ways) {
        const { cpuMicros, wallMicros, gcMicros } = await sample(db, way, userId, queries);
        figures.get(way)!.cpu.push(cpuMicros);
        figures.get(way)!.wall.push(wallMicros);
        process.stdout.write(
          `round ${round + 1} ${way.padEnd(13)} ${cpuMicros.toFixed(1)} us CPU/query  ${wallMicros.toFixed(1)} us wall/query  ${gcMicros.toFixed(1)} us GC/query\n`,
        );
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const [before, after] = ways.map((w) => figures.get(w)!);
    process.stdout.write(
      `median CPU per query: knex runner ${median(before!.cpu).toFixed(1)} us, pg direct ${median(after!.cpu).toFixed(1)} us ` +
        `(${(median(after!.cpu) / median(before!.cpu)).toFixed(2)}x); wall ${median(before!.wall).toFixed(1)} -> ${median(after!.wall).toFixed(1)} us\n`,
    );
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
