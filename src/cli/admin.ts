import { setRole } from '../features/admin/repository.js';
import { openForCommand, print } from './database.js';

const USAGE =
  'usage: node dist/cli/admin.js grant|revoke EMAIL   (npm run admin -- grant EMAIL in development)';

/** The first admin cannot be made through the API: someone with the server's configuration grants it. */
async function admin(args: string[]): Promise<void> {
  const [action, email] = args;
  if ((action !== 'grant' && action !== 'revoke') || !email || args.length !== 2) {
    console.error(USAGE);
    process.exit(64);
  }
  const { db, close } = await openForCommand();
  try {
    if (!(await setRole(db, email, action === 'grant' ? 'admin' : 'user'))) {
      console.error(`no account has the email ${email}`);
      process.exitCode = 1;
      return;
    }
    print(action === 'grant' ? `${email} is now an admin` : `${email} is no longer an admin`);
  } finally {
    await close();
  }
}

admin(process.argv.slice(2)).catch((error) => {
  console.error('admin failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
