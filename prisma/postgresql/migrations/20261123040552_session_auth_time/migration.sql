-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "amr" TEXT,
ADD COLUMN     "authTime" TIMESTAMP(3);
