ALTER TABLE "snapshots" ALTER COLUMN "state" SET DATA TYPE json USING "state"::json;
