import "server-only";
import { env } from "../platform/env";
import { durationInWords } from "../sessions/revocation";
import type { OutgoingMail } from "./send";

/**
 * The mails the app sends. Links are built from APP_URL, never from a
 * request's Host header, and carry the one-time token in the fragment
 * (`#token=`): a browser never sends a fragment to a server, so the secret
 * stays out of request lines, access logs, proxies and Referer headers.
 */

export function linkWithToken(path: "/verify-email" | "/reset-password", token: string): string {
  return `${env.APP_URL}${path}#token=${token}`;
}

export function finishSignUpMail(email: string, token: string): OutgoingMail {
  return {
    to: email,
    purpose: "register",
    subject: "Finish signing up to Session or Token",
    text: [
      "Someone (hopefully you) asked to create a Session or Token account with this address.",
      "",
      "To finish signing up, open this link:",
      linkWithToken("/verify-email", token),
      "",
      `The link works once and expires in ${durationInWords(env.EMAIL_LINK_TTL_SECONDS)}. If you did not ask for an account, ignore this mail: nothing is created until the link is used.`,
    ].join("\n"),
  };
}

export function alreadyRegisteredMail(email: string): OutgoingMail {
  return {
    to: email,
    purpose: "register.existing",
    subject: "Someone tried to create an account with your address",
    text: [
      "Someone tried to create an account with this address. If it was you, sign in, or reset your password:",
      "",
      `Sign in: ${env.APP_URL}/login`,
      `Reset your password: ${env.APP_URL}/forgot-password`,
      "",
      "If it was not you, you can ignore this mail: your account has not changed.",
    ].join("\n"),
  };
}

export function passwordResetMail(email: string, token: string): OutgoingMail {
  return {
    to: email,
    purpose: "password_reset",
    subject: "Reset your Session or Token password",
    text: [
      "Someone (hopefully you) asked to reset the password of the Session or Token account with this address.",
      "",
      "To choose a new password, open this link:",
      linkWithToken("/reset-password", token),
      "",
      `The link works once and expires in ${durationInWords(env.PASSWORD_RESET_TTL_SECONDS)}. Setting a new password signs out every session of the account.`,
      "If you did not ask for this, ignore this mail: your password has not changed.",
    ].join("\n"),
  };
}
