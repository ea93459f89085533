// Unprotected on purpose: liveness probe, and the baseline `npm run bench` compares against.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ ok: true }, { headers: { "Cache-Control": "no-store" } });
}
