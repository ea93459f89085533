import "server-only";

/**
 * Reading request bodies with a size cap. Anything that is not what was
 * expected is reported as such, never as a parser error: callers answer 4xx
 * with a generic message.
 */

function declaredTooLarge(request: Request, maxBytes: number): boolean {
  const declared = Number(request.headers.get("content-length") ?? "0");
  return !Number.isFinite(declared) || declared > maxBytes;
}

async function textUpTo(request: Request, maxBytes: number): Promise<string | null> {
  if (declaredTooLarge(request, maxBytes)) return null;
  const text = await request.text().catch(() => null);
  return text === null || Buffer.byteLength(text) > maxBytes ? null : text;
}

export const MAX_JSON_BODY_BYTES = 8 * 1024;

export type JsonBody = { status: "empty" } | { status: "invalid" } | { status: "ok"; value: unknown };

/**
 * The request's JSON body. "invalid" when it is not JSON, too large or
 * malformed: callers answer 400 with a generic message, never a parser error.
 */
export async function readJsonBody(request: Request, maxBytes = MAX_JSON_BODY_BYTES): Promise<JsonBody> {
  const text = await textUpTo(request, maxBytes);
  if (text === null) return { status: "invalid" };
  if (text.trim().length === 0) return { status: "empty" };
  if (!request.headers.get("content-type")?.toLowerCase().startsWith("application/json")) return { status: "invalid" };
  try {
    return { status: "ok", value: JSON.parse(text) as unknown };
  } catch {
    return { status: "invalid" };
  }
}

export const MAX_FORM_BYTES = 16 * 1024;

/**
 * The fields of a JSON or url-encoded body (for a repeated field, the last
 * value); null when it is too large to read. An unparseable body gives no fields.
 */
export async function readSubmittedFields(request: Request, maxBytes = MAX_FORM_BYTES): Promise<Record<string, unknown> | null> {
  const text = await textUpTo(request, maxBytes);
  if (text === null) return null;
  const type = request.headers.get("content-type") ?? "";
  try {
    if (type.includes("application/json")) {
      const value: unknown = JSON.parse(text);
      return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
    }
    if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  } catch {
    // unparseable: no fields
  }
  return {};
}
