/**
 * Prints a measured figure (served, failed, milliseconds) for the run's log and the closing note. Tests never
 * assert on timings (a loaded CI machine is slower); they report them here.
 */
export function reportFigure(text: string): void {
  process.stdout.write(`\n[figure] ${text}\n`);
}
