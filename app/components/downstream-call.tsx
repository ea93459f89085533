"use client";

import { useState } from "react";
import { StepUpPrompt } from "./step-up-prompt";

/**
 * Gets an access token for the signed-in browser (POST /api/token, cookie) and
 * calls the downstream service on another origin with it. The token stays in
 * this component's memory only.
 */
export function DownstreamCall({ downstreamUrl }: { downstreamUrl: string }) {
  const [result, setResult] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [confirmPath, setConfirmPath] = useState<string | null>(null);

  async function call() {
    setPending(true);
    try {
      const tokenResponse = await fetch("/api/token", { method: "POST" });
      if (tokenResponse.status === 401) {
        const body = (await tokenResponse.json().catch(() => null)) as { error?: string; confirm?: string } | null;
        // Creating tokens needs a recent sign-in (step-up): offer the confirm page.
        if (body?.error === "insufficient_user_authentication" && body.confirm) {
          setConfirmPath(body.confirm);
          return;
        }
      }
      if (!tokenResponse.ok) throw new Error(`token endpoint answered ${tokenResponse.status}`);
      const { access_token: accessToken } = (await tokenResponse.json()) as { access_token: string };
      const response = await fetch(`${downstreamUrl.replace(/\/$/, "")}/api/greeting`, { headers: { Authorization: `Bearer ${accessToken}` } });
      setResult(`${response.status} ${JSON.stringify(await response.json(), null, 2)}`);
    } catch (error) {
      setResult(`Failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setPending(false);
    }
  }

  return (
    <div>
      <button type="button" onClick={call} disabled={pending}>
        Call the downstream service
      </button>
      <StepUpPrompt stepUp={confirmPath ? { confirmPath } : undefined} />
      {result && <pre data-testid="downstream-result">{result}</pre>}
    </div>
  );
}
