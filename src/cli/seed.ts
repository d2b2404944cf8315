import { randomBytes } from 'node:crypto';
import { hashPassword } from '../features/accounts/passwords.js';
import { findUserByEmail, insertUser } from '../features/accounts/repository.js';
import { insertNote } from '../features/notes/repository.js';
import { openForCommand, print } from './database.js';

const DEMO_EMAIL = 'demo@example.test';

/** Demo data for a developer's database; refused anywhere else, so no test data reaches production. */
async function seed(): Promise<void> {
  const { config, db, close } = await openForCommand();
  try {
    if (config.appEnv !== 'development') {
      console.error(
        `seed runs only with APP_ENV=development (this is ${config.appEnv}); it never touches real data`,
      );
      process.exit(1);
    }
    await db.migrate.latest();
    if (await findUserByEmail(db, DEMO_EMAIL)) {
      print(`${DEMO_EMAIL} exists already; nothing to do`);
      return;
    }
    const password = randomBytes(12).toString('base64url');
    const user = await insertUser(db, {
      email: DEMO_EMAIL,
      name: 'Demo',
      passwordHash: await hashPassword(password),
    });
    for (let i = 1; i <= 25; i++) {
      await insertNote(db, user!.id, { title: `Demo note ${i}`, body: `The body of demo note ${i}.` });
    }
    print(`seeded ${DEMO_EMAIL} with 25 notes; password (shown once): ${password}`);
  } finally {
    await close();
  }
}

seed().catch((error) => {
  console.error('seed failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
