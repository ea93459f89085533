import "server-only";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { env } from "../platform/env";
import { log } from "../platform/log";
import { simpleParser } from "mailparser";

/**
 * The development mail catcher: a real SMTP server (the `smtp-server`
 * package) inside this process, on 127.0.0.1 and a free port. When SMTP_URL
 * is unset, every mail the app sends goes to it over SMTP, and it keeps the
 * last MAX_MESSAGES in memory for /dev/mailbox. Nothing leaves the machine.
 *
 * One per process: the instance lives on globalThis, because instrumentation
 * and the route handlers are bundled separately but share the process.
 */

export interface CaughtMail {
  id: string;
  /** Envelope recipients, lower-cased. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  sentAt: Date;
}

const MAX_MESSAGES = 200;
const MAX_MESSAGE_BYTES = 256 * 1024;

interface Catcher {
  port: number;
  server: SMTPServer;
  messages: CaughtMail[];
}

const catcherKey = Symbol.for("session-or-token.mail-catcher");
type GlobalWithCatcher = typeof globalThis & { [catcherKey]?: Promise<Catcher> };

/** True when mail goes to the in-process catcher (SMTP_URL unset). */
export function catcherInUse(): boolean {
  return env.SMTP_URL === undefined;
}

function listen(messages: CaughtMail[]): Promise<Catcher> {
  const server = new SMTPServer({
    // Loopback only and nobody to authenticate: no AUTH, no STARTTLS (and so no built-in test certificate).
    disabledCommands: ["AUTH", "STARTTLS"],
    authOptional: true,
    banner: "Session or Token development mail catcher",
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error("Message too large"), { responseCode: 552 }));
          return;
        }
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            const from = session.envelope.mailFrom;
            messages.unshift({
              id: randomUUID(),
              to: session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase()),
              from: from ? from.address : "",
              subject: parsed.subject ?? "",
              // The body as written (mailparser ends it with a line break).
              text: (parsed.text ?? "").replace(/\r?\n$/, ""),
              sentAt: new Date(),
            });
            if (messages.length > MAX_MESSAGES) messages.length = MAX_MESSAGES;
            callback(null);
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error("unparseable message")),
        );
      });
    },
  });
  server.on("error", (error: unknown) => log.warn("mail.catcher_error", { error }));
  return new Promise((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.server.off("error", reject);
      // The catcher never keeps a process alive on its own (unit tests, scripts).
      server.server.unref();
      const { port } = server.server.address() as AddressInfo;
      resolve({ port, server, messages });
    });
  });
}

/**
 * Starts the catcher once per process (later calls get the same one); null
 * when SMTP_URL is set, in which case there is no catcher at all.
 */
export function startMailCatcher(): Promise<{ port: number } | null> {
  if (!catcherInUse()) return Promise.resolve(null);
  const holder = globalThis as GlobalWithCatcher;
  if (!holder[catcherKey]) {
    const starting = listen([]);
    holder[catcherKey] = starting;
    starting.then(
      ({ port }) => log.info("mail.catcher_started", { address: `127.0.0.1:${port}` }),
      () => delete holder[catcherKey],
    );
  }
  return holder[catcherKey].then(({ port }) => ({ port }));
}

/** Caught messages, newest first; only those sent to `to` when given. */
export async function caughtMail(filter: { to?: string } = {}): Promise<CaughtMail[]> {
  const catcher = await (globalThis as GlobalWithCatcher)[catcherKey];
  if (!catcher) return [];
  const to = filter.to?.trim().toLowerCase();
  return catcher.messages.filter((message) => !to || message.to.includes(to));
}

/** Stops the catcher (tests); the next send starts a new one. */
export async function stopMailCatcher(): Promise<void> {
  const holder = globalThis as GlobalWithCatcher;
  const catcher = await holder[catcherKey]?.catch(() => undefined);
  delete holder[catcherKey];
  if (catcher) await new Promise<void>((resolve) => catcher.server.close(() => resolve()));
}
