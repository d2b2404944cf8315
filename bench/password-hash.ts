/**
 * usage: npx tsx bench/password-hash.ts
 *
 * What the app's password hash (argon2id, 19 MiB, src/features/accounts/passwords.ts) costs, and what a worker
 * keeps of its memory afterwards, two ways in alternated rounds: glibc's allocator as it comes, and with
 * MALLOC_MMAP_THRESHOLD_ fixed at 128 KiB, so each freed 19 MiB block goes back to the kernel instead of
 * staying in the arena of the libuv thread that hashed (docs/performance.md, change 18). Each sample is a fresh
 * process on one core hashing 60 passwords, 4 at a time (libuv's 4 threads); prints CPU and wall time per
 * hash and the process's RSS after; asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hashPassword } from '../src/features/accounts/passwords.js';
import { detectPinning } from './system.js';

const BATCHES = 15;
const IN_FLIGHT = 4;
const ROUNDS = 3;
const WAYS: Record<string, NodeJS.ProcessEnv> = {
  'glibc default': {},
  'MALLOC_MMAP_THRESHOLD_=131072': { MALLOC_MMAP_THRESHOLD_: '131072' },
};

async function sample() {
  for (let i = 0; i < 2 * IN_FLIGHT; i++) await hashPassword(`warm-up-${i}`);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let batch = 0; batch < BATCHES; batch++) {
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => hashPassword(`password-${batch}-${i}`)));
  }
  const hashes = BATCHES * IN_FLIGHT;
  const used = process.cpuUsage(cpu);
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  process.stdout.write(
    JSON.stringify({
      cpuMs: (used.user + used.system) / 1000 / hashes,
      kernelMs: used.system / 1000 / hashes,
      wallMs: (performance.now() - started) / hashes,
      rssMb: rssKb / 1024,
    }),
  );
}

function main() {
  const pinning = detectPinning();
  say(
    `${BATCHES * IN_FLIGHT} hashes a sample, ${IN_FLIGHT} at a time, one core; ${ROUNDS} alternated rounds`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [way, env] of Object.entries(WAYS)) {
      const command = [...pinning.prefix('1'), process.execPath, ...process.execArgv, __filename, '--sample'];
      const out = execFileSync(command[0]!, command.slice(1), { env: { ...process.env, ...env } }).toString();
      const s = JSON.parse(out) as { cpuMs: number; kernelMs: number; wallMs: number; rssMb: number };
      say(
        `  round ${round}  ${way.padEnd(30)} ${s.cpuMs.toFixed(1)} ms CPU a hash (kernel ${s.kernelMs.toFixed(1)}), ${s.wallMs.toFixed(1)} ms wall, RSS after ${s.rssMb.toFixed(0)} MB`,
      );
    }
  }
}

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

if (process.argv.includes('--sample')) void sample();
else main();
