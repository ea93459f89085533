import { expect, type APIRequestContext, type Page } from '@playwright/test';

/**
 * A client for the development mailbox of the server under test
 * (GET /api/dev/mailbox): the mail its in-process SMTP catcher received.
 * Available because the suite's server runs without SMTP_URL and every
 * request comes from 127.0.0.1.
 */

export interface Mail {
  id: string;
  to: string;
  subject: string;
  text: string;
  sentAt: string;
}

/** Every caught mail to this address, newest first. */
export async function mailTo(request: APIRequestContext, to: string): Promise<Mail[]> {
  const response = await request.get(`/api/dev/mailbox?to=${encodeURIComponent(to)}`);
  expect(response.status(), 'GET /api/dev/mailbox').toBe(200);
  const body = (await response.json()) as { messages: Mail[] };
  return body.messages;
}

/**
 * Polls the mailbox until a mail to `to` arrives (whose subject matches, and
 * that is not one of `exclude`, when given) and returns the newest such mail.
 * Mail is queued after the response, so it arrives a little later: no sleeps,
 * just polling.
 */
export async function waitForMail(
  request: APIRequestContext,
  to: string,
  options: { subject?: RegExp; exclude?: Iterable<string> } = {},
): Promise<Mail> {
  const excluded = new Set(options.exclude ?? []);
  let found: Mail | undefined;
  await expect
    .poll(
      async () => {
        found = (await mailTo(request, to)).find((mail) => !excluded.has(mail.id) && (!options.subject || options.subject.test(mail.subject)));
        return found !== undefined;
      },
      { message: `a mail to ${to}${options.subject ? ` with subject ${options.subject}` : ''}`, intervals: [50, 100, 250, 500] },
    )
    .toBe(true);
  return found!;
}

/** The first link in a mail (the first to `path`, when given). */
export function linkIn(mail: Mail, path?: string): string {
  const links = mail.text.match(/https?:\/\/[^\s<>"]+/g) ?? [];
  const link = links.find((candidate) => path === undefined || new URL(candidate).pathname === path);
  expect(link, `a link${path ? ` to ${path}` : ''} in "${mail.subject}"`).toBeTruthy();
  return link!;
}

/**
 * After the registration form answered "check your inbox": opens the link from
 * the mail in this page and finishes the sign-up (the browser is then signed in).
 */
export async function finishSignUp(page: Page, email: string): Promise<void> {
  const mail = await waitForMail(page.request, email, { subject: /^Finish signing up/ });
  await page.goto(linkIn(mail, '/verify-email'));
  await page.getByRole('button', { name: 'Finish sign-up' }).click();
}
