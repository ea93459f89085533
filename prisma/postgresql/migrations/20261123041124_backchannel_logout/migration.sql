-- CreateTable
CREATE TABLE "SeenLogoutToken" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SeenLogoutToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProviderSessionHint" (
    "id" TEXT NOT NULL,
    "sealed" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ProviderSessionHint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SeenLogoutToken_expiresAt_idx" ON "SeenLogoutToken"("expiresAt");

-- CreateIndex
CREATE INDEX "ProviderSessionHint_expiresAt_idx" ON "ProviderSessionHint"("expiresAt");
