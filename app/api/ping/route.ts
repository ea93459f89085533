// The bare route `npm run bench` measures everything against: no proxy runs on
// it (unless the bench's probe header asks for one, see proxy.ts), no wrapper,
// no database, no credential; a constant answer. On the public allowlist of
// tests/routes.test.ts.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ ok: true });
}
