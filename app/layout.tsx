import type { Metadata } from "next";
import { connection } from "next/server";
import { SiteHeader } from "@/app/components/site-header";
import "./globals.css";

export const metadata: Metadata = {
  title: "Session or Token",
  description: "Database sessions and signed JWTs, side by side, for real.",
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Every page is rendered per request, so each gets the CSP nonce the proxy made for it.
  await connection();
  return (
    <html lang="en">
      <body>
        <SiteHeader />
        <main>{children}</main>
      </body>
    </html>
  );
}
