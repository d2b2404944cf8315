import { assessCrash, backoffMs, CRASH_POLICY } from '../src/process/crash-window';
import { oneAtATime } from '../src/process/primary';

/** Feeds deaths at the given times (ms) through the rule, as the primary does, and returns each verdict. */
function deathsAt(times: number[]) {
  let recent: number[] = [];
  return times.map((now) => {
    const assessed = assessCrash(recent, now);
    recent = assessed.recent;
    return assessed.verdict;
  });
}

describe('the crash window of the cluster primary (SRV-1)', () => {
  test('when five workers die within a minute, then each is replaced after a growing backoff', () => {
    const verdicts = deathsAt([0, 1_000, 2_000, 3_000, 4_000]);
    expect(verdicts).toEqual(
      [250, 500, 1_000, 2_000, 4_000].map((ms) => ({ kind: 'replace', restartInMs: ms })),
    );
  });

  test('when a sixth dies within the same minute, then it is a crash loop and the primary stops', () => {
    const verdicts = deathsAt([0, 1_000, 2_000, 3_000, 4_000, 59_000]);
    expect(verdicts.at(-1)).toEqual({ kind: 'crash-loop', crashes: 6, windowMs: CRASH_POLICY.windowMs });
  });

  test('when deaths are spread wider than the window, then old ones are forgotten and none is a loop', () => {
    const verdicts = deathsAt([0, 20_000, 40_000, 60_000, 80_000, 100_000, 120_000, 140_000]);
    expect(verdicts.every((v) => v.kind === 'replace')).toBe(true);
    // At 140 s only the deaths at 80, 100, 120 and 140 s are inside the minute.
    expect(verdicts.at(-1)).toEqual({ kind: 'replace', restartInMs: backoffMs(4) });
  });

  test('when a death falls exactly on the edge of the window, then it still counts', () => {
    const { recent } = assessCrash([0, 10], 60_000);
    expect(recent).toEqual([0, 10, 60_000]);
    expect(assessCrash([0, 10], 60_001).recent).toEqual([10, 60_001]);
  });

  test('when workers keep dying at once, then the backoff stops growing at 10 s', () => {
    expect(backoffMs(1)).toBe(250);
    expect(backoffMs(20)).toBe(10_000);
  });

  test('when a stricter policy is given, then it decides instead of the default', () => {
    expect(assessCrash([0], 1, { limit: 1, windowMs: 10 }).verdict).toEqual({
      kind: 'crash-loop',
      crashes: 2,
      windowMs: 10,
    });
  });
});

describe('reloads one at a time', () => {
  test('when reloads are asked for during one, then they fold into exactly one more run after it', async () => {
    const runs: string[] = [];
    let finishFirst!: () => void;
    const first = new Promise<void>((resolve) => {
      finishFirst = resolve;
    });
    let queuedCalls = 0;
    const reload = oneAtATime(
      async () => {
        runs.push(`start ${runs.length}`);
        if (runs.length === 1) await first;
      },
      () => {
        queuedCalls += 1;
      },
    );
    const done = reload();
    await Promise.all([reload(), reload()]);
    expect(queuedCalls).toBe(2);
    finishFirst();
    await done;
    expect(runs).toEqual(['start 0', 'start 1']);
  });

  test('when a run fails, then the next call runs again instead of staying blocked', async () => {
    let calls = 0;
    const reload = oneAtATime(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('first run fails');
      },
      () => {},
    );
    await expect(reload()).rejects.toThrow('first run fails');
    await reload();
    expect(calls).toBe(2);
  });
});
