"use client";

import { useActionState } from "react";
import { measureRevocationAction, type RevocationState } from "@/app/actions/revocation";

function outcome(probe: NonNullable<RevocationState["probes"]>[number]): string {
  if (!probe.acceptedBefore) return "was not accepted even before revocation";
  if (probe.refusedAfterMs !== null) return `refused ${probe.refusedAfterMs.toFixed(1)} ms after revocation`;
  return `still accepted ${(probe.probedForMs / 1000).toFixed(1)} s after revocation — usable until it expires at ${probe.expires}`;
}

/** Issues a throwaway credential, revokes it and measures how long it keeps working. */
export function RevocationMeter() {
  const [state, action, pending] = useActionState(measureRevocationAction, {});
  return (
    <form action={action} aria-label="Revocation latency">
      <button type="submit" disabled={pending}>
        Measure revocation
      </button>
      {state.error && <p role="alert">{state.error}</p>}
      {state.probes && (
        <ul data-testid="revocation-result">
          {state.probes.map((probe) => (
            <li key={probe.credential}>
              <strong>{probe.credential}</strong> ({state.mode} mode): {outcome(probe)}
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
