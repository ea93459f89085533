-- AlterTable
ALTER TABLE "Session" ADD COLUMN "idpIssuer" TEXT;
ALTER TABLE "Session" ADD COLUMN "idpSessionId" TEXT;
ALTER TABLE "Session" ADD COLUMN "idpSubject" TEXT;
ALTER TABLE "Session" ADD COLUMN "signInMethod" TEXT;

-- CreateIndex
CREATE INDEX "Session_idpIssuer_idpSessionId_idx" ON "Session"("idpIssuer", "idpSessionId");
