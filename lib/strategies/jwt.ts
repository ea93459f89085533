import "server-only";
import { decodeProtectedHeader } from "jose";
import { signBrowserJwt, verifyBrowserJwt } from "../tokens";
import type { SessionStrategy } from "./types";

/** A signed JWT in the cookie; the server keeps nothing and verifies the signature. */
export const jwtStrategy: SessionStrategy<"jwt"> = {
  name: "jwt",
  label: "JWT",
  hint: "signed token in the cookie, nothing stored on the server",
  cookieName: "sot.jwt",

  async issue(user) {
    const { token, expires } = await signBrowserJwt(user);
    return { value: token, expires };
  },

  async verify(credential) {
    const verified = await verifyBrowserJwt(credential);
    if (!verified) return null;
    const { claims } = verified;
    return {
      strategy: "jwt",
      user: { id: claims.sub, email: claims.email, name: claims.name, role: claims.role },
      expires: new Date(claims.exp * 1000),
      credential,
    };
  },

  async revoke() {
    return {
      revokedOnServer: false,
      summary:
        "The cookie was deleted from this browser, but the server keeps no record of the token: a copy of it still verifies until it expires.",
    };
  },

  async evidence(session) {
    const verified = await verifyBrowserJwt(session.credential);
    return {
      sections: [
        { title: "JWT header", testId: "jwt-header", content: decodeProtectedHeader(session.credential) },
        { title: "JWT claims", testId: "jwt-claims", content: verified?.claims ?? null },
      ],
      notes: [
        "The cookie carries the claims themselves, signed with the server's Ed25519 key.",
        "Checking it needs only the public key: no database, and any service holding the key can do it.",
        "Nothing is stored on the server, so sign-out cannot recall a copy: it stays valid until exp.",
      ],
    };
  },
};
