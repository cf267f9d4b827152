/** Vitest global setup: says once, before any suite, which service-backed suites will be skipped. */
export default function announceServices(): void {
  if (!process.env.KEYROLL_TEST_PG_URL) console.warn('KEYROLL_TEST_PG_URL is not set: PostgreSQL suites are skipped');
  if (!process.env.KEYROLL_TEST_REDIS_URL) console.warn('KEYROLL_TEST_REDIS_URL is not set: Redis suites are skipped');
}
