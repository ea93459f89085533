import type { Metadata } from "next";
import Link from "next/link";
import { experimentSummaries } from "@/lib/lab";
import { formatDuration } from "@/lib/lab/verdicts";
import { demoFrameOrigins } from "@/lib/lab/demo-origins";
import { env } from "@/lib/platform/env";
import { revocationSummary } from "@/lib/sessions/revocation";
import { sessionStoreName } from "@/lib/sessions/store";
import { CompareLab } from "./lab";

export const metadata: Metadata = { title: "Comparison lab · Session or Token" };

/**
 * The comparison lab: each claim of the articles, tested on this server when
 * the visitor presses Run. Public: the experiments use throwaway accounts of
 * their own (lib/lab/), so nobody needs to be signed in and nobody's session
 * is touched.
 */
/** The limits the route enforces (app/api/compare/run), in words. */
function runLimits(): string {
  const perWindow =
    env.RATE_LIMIT_COMPARE_PER_IP === 0
      ? "no limit on how many runs an address starts"
      : `at most ${env.RATE_LIMIT_COMPARE_PER_IP} runs per address per ${formatDuration(env.RATE_LIMIT_WINDOW_SECONDS)} ("Run all" counts as one)`;
  return `Experiments take turns on this server, one at a time; each address has one run going at a time, and ${perWindow}.`;
}

export default function ComparePage() {
  return (
    <>
      <h1>Comparison lab</h1>
      <p>
        Articles about sessions and JWTs make claims. Press Run and this server tests each one now, with throwaway
        accounts and credentials it creates and deletes again: database session and JWT side by side, the measured
        figures, a chart, a table of the same numbers, and a verdict with its caveat. Nothing of yours is used or changed.
      </p>
      <dl className="facts" aria-label="Running configuration">
        <dt>Revocation mode</dt>
        <dd data-testid="revocation-mode">{env.REVOCATION_MODE}</dd>
        <dt>Session store</dt>
        <dd>{sessionStoreName()}</dd>
        <dt>Browser JWT lifetime</dt>
        <dd>{env.JWT_TTL_SECONDS} s</dd>
        <dt>Access token lifetime</dt>
        <dd>{env.ACCESS_TOKEN_TTL_SECONDS} s</dd>
      </dl>
      <p>{revocationSummary()}</p>
      <p data-testid="run-limits">{runLimits()}</p>
      <CompareLab experiments={experimentSummaries()} demoOrigins={demoFrameOrigins()} />
      <p>
        <Link href="/">Home</Link> · <Link href="/dashboard">Dashboard</Link>
      </p>
    </>
  );
}
