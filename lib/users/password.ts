import "server-only";
import { hash, verify } from "@node-rs/argon2";

/** argon2id at (or above) the OWASP minimum: 19 MiB memory, 2 iterations, 1 lane. */
const argon2Options = {
  // Algorithm.Argon2id; the package exports it as a const enum, which isolated modules cannot inline.
  algorithm: 2,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(plain: string): Promise<string> {
  return hash(plain, argon2Options);
}

export async function verifyPassword(storedHash: string, plain: string): Promise<boolean> {
  try {
    return await verify(storedHash, plain);
  } catch {
    // A malformed stored hash is a failed check, never an exception to the caller.
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies against a throwaway hash so an unknown e-mail costs the same time as
 * a wrong password: response time does not reveal which accounts exist.
 */
export async function verifyAgainstDummy(plain: string): Promise<false> {
  dummyHash ??= hashPassword("not-a-real-password-but-the-same-cost");
  await verifyPassword(await dummyHash, plain);
  return false;
}
