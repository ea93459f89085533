import "server-only";
import nodemailer, { type Transporter } from "nodemailer";
import { env } from "../platform/env";
import { log } from "../platform/log";
import { startMailCatcher } from "./catcher";

/**
 * Sending mail, over SMTP with nodemailer: to SMTP_URL when it is set, else to
 * the in-process catcher on 127.0.0.1 (./catcher.ts). Never on a request's
 * timing-critical path: `queueMail` returns at once and delivery happens
 * afterwards, so the answer to "is this address known?" cannot be read off how
 * long a mail took to hand over. Failures are logged, never thrown at the caller.
 */

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  /** What the mail is for, for the log (the log never holds the text: it carries links). */
  purpose: string;
}

const transportKey = Symbol.for("session-or-token.mail-transport");
type GlobalWithTransport = typeof globalThis & { [transportKey]?: { target: string; transport: Transporter } };

async function transport(): Promise<Transporter> {
  const holder = globalThis as GlobalWithTransport;
  const catcher = await startMailCatcher();
  const target = catcher ? `catcher:${catcher.port}` : "smtp-url";
  if (holder[transportKey]?.target !== target) {
    const created = catcher
      ? nodemailer.createTransport({ host: "127.0.0.1", port: catcher.port, secure: false, ignoreTLS: true })
      : nodemailer.createTransport(env.SMTP_URL);
    holder[transportKey] = { target, transport: created };
  }
  return holder[transportKey].transport;
}

/** Sends now and waits for the SMTP server's answer. */
export async function sendMail(mail: OutgoingMail): Promise<void> {
  const sent = await (await transport()).sendMail({ from: env.MAIL_FROM, to: mail.to, subject: mail.subject, text: mail.text });
  log.info("mail.sent", { purpose: mail.purpose, messageId: sent.messageId });
}

const inFlight = new Set<Promise<void>>();

/** Hands the mail over after the current request's work is done; returns at once. */
export function queueMail(mail: OutgoingMail): void {
  const delivery: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => sendMail(mail))
    .catch((error: unknown) => log.error("mail.send_failed", { purpose: mail.purpose, error }))
    .finally(() => inFlight.delete(delivery));
  inFlight.add(delivery);
}

/** Resolves once every queued mail has been delivered or has failed (tests). */
export async function queuedMailSettled(): Promise<void> {
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
}
