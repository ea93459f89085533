import type { ClientContext } from "../security";
import type { SessionUser } from "../session-store";

/**
 * How the server remembers a signed-in browser. Each strategy owns one cookie
 * and nothing else: it issues its credential, verifies it, revokes it and
 * explains itself on the dashboard. Adding a strategy = one file implementing
 * this + one entry in ./index.ts.
 */
export interface SessionStrategy<Name extends string = string> {
  readonly name: Name;
  /** Label of the choice on the sign-in form. */
  readonly label: string;
  /** One line under the label: what the browser holds and what the server keeps. */
  readonly hint: string;
  /** Cookie name on plain http; on https it gets the `__Host-` prefix. */
  readonly cookieName: string;
  /** Creates the credential for a user who just proved who they are. */
  issue(user: SessionUser, context: ClientContext): Promise<IssuedCredential>;
  /** The session behind a cookie value, or null if it is not valid now. */
  verify(credential: string): Promise<VerifiedSession | null>;
  /**
   * Sliding renewal: a fresh credential when the current one is due for it,
   * else null. Never extends past the session's absolute lifetime.
   */
  renew?(session: VerifiedSession): Promise<IssuedCredential | null>;
  /** What sign-out can do for this credential. */
  revoke(credential: string): Promise<RevocationResult>;
  /** What this strategy put in the browser and on the server, for the dashboard. */
  evidence(session: VerifiedSession): Promise<Evidence>;
}

export interface IssuedCredential {
  value: string;
  expires: Date;
}

export interface VerifiedSession {
  strategy: string;
  user: SessionUser;
  expires: Date;
  /** The cookie value (or bearer token) this session was read from. */
  credential: string;
  /** The server-side session row, where the strategy keeps one. */
  sessionId?: string;
  /** How the credential arrived; browsers use cookies, API clients `Authorization: Bearer`. */
  via?: "cookie" | "bearer";
}

export interface RevocationResult {
  /** True if the server will refuse the credential from now on. */
  revokedOnServer: boolean;
  /** Plain-language account of what happened, shown to the user. */
  summary: string;
}

export interface Evidence {
  /** Pieces of evidence; each is shown as JSON under its title. */
  sections: { title: string; testId: string; content: unknown }[];
  /** Facts about this strategy's trade-offs, in plain words. */
  notes: string[];
}
