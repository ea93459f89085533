import "server-only";
import { audit } from "../security/audit";
import { db, isUniqueViolation } from "../platform/db";
import { log } from "../platform/log";
import { verifyAgainstDummy, verifyPassword } from "./password";
import type { ClientContext } from "../security/request";

export interface UserRecord {
  id: string;
  email: string;
  name: string | null;
  role: string;
  passwordHash: string | null;
}

export async function findUserByEmail(email: string): Promise<UserRecord | null> {
  return db().user.findUnique({
    where: { email },
    select: { id: true, email: true, name: true, role: true, passwordHash: true },
  });
}

/** Where a password check comes from, for the audit log. */
export interface SignInAttemptInfo {
  /** form: the sign-in page; http: POST /api/auth/callback/credentials; token: POST /api/token; register: sign-in right after registration; confirm: "Confirm it's you" (step-up). */
  via: "form" | "http" | "token" | "register" | "confirm";
  context?: ClientContext;
}

/**
 * The user these credentials prove, or null. An unknown email and a wrong
 * password take the same path and the same time (a dummy hash is checked), so
 * neither the answer nor its timing tells which accounts exist.
 */
export async function authenticateUser(email: string, password: string, attempt: SignInAttemptInfo = { via: "form" }): Promise<UserRecord | null> {
  const user = await findUserByEmail(email);
  const valid = user?.passwordHash ? await verifyPassword(user.passwordHash, password) : await verifyAgainstDummy(password);
  if (!user || !valid) {
    const reason = user ? "bad_password" : "unknown_email";
    log.info("signin.failed", { reason, via: attempt.via });
    // Both outcomes write one audit row: same work, same time. An unknown
    // account is recorded by the email it named, a known one by its id.
    await audit("signin.failed", {
      userId: user?.id ?? null,
      email: user ? null : email,
      context: attempt.context,
      detail: { reason, method: "password", via: attempt.via },
    });
    return null;
  }
  await audit("signin.succeeded", { userId: user.id, context: attempt.context, detail: { method: "password", via: attempt.via } });
  return user;
}

export class DuplicateEmailError extends Error {
  constructor() {
    super("email already registered");
    this.name = "DuplicateEmailError";
  }
}

/** What a new account is made of: the password arrives already hashed (argon2id, ./password.ts). */
export interface NewUser {
  name: string;
  email: string;
  passwordHash: string;
  /** When the owner proved control of the address (the registration link was used). */
  emailVerified?: Date | null;
}

/** Creates an account (and records it); DuplicateEmailError if the address is taken. */
export async function createUser(input: NewUser, context?: ClientContext): Promise<UserRecord> {
  let user: UserRecord;
  try {
    user = await db().user.create({
      data: { name: input.name, email: input.email, passwordHash: input.passwordHash, emailVerified: input.emailVerified ?? null },
      select: { id: true, email: true, name: true, role: true, passwordHash: true },
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateEmailError();
    throw error;
  }
  await audit("register", { userId: user.id, context, detail: { emailVerified: input.emailVerified != null } });
  return user;
}
