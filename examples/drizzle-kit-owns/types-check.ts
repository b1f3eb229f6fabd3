// Compile-time checks of the join's row type (the package's consumer test runs tsc on this
// under TypeScript 5 and 7, on drizzle-orm 0.45 and 1.0): each table keys its own part of the row.
import type { AsyncmqJobRecord } from 'asyncmq-postgres';
import type { nextJob } from './app.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
type Row = Awaited<ReturnType<typeof nextJob>>[number];

export type Checks = [
  Expect<Equal<keyof Row, 'asyncmq_jobs' | 'users' | 'asyncmq_cancelled_jobs'>>,
  Expect<Equal<Row['users'], { id: number; email: string }>>,
  Expect<Equal<Row['asyncmq_cancelled_jobs'], { queueName: string; jobId: string } | null>>,
  Expect<Equal<Row['asyncmq_jobs']['data'], AsyncmqJobRecord>>,
  Expect<Equal<Row['asyncmq_jobs']['id'], number>>,
  Expect<Equal<Row['asyncmq_jobs']['createdAt'], string | null>>,
  Expect<Equal<Row['asyncmq_jobs']['delayUntil'], number | null>>,
];
