import { auth } from "@/lib/auth";
import { privateJson, unauthorizedResponse } from "@/lib/http";

export async function GET() {
  const session = await auth();
  if (!session) return unauthorizedResponse();
  const { id, email, name } = session.user;
  return privateJson({ user: { id, email, name }, strategy: session.strategy, expires: session.expires.toISOString() });
}
