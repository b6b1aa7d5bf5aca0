/** MariaDB 1213: the statement was rolled back as a deadlock victim and may simply run again. */
export const isDeadlock = (e: unknown): boolean => {
  const x = e as { errno?: number; code?: string; message?: string } | undefined;
  return x?.errno === 1213 || /ER_LOCK_DEADLOCK|Deadlock found/.test(`${x?.code ?? ''} ${x?.message ?? ''}`);
};
