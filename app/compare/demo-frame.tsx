"use client";

import { useEffect, useRef, useState, type ReactNode } from "react";
import {
  csrfBrowserClaim,
  parseCsrfReport,
  parseXssReport,
  xssBrowserClaim,
  xssPayload,
  type CsrfAttempt,
  type CsrfReport,
} from "@/lib/lab/browser-demos";
import type { ClaimResult } from "@/lib/lab/types";

/**
 * The lab's browser demos: frames on the downstream service's origins
 * (framable by this app alone) that report what happened in this browser by
 * postMessage. A message counts only from the frame's own window and exact
 * origin; the claim is built from it (lib/lab/browser-demos.ts).
 */

export const BROWSER_DEMOS = new Set(["xss", "csrf"]);

/** The demo origin on this page's site (same host name), and one on another site. */
function pickOrigins(origins: readonly string[]): { sameSite: string | null; crossSite: string | null } {
  const host = window.location.hostname;
  return {
    sameSite: origins.find((origin) => new URL(origin).hostname === host) ?? null,
    crossSite: origins.find((origin) => new URL(origin).hostname !== host) ?? null,
  };
}

/** Loads one frame and resolves with the first well-formed report from exactly that frame and origin. */
function ReportingFrame<T>({ src, origin, parse, onReport, title }: { src: string; origin: string; parse: (data: unknown) => T | null; onReport: (report: T) => void; title: string }) {
  const frame = useRef<HTMLIFrameElement>(null);
  useEffect(() => {
    const listener = (event: MessageEvent) => {
      if (event.origin !== origin || event.source !== frame.current?.contentWindow) return;
      const report = parse(event.data);
      if (report) onReport(report);
    };
    window.addEventListener("message", listener);
    return () => window.removeEventListener("message", listener);
  }, [origin, parse, onReport]);
  return <iframe ref={frame} src={src} title={title} sandbox="allow-scripts allow-same-origin" referrerPolicy="no-referrer" style={{ width: "100%", height: "4.5rem", border: "1px solid var(--line)" }} />;
}

export function BrowserDemo({ experiment, origins, renderClaim }: { experiment: string; origins: readonly string[]; renderClaim: (claim: ClaimResult) => ReactNode }) {
  const [xssClaim, setXssClaim] = useState<ClaimResult | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  // Rendered only after a run the visitor started, so always in the browser.
  const [picked] = useState(() => pickOrigins(origins));
  const [csrfReady, setCsrfReady] = useState(false);
  const [attempts, setAttempts] = useState<CsrfAttempt[]>([]);
  const expected = [picked.sameSite, picked.crossSite].filter((origin) => origin !== null).length;
  const claim = experiment === "csrf" ? (expected > 0 && attempts.length === expected ? csrfBrowserClaim(attempts) : null) : xssClaim;

  useEffect(() => {
    if (experiment !== "csrf") return;
    // The demo cookie first (same origin; never the visitor's session), then the forged forms.
    fetch("/api/compare/csrf-demo/session", { method: "POST" })
      .then((response) => (response.ok ? setCsrfReady(true) : setFailure("The demo could not start. Please try again.")))
      .catch(() => setFailure("The demo could not start. Please try again."));
  }, [experiment]);

  useEffect(() => {
    if (claim || failure) return;
    const timer = setTimeout(() => setFailure("The demo frame did not report. It needs this page on localhost or 127.0.0.1 and the downstream service running."), 20_000);
    return () => clearTimeout(timer);
  }, [claim, failure]);

  const xssOrigin = picked.sameSite ?? picked.crossSite;
  return (
    <div data-testid={`browser-demo-${experiment}`}>
      <h3>In your browser</h3>
      {experiment === "xss" && xssOrigin && !claim && (
        <ReportingFrame
          title="Injectable demo page"
          origin={xssOrigin}
          src={`${xssOrigin}/demo/xss?note=${encodeURIComponent(xssPayload(window.location.origin))}`}
          parse={parseXssReport}
          onReport={(report) => setXssClaim(xssBrowserClaim(report, xssOrigin))}
        />
      )}
      {experiment === "csrf" &&
        csrfReady &&
        !claim &&
        (["same-site", "cross-site"] as const).map((relation) => {
          const origin = relation === "same-site" ? picked.sameSite : picked.crossSite;
          if (!origin) return null;
          return (
            <ReportingFrame<CsrfReport>
              key={relation}
              title={`Forged form on ${relation === "same-site" ? "the same site" : "another site"}`}
              origin={origin}
              src={`${origin}/demo/csrf`}
              parse={parseCsrfReport}
              onReport={(report) => setAttempts((current) => (current.some((attempt) => attempt.relation === relation) ? current : [...current, { relation, report }]))}
            />
          );
        })}
      {claim ? renderClaim(claim) : failure ? <p role="alert" className="alert">{failure}</p> : <p>Running in your browser…</p>}
    </div>
  );
}
