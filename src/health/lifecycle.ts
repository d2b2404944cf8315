/**
 * What the process is doing, for the probes: starting (startup 503), serving, or draining (readiness 503
 * so the load balancer stops sending before the listener closes).
 */
export class Lifecycle {
  private startedAt: number | undefined;
  private drainingSince: number | undefined;

  markStarted(): void {
    this.startedAt ??= Date.now();
  }

  markDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get started(): boolean {
    return this.startedAt !== undefined;
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }
}
