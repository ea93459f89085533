-- CreateTable
CREATE TABLE "SeenLogoutToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "expiresAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "SeenLogoutToken_expiresAt_idx" ON "SeenLogoutToken"("expiresAt");
