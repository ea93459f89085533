import "server-only";
import { z } from "zod";
import { audit } from "./audit";
import { db, isUniqueViolation } from "./db";
import { log } from "./log";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, hashPassword, verifyAgainstDummy, verifyPassword } from "./password";
import type { ClientContext } from "./security";

export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: "Enter a valid email address." }));

/** Passwords people pick first; refused outright whatever their length. */
const commonPasswords = new Set([
  "password123", "password1234", "1234567890", "12345678910", "qwertyuiop", "iloveyou123",
  "passw0rd123", "letmein1234", "welcome123", "administrator", "qwerty12345", "abc1234567",
]);

export const NewPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `Password must be at least ${PASSWORD_MIN_LENGTH} characters.`)
  .max(PASSWORD_MAX_LENGTH, `Password must be at most ${PASSWORD_MAX_LENGTH} characters.`)
  .refine((password) => !commonPasswords.has(password.toLowerCase()), "That password is too common; choose another.")
  .refine((password) => new Set(password).size >= 4, "That password is too repetitive; choose another.");

export const RegistrationSchema = z
  .object({
    name: z.string().trim().min(1, "Enter your name.").max(100, "Name must be at most 100 characters."),
    email: EmailSchema,
    password: NewPasswordSchema,
  })
  .refine((input) => {
    const localPart = input.email.split("@")[0] ?? "";
    return localPart.length < 4 || !input.password.toLowerCase().includes(localPart);
  }, {
    path: ["password"],
    message: "Password must not contain your email address.",
  });

export type Registration = z.infer<typeof RegistrationSchema>;

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

/** Email and password as a sign-in form or the token endpoint receives them. */
export const CredentialsSchema = z.object({
  email: EmailSchema,
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

/** Where a password check comes from, for the audit log. */
export interface SignInAttemptInfo {
  /** form: the sign-in page; http: POST /api/auth/callback/credentials; token: POST /api/token; register: sign-in right after registration. */
  via: "form" | "http" | "token" | "register";
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

export async function createUser(input: Registration): Promise<UserRecord> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await db().user.create({
      data: { name: input.name, email: input.email, passwordHash },
      select: { id: true, email: true, name: true, role: true, passwordHash: true },
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateEmailError();
    throw error;
  }
}
