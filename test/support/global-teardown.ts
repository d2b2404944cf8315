export default async function globalTeardown(): Promise<void> {
  await (globalThis as { shipshapeTeardown?: () => Promise<void> }).shipshapeTeardown?.();
}
