import { z } from "zod";
import { errorResponse, privateJson, readJsonBody } from "@/lib/http";
import { refreshTokenPair } from "@/lib/token-families";

const RefreshInput = z.object({ refresh_token: z.string().min(1).max(4096) });

/** Single-use refresh: JSON {refresh_token} → a new pair; the old refresh token is spent. */
export async function POST(request: Request) {
  const body = await readJsonBody(request);
  const input = body.status === "ok" ? RefreshInput.safeParse(body.value) : null;
  if (!input?.success) return errorResponse(400, "invalid_request");
  const outcome = await refreshTokenPair(input.data.refresh_token);
  if (!outcome.ok) return errorResponse(401, "invalid_grant");
  return privateJson(outcome.pair);
}
