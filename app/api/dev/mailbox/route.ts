import { devMailboxAvailable, mailboxMessages } from "@/lib/mail/dev-mailbox";
import { errorResponse, failClosed, privateJson } from "@/lib/http/responses";

export const dynamic = "force-dynamic";

/**
 * GET /api/dev/mailbox?to=<email>: what the in-process mail catcher caught,
 * newest first. Only while the catcher is in use (SMTP_URL unset) and only for
 * clients on this machine; 404 otherwise.
 */
export const GET = failClosed(async (request: Request): Promise<Response> => {
  if (!devMailboxAvailable(request.headers)) return errorResponse(404, "not_found");
  const to = new URL(request.url).searchParams.get("to") ?? undefined;
  return privateJson({ messages: await mailboxMessages(to) });
});
