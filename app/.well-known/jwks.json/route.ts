import { env } from "@/lib/platform/env";
import { failClosed } from "@/lib/http/responses";
import { publicJwks } from "@/lib/tokens/keys";

export const dynamic = "force-dynamic";

/**
 * Public verification keys (never the private parts), for any service that
 * checks our tokens. A new key is listed here JWKS_MAX_AGE_SECONDS before it
 * signs anything, so caches that honour this header always know it in time.
 */
export const GET = failClosed(async () => {
  return Response.json(await publicJwks(), {
    headers: { "Cache-Control": `public, max-age=${env.JWKS_MAX_AGE_SECONDS}` },
  });
});
