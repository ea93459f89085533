"use client";

import { useActionState, useMemo } from "react";
import type { SessionActionState } from "@/app/actions/account";
import styles from "./account.module.css";
import { Outcome } from "./session-controls";

/**
 * One button that starts a flow to a provider ("Connect <name>", "Confirm with
 * <name>"). Its action is bound to the provider, which keeps it a server
 * action (it works before hydration too); `fields` go with it as hidden inputs.
 */
export function ProviderFlowButton({
  action,
  provider,
  text,
  fields = {},
}: {
  action: (provider: unknown, previous: SessionActionState, formData: FormData) => Promise<SessionActionState>;
  provider: string;
  text: string;
  fields?: Record<string, string>;
}) {
  const bound = useMemo(() => action.bind(null, provider), [action, provider]);
  const [state, formAction, pending] = useActionState(bound, {});
  return (
    <form action={formAction} className={styles.inlineForm}>
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <button type="submit" disabled={pending}>
        {text}
      </button>
      <Outcome state={state} />
    </form>
  );
}
