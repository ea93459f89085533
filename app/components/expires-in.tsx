"use client";

import { useEffect, useState } from "react";

function describe(milliseconds: number): string {
  if (milliseconds <= 0) return "expired";
  const total = Math.floor(milliseconds / 1000);
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const parts = days > 0 ? [`${days}d`, `${hours}h`] : hours > 0 ? [`${hours}h`, `${minutes}m`] : [`${minutes}m`, `${seconds}s`];
  return parts.join(" ");
}

/** Live countdown to an expiry instant. */
export function ExpiresIn({ expires, serverNow }: { expires: string; serverNow: number }) {
  const target = new Date(expires).getTime();
  const [now, setNow] = useState(serverNow);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <span data-testid="expires-in">{describe(target - now)}</span>;
}
