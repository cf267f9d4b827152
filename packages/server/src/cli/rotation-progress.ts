import type { RotationState } from '@keyroll/core';

/** The fields of `GET /v1/rotations/:id` the watcher reads. */
export interface WatchedRotation {
  id: string;
  state: RotationState;
  retiresAt: string;
  endReason: string | null;
  progress: { oldKeyRequests: number; newKeyRequests: number; shareOnNew: number | null };
  traffic: { oldKeyLastSeenAt: string | null };
}

/** One progress report of a watched rotation: a line of `--json` output (NDJSON). */
export interface RotationSnapshot {
  rotationId: string;
  state: RotationState;
  /** Share of the verifications since the start made with the new key (0 to 1); `null` before any. */
  shareOnNew: number | null;
  oldKeyRequests: number;
  newKeyRequests: number;
  /** When the old key was last presented (any outcome); `null` when never since the start. */
  oldKeyLastSeenAt: string | null;
  /** The old key's deadline. */
  retiresAt: string;
  /** Milliseconds from the poll to the deadline, by this machine's clock; 0 once it has passed. */
  deadlineInMs: number;
  /** Why the rotation ended; `null` while it is rolling. */
  endReason: string | null;
}

/** The report of a polled rotation, `now` being this machine's clock. */
export function snapshotOf(r: WatchedRotation, now: number): RotationSnapshot {
  return {
    rotationId: r.id,
    state: r.state,
    shareOnNew: r.progress.shareOnNew,
    oldKeyRequests: r.progress.oldKeyRequests,
    newKeyRequests: r.progress.newKeyRequests,
    oldKeyLastSeenAt: r.traffic.oldKeyLastSeenAt,
    retiresAt: r.retiresAt,
    deadlineInMs: Math.max(0, Date.parse(r.retiresAt) - now),
    endReason: r.endReason,
  };
}

/** What a report says beyond the passing of time: equal for two polls where nothing happened. */
export function changeKey(s: RotationSnapshot): string {
  const { deadlineInMs: _countdown, ...rest } = s;
  return JSON.stringify(rest);
}

/** A span of time in its largest two units, e.g. `3d 4h`, `12m 5s`, `40s` (a zero second unit left out). */
export function span(ms: number): string {
  const secs = Math.max(0, Math.floor(ms / 1000));
  const units: [number, string][] = [
    [Math.floor(secs / 86_400), 'd'],
    [Math.floor(secs / 3600) % 24, 'h'],
    [Math.floor(secs / 60) % 60, 'm'],
    [secs % 60, 's'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/** The share as a percentage with one decimal, or `-` before any traffic. */
function percent(share: number | null): string {
  return share === null ? '-' : `${(share * 100).toFixed(1)}%`;
}

/** A progress bar of `width` cells for a share of 0 to 1 (empty before any traffic). */
export function progressBar(share: number | null, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, share ?? 0)) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

/** The deadline as a person reads it. */
function deadline(s: RotationSnapshot): string {
  return s.deadlineInMs > 0 ? `in ${span(s.deadlineInMs)}` : 'passed';
}

/** The line redrawn on a terminal: bar, share, old key last seen (relative) and time to the deadline. */
export function terminalLine(s: RotationSnapshot, now: number): string {
  const seen = s.oldKeyLastSeenAt === null ? 'never' : `${span(now - Date.parse(s.oldKeyLastSeenAt))} ago`;
  return `${progressBar(s.shareOnNew)} ${percent(s.shareOnNew)} on the new key · old key last seen ${seen} · deadline ${deadline(s)}`;
}

/** The line printed when piped (no escapes, no carriage returns): absolute instants. */
export function plainLine(s: RotationSnapshot): string {
  return (
    `${s.rotationId} ${s.state}: ${percent(s.shareOnNew)} on the new key ` +
    `(${s.newKeyRequests} new, ${s.oldKeyRequests} old requests); ` +
    `old key last seen ${s.oldKeyLastSeenAt ?? 'never'}; deadline ${s.retiresAt} (${deadline(s)})`
  );
}

/** The last line of a rotation that ended. */
export function endLine(s: RotationSnapshot): string {
  const how = s.state === 'rolled_back' ? 'was rolled back: the old key is active again' : 'completed';
  return `rotation ${s.rotationId} ${how}${s.endReason ? ` (${s.endReason})` : ''}`;
}
