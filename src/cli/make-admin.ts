import 'reflect-metadata';
import { loadConfig } from '../config';
import { createOrm, ensureDatabase, migrate } from '../db/orm';
import { createLogger } from '../logger';
import { accountKey } from '../services/text';

/** `npm run admin -- <account>`: gives an existing account the admin role (the first admin). */
async function main(): Promise<void> {
  const account = process.argv[2];
  if (!account) {
    console.error('usage: npm run admin -- <account>');
    process.exit(64);
  }
  const config = loadConfig();
  const log = createLogger('warn');
  if (config.database.kind === 'mariadb') await ensureDatabase(config.database);
  const orm = await createOrm(config, log);
  try {
    await migrate(orm, log);
    const res: { affectedRows: number } = await orm.em.getConnection().execute(
      `UPDATE user SET role_id = (SELECT id FROM role WHERE name = 'admin') WHERE account_key = ? AND deleted_at IS NULL`,
      [accountKey(account)],
      'run',
    );
    if (res.affectedRows !== 1) {
      console.error(`no account "${account}": register it first`);
      process.exitCode = 1;
    } else {
      console.log(`"${account}" is now an admin`);
    }
  } finally {
    await orm.close(true);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
