import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Clock ticks per second of /proc's CPU counters (USER_HZ); 100 on every Linux that Node supports. */
const TICKS_PER_SECOND = 100;

export interface CpuSample {
  /** Ticks any CPU spent busy, summed over CPUs. */
  busy: number;
  /** Ticks that passed, summed over CPUs. */
  total: number;
  at: number;
}

/** The machine-wide counters of /proc/stat: busy includes steal, so a noisy hypervisor counts as a hog too. */
export function sampleCpu(): CpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0), at: Date.now() };
}

/** utime + stime of one process, plus its reaped children's when `withChildren` (a load generator that exited). */
export function processTicks(pid: number, withChildren = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    const own = Number(fields[11]) + Number(fields[12]);
    return withChildren ? own + Number(fields[13]) + Number(fields[14]) : own;
  } catch {
    return 0; // the process has exited
  }
}

/** The process and every descendant (a cluster primary's workers), from /proc. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(parent) ?? [];
      list.push(Number(entry));
      children.set(parent, list);
    } catch {
      // gone between readdir and read
    }
  }
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Resident set size in bytes, or 0 when the process has gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU (in cores) used by processes that are not ours over an interval, and by ours. */
export function foreignCores(before: CpuSample, after: CpuSample, oursTicks: number): number {
  const elapsedTicks = (after.total - before.total) / coreCount();
  if (elapsedTicks <= 0) return 0;
  return Math.max(0, (after.busy - before.busy - oursTicks) / elapsedTicks);
}

/** Every core of the machine; availableParallelism() would count only those this process is pinned to. */
export const coreCount = () => cpus().length;

export const ticksToSeconds = (ticks: number) => ticks / TICKS_PER_SECOND;

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Pinning {
  available: boolean;
  /** The command prefix that runs a program on the given CPUs, e.g. ['taskset', '-c', '1']. */
  prefix(cpus: string): string[];
  /** Moves a running process (every thread) onto the given CPUs. */
  move(pid: number, cpus: string): void;
  describe: string;
}

/** taskset when there is a core for the server and another for the load generator; else nothing is pinned. */
export function detectPinning(): Pinning {
  const available = hasCommand('taskset') && coreCount() >= 2;
  return {
    available,
    prefix: (cpus) => (available ? ['taskset', '-c', cpus] : []),
    move: (pid, cpus) => {
      if (available) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    },
    describe: available
      ? 'taskset: server on core 1, load generator and database on core 0'
      : 'not pinned (taskset missing or a single core): figures include contention with the load generator',
  };
}

export const haveWrk = () => hasCommand('wrk');

export function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1] ?? 'unknown';
}

/** CPU ticks of every process now, by pid, with its command name: to name the hog when a sample is refused. */
export function allProcessTicks(): Map<number, { name: string; ticks: number }> {
  const result = new Map<number, { name: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      result.set(Number(entry), { name, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // gone
    }
  }
  return result;
}

/** The processes, other than `ours`, that used the most CPU between two snapshots, e.g. "jest (0.84 cores)". */
export function topForeign(
  before: Map<number, { name: string; ticks: number }>,
  after: Map<number, { name: string; ticks: number }>,
  ours: Set<number>,
  seconds: number,
): string[] {
  const used: { name: string; cores: number }[] = [];
  for (const [pid, now] of after) {
    if (ours.has(pid)) continue;
    const delta = now.ticks - (before.get(pid)?.ticks ?? 0);
    if (delta > 0) used.push({ name: `${now.name}[${pid}]`, cores: ticksToSeconds(delta) / seconds });
  }
  return used
    .sort((a, b) => b.cores - a.cores)
    .slice(0, 3)
    .filter((p) => p.cores >= 0.02)
    .map((p) => `${p.name} ${p.cores.toFixed(2)} cores`);
}
