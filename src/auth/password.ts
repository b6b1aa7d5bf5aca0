import { Algorithm, hash, verify } from '@node-rs/argon2';

/** OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1. */
export const PASSWORD_HASH_PARAMS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const hashPassword = (password: string): Promise<string> => hash(password, PASSWORD_HASH_PARAMS);

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

// Verified against when an account does not exist, so an unknown account costs
// the same time as a wrong password and the two cannot be told apart.
let dummy: Promise<string> | undefined;
export const dummyHash = (): Promise<string> => (dummy ??= hashPassword('not-a-real-password'));
