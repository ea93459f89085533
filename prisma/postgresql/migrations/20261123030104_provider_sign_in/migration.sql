-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "idpIssuer" TEXT,
ADD COLUMN     "idpSessionId" TEXT,
ADD COLUMN     "idpSubject" TEXT,
ADD COLUMN     "signInMethod" TEXT;

-- CreateIndex
CREATE INDEX "Session_idpIssuer_idpSessionId_idx" ON "Session"("idpIssuer", "idpSessionId");
