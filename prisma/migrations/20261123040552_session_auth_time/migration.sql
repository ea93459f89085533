-- AlterTable
ALTER TABLE "Session" ADD COLUMN "amr" TEXT;
ALTER TABLE "Session" ADD COLUMN "authTime" DATETIME;
