import { describe, expect, it } from 'vitest';
import { changeKey, plainLine, progressBar, snapshotOf, span, terminalLine } from '../../src/cli/rotation-progress.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const rotation = {
  id: 'rot_1',
  state: 'rolling' as const,
  retiresAt: '2026-01-02T13:30:00.000Z',
  endReason: null,
  progress: { oldKeyRequests: 3, newKeyRequests: 1, shareOnNew: 0.25 },
  traffic: { oldKeyLastSeenAt: '2026-01-01T11:59:48.000Z' },
};

describe('rotation progress rendering', () => {
  it('spans in their largest two units', () => {
    expect([0, 999, 40_000, 725_000, 3_600_000, 90_061_000, 3 * 86_400_000].map(span)).toEqual([
      '0s',
      '0s',
      '40s',
      '12m 5s',
      '1h',
      '1d 1h',
      '3d',
    ]);
  });

  it('draws a bar of the share, empty before any traffic', () => {
    expect(progressBar(0.25, 8)).toBe('[██░░░░░░]');
    expect(progressBar(null, 4)).toBe('[░░░░]');
    expect(progressBar(1, 4)).toBe('[████]');
  });

  it('says the same things on a terminal and in a pipe, the latter without control characters', () => {
    const s = snapshotOf(rotation, NOW);
    expect(s.deadlineInMs).toBe(91_800_000);
    expect(terminalLine(s, NOW)).toBe(
      `[██████${'░'.repeat(18)}] 25.0% on the new key · old key last seen 12s ago · deadline in 1d 1h`,
    );
    expect(plainLine(s)).toBe(
      'rot_1 rolling: 25.0% on the new key (1 new, 3 old requests); old key last seen 2026-01-01T11:59:48.000Z; ' +
        'deadline 2026-01-02T13:30:00.000Z (in 1d 1h)',
    );
    expect(plainLine(snapshotOf(rotation, Date.parse(rotation.retiresAt) + 1))).toContain('(passed)');
  });

  it('treats the countdown alone as no change', () => {
    expect(changeKey(snapshotOf(rotation, NOW))).toBe(changeKey(snapshotOf(rotation, NOW + 5000)));
    const moved = { ...rotation, progress: { ...rotation.progress, newKeyRequests: 2 } };
    expect(changeKey(snapshotOf(moved, NOW))).not.toBe(changeKey(snapshotOf(rotation, NOW)));
  });
});
