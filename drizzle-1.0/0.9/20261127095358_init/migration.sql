CREATE TABLE "asyncmq_cancelled_jobs" (
	"queue_name" text,
	"job_id" text,
	CONSTRAINT "asyncmq_cancelled_jobs_pkey" PRIMARY KEY("queue_name","job_id")
);
--> statement-breakpoint
CREATE TABLE "asyncmq_jobs" (
	"id" serial PRIMARY KEY,
	"queue_name" text NOT NULL,
	"job_id" text NOT NULL,
	"data" jsonb NOT NULL,
	"status" text,
	"delay_until" double precision,
	"created_at" timestamp DEFAULT now(),
	"updated_at" timestamp DEFAULT now(),
	CONSTRAINT "asyncmq_jobs_queue_name_job_id_key" UNIQUE("queue_name","job_id")
);
--> statement-breakpoint
CREATE TABLE "asyncmq_paused_queues" (
	"queue_name" text PRIMARY KEY,
	"paused_at" timestamp DEFAULT now()
);
--> statement-breakpoint
CREATE TABLE "asyncmq_repeatables" (
	"queue_name" text,
	"job_def" jsonb,
	"next_run" timestamp with time zone NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	CONSTRAINT "asyncmq_repeatables_pkey" PRIMARY KEY("queue_name","job_def")
);
--> statement-breakpoint
CREATE TABLE "asyncmq_workers_heartbeat" (
	"worker_id" text PRIMARY KEY,
	"queues" text[],
	"concurrency" integer,
	"heartbeat" double precision
);
--> statement-breakpoint
CREATE INDEX "idx_asyncmq_jobs_queue_name" ON "asyncmq_jobs" ("queue_name");--> statement-breakpoint
CREATE INDEX "idx_asyncmq_jobs_status" ON "asyncmq_jobs" ("status");--> statement-breakpoint
CREATE INDEX "idx_asyncmq_jobs_delay_until" ON "asyncmq_jobs" ("delay_until");