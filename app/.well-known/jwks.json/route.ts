import { publicJwks } from "@/lib/keys";

export const dynamic = "force-dynamic";

/** Public verification keys (never the private parts), for any service that checks our tokens. */
export async function GET() {
  return Response.json(await publicJwks(), {
    headers: { "Cache-Control": "public, max-age=300, stale-while-revalidate=60" },
  });
}
