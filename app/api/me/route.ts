import { withSession } from "@/lib/auth/route";
import { privateJson } from "@/lib/http/responses";

// Per request, always: a protected answer must never be prerendered or cached (tests/routes.test.ts checks it).
export const dynamic = "force-dynamic";

export const GET = withSession(async (_request, session) => {
  const { id, email, name } = session.user;
  return privateJson({ user: { id, email, name }, strategy: session.strategy, expires: session.expires.toISOString() });
});
