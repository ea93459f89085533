import { z } from "zod";
import { publicRoute } from "@/lib/auth/route";
import { errorResponse, failClosed, privateJson } from "@/lib/http/responses";
import { readJsonBody } from "@/lib/http/body";
import { limitByIp, tooManyRequests } from "@/lib/security/rate-limit";
import { clientContext } from "@/lib/security/request";
import { refreshTokenPair } from "@/lib/strategies/api";

const RefreshInput = z.object({ refresh_token: z.string().min(1).max(4096) });

/** Single-use refresh: JSON {refresh_token} → a new pair; the old refresh token is spent. */
export const POST = publicRoute(failClosed(async (request: Request) => {
  // Refresh tokens cannot be guessed (256 bits); the limit keeps automated clients from hammering the database.
  const context = clientContext(request.headers);
  const blocked = await limitByIp("refresh", context);
  if (blocked) return tooManyRequests(blocked);
  const body = await readJsonBody(request);
  const input = body.status === "ok" ? RefreshInput.safeParse(body.value) : null;
  if (!input?.success) return errorResponse(400, "invalid_request");
  const outcome = await refreshTokenPair(input.data.refresh_token, new Date(), context);
  if (!outcome.ok) return errorResponse(401, "invalid_grant");
  return privateJson(outcome.pair);
}));
