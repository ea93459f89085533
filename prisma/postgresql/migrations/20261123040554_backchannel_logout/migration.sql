-- CreateTable
CREATE TABLE "SeenLogoutToken" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SeenLogoutToken_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SeenLogoutToken_expiresAt_idx" ON "SeenLogoutToken"("expiresAt");
