import { auth } from "@/lib/auth";
import { failClosed, privateJson, unauthorizedResponse } from "@/lib/http";

export const GET = failClosed(async () => {
  const session = await auth();
  if (!session) return unauthorizedResponse();
  const { id, email, name } = session.user;
  return privateJson({ user: { id, email, name }, strategy: session.strategy, expires: session.expires.toISOString() });
});
