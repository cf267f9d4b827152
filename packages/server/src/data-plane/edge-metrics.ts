import type { VerificationEvent, VerificationObserver } from '@keyroll/verifier';
import type { DataPlaneLinkStatus } from '@keyroll/verifier/internal';

/** Counts an edge's verifications by result code, for `/metrics`. */
export class EdgeVerificationCounter implements VerificationObserver {
  readonly byCode = new Map<string, number>();

  observe(event: VerificationEvent): void {
    this.byCode.set(event.code, (this.byCode.get(event.code) ?? 0) + 1);
  }
}

/** The Prometheus exposition of an edge: its link to the control plane and its verifications. */
export function renderEdgeMetrics(s: DataPlaneLinkStatus, counter: EdgeVerificationCounter, now: number): string {
  const gauge = (name: string, help: string, value: number, type = 'gauge') =>
    `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
  const verifications = [...counter.byCode].map(([code, n]) => `keyroll_edge_verifications_total{code="${code}"} ${n}`);
  return [
    gauge('keyroll_edge_connected', '1 while the change stream from the control plane is open', s.connected ? 1 : 0),
    gauge('keyroll_edge_applied_seq', 'the last change sequence applied', s.appliedSeq),
    gauge('keyroll_edge_keys', 'keys held in the edge table', s.keys),
    gauge(
      'keyroll_edge_staleness_seconds',
      'seconds since the control plane was last heard from',
      (now - s.lastHeardAt) / 1000,
    ),
    gauge(
      'keyroll_edge_stale',
      '1 while nothing was heard for longer than KEYROLL_EDGE_MAX_STALENESS',
      s.stale ? 1 : 0,
    ),
    gauge('keyroll_edge_refusing', '1 while keys are refused (503) for staleness', s.refusing ? 1 : 0),
    gauge(
      'keyroll_edge_serving_stale',
      '1 while stale keys are served (KEYROLL_EDGE_ON_STALE=serve-cached): the revocation bound does not hold',
      s.stale && s.onStale === 'serve-cached' ? 1 : 0,
    ),
    gauge('keyroll_edge_snapshot_loads_total', 'snapshots loaded, the boot one included', s.snapshotLoads, 'counter'),
    gauge('keyroll_edge_reconnects_total', 'reconnections to the change stream', s.reconnects, 'counter'),
    `# HELP keyroll_edge_verifications_total verifications by result code\n# TYPE keyroll_edge_verifications_total counter\n${verifications.join('\n')}\n`,
  ].join('');
}
