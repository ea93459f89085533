import Link from "next/link";

export function ForbiddenNotice() {
  return (
    <>
      <h1>403 — Forbidden</h1>
      <p role="alert">This page is for administrators only.</p>
      <p>
        <Link href="/dashboard">Back to the dashboard</Link>
      </p>
    </>
  );
}
