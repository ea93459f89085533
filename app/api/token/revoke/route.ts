import { z } from "zod";
import { publicRoute } from "@/lib/auth/route";
import { errorResponse, failClosed, privateJson } from "@/lib/http/responses";
import { readJsonBody } from "@/lib/http/body";
import { clientContext } from "@/lib/security/request";
import { revokeToken } from "@/lib/strategies/api";

const RevokeInput = z.object({ token: z.string().min(1).max(4096) });

/**
 * Revokes the token family behind an access or refresh token (RFC 7009 style:
 * the answer is the same whether or not the token was valid).
 */
export const POST = publicRoute(failClosed(async (request: Request) => {
  const body = await readJsonBody(request);
  const input = body.status === "ok" ? RevokeInput.safeParse(body.value) : null;
  if (!input?.success) return errorResponse(400, "invalid_request");
  await revokeToken(input.data.token, clientContext(request.headers));
  return privateJson({ revoked: true });
}));
