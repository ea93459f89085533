import type { ClientContext } from "../security/request";
import type { Authentication, IdleRule, SessionUser, SignInOrigin } from "../sessions/store";

/**
 * A kind of session: how the server remembers a signed-in client. Each kind
 * owns one credential (a cookie for browsers, `Authorization: Bearer` for API
 * clients) and everything that is particular to it: issuing, verifying,
 * revoking, its labels, and what the pages say about it. Nothing outside
 * lib/strategies/ knows a kind by name. Adding one = one file implementing
 * this + one entry in ./index.ts.
 */
export interface SessionStrategy<Kind extends string = string> {
  readonly kind: Kind;
  /** Label of the choice on the sign-in form, and of the kind on the dashboard. */
  readonly label: string;
  /** The kind in session tables ("JWT (browser)"). */
  readonly sessionLabel: string;
  /** The credential itself, where credentials are compared side by side ("Browser JWT"). */
  readonly credentialLabel: string;
  /**
   * What the credential is: an opaque reference that means nothing until the
   * server looks it up, or a signed token that carries its own claims.
   */
  readonly credentialForm: "opaque" | "signed";
  /**
   * Where the credential travels. Browser kinds (`cookie`) are offered at
   * sign-in; `bearer` kinds are for API clients and only API routes take them.
   */
  readonly transport: "cookie" | "bearer";
  /** Cookie name on plain http (on https it gets the `__Host-` prefix); null for bearer kinds. */
  readonly cookieName: string | null;
  /** The idle timeout its sessions have, if any (sessions unused this long are over). */
  readonly idleTimeoutSeconds: number | null;
  /** What the pages say about this kind, derived from the running configuration. */
  facts(): StrategyFacts;
  /** Creates the credential for a user who just proved who they are (`origin`: how, recorded on the session). */
  issue(user: SessionUser, context: ClientContext, origin?: SignInOrigin, authentication?: Authentication): Promise<IssuedCredential>;
  /** The session behind a credential, or null if it is not valid now. */
  verify(credential: string): Promise<VerifiedSession<Kind> | null>;
  /**
   * Sliding renewal: a fresh credential when the current one is due for it,
   * else null. Never extends past the session's absolute lifetime.
   */
  renew?(session: VerifiedSession<Kind>): Promise<IssuedCredential | null>;
  /**
   * Records a confirmation ("Confirm it's you") on the session: its new
   * authentication time. A kind whose credential carries that time returns a
   * new credential for the cookie. `recorded: false` when the session is no
   * longer active (revoked or expired meanwhile).
   */
  reauthenticate?(session: VerifiedSession<Kind>, authentication: Authentication): Promise<{ recorded: boolean; credential: IssuedCredential | null }>;
  /**
   * The authentication the step-up check trusts, read where it is current:
   * kinds that keep it in the store re-read it; without this method, the
   * verified credential's own `authentication` (a signed claim) is used.
   */
  currentAuthentication?(session: VerifiedSession<Kind>): Promise<Authentication | null>;
  /** Ends the session behind a credential, as far as this kind can. */
  revoke(credential: string): Promise<RevocationResult>;
  /** What this kind put in the client and on the server, for the dashboard. */
  evidence(session: VerifiedSession<Kind>): Promise<Evidence>;
}

/** Sentences about a kind that must be true of this server as it runs now. */
export interface StrategyFacts {
  /** One line under the label on the sign-in form. */
  hint: string;
  /** Sign-in, every request, sign-out: the flow in three steps (home page). */
  steps: [string, string, string];
  /** What one check of the credential costs this server ("database lookup"). */
  check: string;
  /** Sign-in, a request and sign-out as a sequence diagram (home page), if the kind has one. */
  sequence?: Sequence;
}

/**
 * A sequence diagram as data: who takes part, and the messages between them,
 * phase by phase. The home page draws it (SVG) and lists it as text, so the
 * drawing and its text alternative say the same, and both follow the running
 * configuration like the rest of the facts.
 */
export interface Sequence {
  /** Lifelines, left to right. */
  participants: string[];
  phases: SequencePhase[];
}

export interface SequencePhase {
  /** "Sign-in", "Every request", "Sign-out". */
  title: string;
  messages: SequenceMessage[];
}

export interface SequenceMessage {
  /** Indexes into `participants`; equal for something a participant does on its own. */
  from: number;
  to: number;
  label: string;
  /** An answer (drawn dashed), as opposed to a request. */
  reply?: boolean;
}

export interface IssuedCredential {
  value: string;
  expires: Date;
}

export interface VerifiedSession<Kind extends string = string> {
  strategy: Kind;
  user: SessionUser;
  expires: Date;
  /** The cookie value (or bearer token) this session was read from. */
  credential: string;
  /** The server-side session row, where the kind keeps one. */
  sessionId?: string;
  /**
   * When and how the user last proved who they are, as the credential says
   * (JWT: its signed `auth_time`/`amr`) or the row (database); null if unknown.
   */
  authentication?: Authentication | null;
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
  /** Facts about this kind's trade-offs, in plain words. */
  notes: string[];
}

export type { IdleRule };
