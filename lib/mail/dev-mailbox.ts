import "server-only";
import { isIP } from "node:net";
import { clientContext } from "../security/request";
import { catcherInUse, caughtMail } from "./catcher";

/**
 * The development mailbox (/dev/mailbox, GET /api/dev/mailbox): what the
 * in-process catcher caught. It exists only while the catcher is in use
 * (SMTP_URL unset) and only for clients on this machine; everyone else gets 404.
 */

/** 127.0.0.0/8 and ::1 (also as IPv4-mapped IPv6). Anything else, or no address at all, is not loopback. */
export function isLoopbackAddress(ip: string | null | undefined): boolean {
  if (!ip) return false;
  const address = ip.toLowerCase().startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  if (isIP(address) === 4) return address.split(".")[0] === "127";
  // The URL parser writes an IPv6 address in its one canonical form.
  if (isIP(address) === 6) return new URL(`http://[${address}]/`).hostname === "[::1]";
  return false;
}

type HeaderSource = { get(name: string): string | null };

/** Whether this request may see the development mailbox. */
export function devMailboxAvailable(headers: HeaderSource, catcher = catcherInUse()): boolean {
  return catcher && isLoopbackAddress(clientContext(headers).ip);
}

export interface MailboxMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  sentAt: string;
}

/** Caught messages (to one address, when given), newest first, as the JSON API returns them. */
export async function mailboxMessages(to?: string): Promise<MailboxMessage[]> {
  const messages = await caughtMail({ to });
  return messages.map((message) => ({
    id: message.id,
    to: message.to.join(", "),
    subject: message.subject,
    text: message.text,
    sentAt: message.sentAt.toISOString(),
  }));
}
