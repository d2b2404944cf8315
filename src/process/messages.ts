/** What the cluster primary and its workers say to each other over the IPC channel. */
export const WORKER_READY = 'shipshape:worker-ready';
export const WORKER_DRAIN = 'shipshape:worker-drain';

export interface ProcessMessage {
  type: typeof WORKER_READY | typeof WORKER_DRAIN;
}

export const isMessage = (message: unknown, type: ProcessMessage['type']): boolean =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
