"use client";

import Link from "next/link";
import type { StepUpRequired } from "@/lib/auth/step-up-types";

/** What a sensitive action's form shows when the server asked for a recent authentication. */
export function StepUpPrompt({ stepUp }: { stepUp?: StepUpRequired }) {
  if (!stepUp) return null;
  return (
    <p role="alert" className="field-error">
      This needs a recent sign-in. <Link href={stepUp.confirmPath}>Confirm it&apos;s you</Link>, then try again.
    </p>
  );
}
