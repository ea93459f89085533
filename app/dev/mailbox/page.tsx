import type { Metadata } from "next";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { Fragment } from "react";
import { UtcTime } from "@/app/components/session-cells";
import { devMailboxAvailable, mailboxMessages } from "@/lib/mail/dev-mailbox";

export const metadata: Metadata = { title: "Development mailbox · Session or Token", robots: { index: false } };
export const dynamic = "force-dynamic";

/** Text with its http(s) links made clickable. */
function TextWithLinks({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/[^\s<>"]+)/g);
  return (
    <pre>
      {parts.map((part, index) =>
        index % 2 === 1 ? (
          <a key={index} href={part}>
            {part}
          </a>
        ) : (
          <Fragment key={index}>{part}</Fragment>
        ),
      )}
    </pre>
  );
}

/** What the in-process SMTP catcher caught (only with SMTP_URL unset, only for loopback clients). */
export default async function DevMailboxPage() {
  if (!devMailboxAvailable(await headers())) notFound();
  const messages = await mailboxMessages();
  return (
    <>
      <h1>Development mailbox</h1>
      <p>
        Mail this server sent to its own SMTP catcher on 127.0.0.1 (<code>SMTP_URL</code> is unset), newest first. Nothing was
        delivered anywhere else. Kept in memory: a restart empties it.
      </p>
      {messages.length === 0 ? (
        <p>No mail yet.</p>
      ) : (
        messages.map((message) => (
          <article key={message.id} className="card" aria-label={message.subject}>
            <h2>{message.subject}</h2>
            <dl className="facts">
              <dt>To</dt>
              <dd>{message.to}</dd>
              <dt>Sent</dt>
              <dd>
                <UtcTime date={new Date(message.sentAt)} />
              </dd>
            </dl>
            <TextWithLinks text={message.text} />
          </article>
        ))
      )}
    </>
  );
}
