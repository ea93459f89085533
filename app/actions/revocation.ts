"use server";

import { headers } from "next/headers";
import { auth } from "@/lib/auth";
import { env } from "@/lib/platform/env";
import { log } from "@/lib/platform/log";
import { clientContext } from "@/lib/security/request";
import { measureRevocation } from "@/app/(signed-in)/dashboard/report";
import type { RevocationProbe } from "@/lib/lab/probe";

export interface RevocationState {
  probes?: RevocationProbe[];
  mode?: string;
  error?: string;
}

export async function measureRevocationAction(_previous: RevocationState): Promise<RevocationState> {
  const session = await auth();
  if (!session) return { error: "You are signed out." };
  try {
    return { probes: await measureRevocation(session, clientContext(await headers())), mode: env.REVOCATION_MODE };
  } catch (error) {
    log.error("revocation.measure_failed", { error });
    return { error: "The measurement failed. Please try again." };
  }
}
