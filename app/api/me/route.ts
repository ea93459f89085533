import { withSession } from "@/lib/auth/route";
import { privateJson } from "@/lib/http/responses";

export const GET = withSession(async (_request, session) => {
  const { id, email, name } = session.user;
  return privateJson({ user: { id, email, name }, strategy: session.strategy, expires: session.expires.toISOString() });
});
