import { z } from "zod";

/** What the app accepts as an email, a new password and a registration: one policy for every form. */

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

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

/** Email and password as a sign-in form or the token endpoint receives them. */
export const CredentialsSchema = z.object({
  email: EmailSchema,
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

