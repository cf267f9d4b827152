import type { Db } from '../store.js';

/** How many rotations are in each state (states without rotations are left out). */
export async function countRotationsByState(db: Db): Promise<{ state: string; count: number }[]> {
  const rows = await db
    .selectFrom('rotations')
    .select((eb) => ['state', eb.fn.countAll<number | string>().as('n')])
    .groupBy('state')
    .execute();
  return rows.map((r) => ({ state: r.state, count: Number(r.n) }));
}
