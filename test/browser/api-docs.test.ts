import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { signUp, useTestApp } from '../support/harness';
import { listen } from '../support/raw-http';

/**
 * The interactive API docs in a real browser (Debian's chromium driven by playwright-core): the page renders
 * every operation under its own CSP, and a "try it" call made from the page reaches the running app.
 * `.ci/steps/35-browser.sh` installs chromium; under CI a missing browser fails the suite, never skips it.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM) || process.env.CI === 'true';
const describeIfBrowser = available ? describe : describe.skip;

const built = useTestApp();

describeIfBrowser('interactive API docs in chromium', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    server = await listen(built);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close(1_000);
  });

  test('when /api/v1/docs is opened, then every operation is listed and an authorized "try it" call returns 200 from the app', async () => {
    const account = await signUp(built.app);
    const page = await browser.newPage();
    const complaints: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') complaints.push(message.text());
    });
    page.on('pageerror', (error) => complaints.push(error.message));
    const seen: string[] = [];
    page.on('response', (response) => seen.push(`${response.status()} ${new URL(response.url()).pathname}`));

    await page.goto(`${server.url}/api/v1/docs`);
    const operations = page.locator('.opblock');
    await operations.first().waitFor({ timeout: 20_000 });
    // Every operation the document has, however many the route table grows to.
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    expect(ids.length).toBeGreaterThanOrEqual(9);
    expect(await operations.count()).toBe(ids.length);
    for (const id of [...ids]) {
      expect(await page.locator(`[id$="-${id}"]`).count()).toBeGreaterThan(0);
    }

    // Authorize with the bearer token, as a reader of the docs would.
    await page.locator('.auth-wrapper .authorize').click();
    const bearerForm = page.locator('.auth-container').filter({ hasText: 'bearer' }).first();
    await bearerForm.locator('input').first().fill(account.token);
    await bearerForm.locator('button.authorize').click();
    await page.locator('.modal-ux .close-modal').click();

    // Try GET /api/v1/users/me from the page.
    const operation = page.locator('[id$="-getCurrentUser"]');
    await operation.locator('.opblock-summary').click();
    await operation.locator('.try-out__btn').click();
    await operation.locator('.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 20_000 });
    expect((await status.textContent())?.trim()).toBe('200');
    expect(await operation.locator('.live-responses-table').textContent()).toContain(account.email);

    expect(seen).toEqual(expect.arrayContaining(['200 /api/v1/openapi.json', '200 /api/v1/users/me']));
    expect(seen.filter((line) => !line.startsWith('200 '))).toEqual([]);
    // Nothing the page needs is blocked by its Content-Security-Policy, and nothing throws.
    expect(complaints).toEqual([]);
    await page.close();
  }, 90_000);
});
