// The open-redirect corpus, shared by the unit test (tests/redirect.test.ts) and the
// HTTP test (e2e/redirects.spec.ts).

/**
 * Values that look like same-origin paths (or close to them) but name another
 * host once a parser has normalised them, or carry something a browser would
 * strip or reinterpret. Each must fall back to the default.
 */
export const HOSTILE_TARGETS = [
  // plain escapes
  "https://evil.example/",
  "//evil.example",
  "///evil.example",
  "javascript:alert(1)",
  "data:text/html,hi",
  "http:evil.example",
  "evil.example",
  // dot segments that collapse into a protocol-relative path
  "/.//evil.example",
  "/./evil.example/..//evil.example",
  "/x/..//evil.example",
  "/x/../..//evil.example",
  "/%2e//evil.example",
  "/%2E//evil.example",
  "/x/%2e%2e//evil.example",
  "/x/%2e%2e/%2fevil.example",
  "/.%2e//evil.example",
  // encoded slashes and backslashes
  "/%2fevil.example",
  "/%2F%2Fevil.example",
  "/%5cevil.example",
  "/%5C%5Cevil.example",
  // backslashes (browsers read them as slashes)
  "/\\evil.example",
  "\\\\evil.example",
  "/\\/evil.example",
  "/.\\/evil.example",
  // userinfo and schemes inside
  "//user:pass@evil.example",
  "/@evil.example/..//evil.example",
  "https:/evil.example",
  // tabs, newlines and other control characters inside the value
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n/evil.example",
  "/%09/evil.example",
  "/%0d%0aSet-Cookie:x",
  "/\u0000/evil.example",
  // not strings, empty, too long
  "",
  undefined,
  null,
  42,
  ["/dashboard"],
  `/${"a".repeat(3000)}`,
];

/** Same-origin targets that must survive, normalised. */
export const SAFE_TARGETS: [string, string][] = [
  ["/dashboard", "/dashboard"],
  ["/dashboard/sessions?tab=1#top", "/dashboard/sessions?tab=1#top"],
  ["/dashboard/./sessions", "/dashboard/sessions"],
  ["/dashboard/x/../security", "/dashboard/security"],
  ["/%2e/dashboard", "/dashboard"],
  ["/admin?next=//evil.example", "/admin?next=//evil.example"],
];
