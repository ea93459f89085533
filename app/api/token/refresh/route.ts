import { z } from "zod";
import { errorResponse, failClosed, privateJson, readJsonBody } from "@/lib/http";
import { limitByIp, tooManyRequests } from "@/lib/rate-limit";
import { clientContext } from "@/lib/security";
import { refreshTokenPair } from "@/lib/token-families";

const RefreshInput = z.object({ refresh_token: z.string().min(1).max(4096) });

/** Single-use refresh: JSON {refresh_token} → a new pair; the old refresh token is spent. */
export const POST = failClosed(async (request: Request) => {
  // Refresh tokens cannot be guessed (256 bits); the limit keeps automated clients from hammering the database.
  const blocked = await limitByIp("refresh", clientContext(request.headers));
  if (blocked) return tooManyRequests(blocked);
  const body = await readJsonBody(request);
  const input = body.status === "ok" ? RefreshInput.safeParse(body.value) : null;
  if (!input?.success) return errorResponse(400, "invalid_request");
  const outcome = await refreshTokenPair(input.data.refresh_token);
  if (!outcome.ok) return errorResponse(401, "invalid_grant");
  return privateJson(outcome.pair);
});
