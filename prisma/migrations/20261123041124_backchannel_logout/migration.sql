-- CreateTable
CREATE TABLE "SeenLogoutToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ProviderSessionHint" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sealed" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "SeenLogoutToken_expiresAt_idx" ON "SeenLogoutToken"("expiresAt");

-- CreateIndex
CREATE INDEX "ProviderSessionHint_expiresAt_idx" ON "ProviderSessionHint"("expiresAt");
